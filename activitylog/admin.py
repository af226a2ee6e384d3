from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import ActivityLogAnchor, ActivityLogEntry


class AllFieldsShown(ReadOnlyAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(ActivityLogEntry)
class ActivityLogEntryAdmin(AllFieldsShown):
    """History is read here, never written: no add, change or delete."""

    list_display = ("occurred_at", "action", "status", "actor_email", "customer_name", "source")
    list_filter = ("action", "status", "source")
    search_fields = ("actor_email", "customer_name", "resource_id", "request_id")
    show_full_result_count = False


@admin.register(ActivityLogAnchor)
class ActivityLogAnchorAdmin(AllFieldsShown):
    """Where the chain restarts after each purge; written only by purge_activity_log."""

    list_display = ("purged_at", "cutoff", "purged_count", "last_purged_id", "last_purged_hash")
