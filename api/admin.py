from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Who holds which token; agents revoke their own, and deactivating an agent stops all of theirs."""

    list_display = ("name", "owner", "display_prefix", "created_at", "expires_at", "last_used_at",
                    "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "owner__email", "prefix")
    list_select_related = ("owner",)
