from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import PurchasePermission


@admin.register(PurchasePermission)
class PurchasePermissionAdmin(ReadOnlyAdmin):
    list_display = ("customer", "resource", "granted_by", "granted_at")
    list_filter = ("resource",)
    list_select_related = ("customer", "granted_by")
