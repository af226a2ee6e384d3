from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import ActivityLogEntry


@admin.register(ActivityLogEntry)
class ActivityLogEntryAdmin(ReadOnlyAdmin):
    """History is read here, never written: no add, change or delete."""

    list_display = ("occurred_at", "action", "status", "actor_email", "customer_name", "source")
    list_filter = ("action", "status", "source")
    search_fields = ("actor_email", "customer_name", "resource_id", "request_id")
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]
