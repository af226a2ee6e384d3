from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here: these rows change only through the portal's logged services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
