from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import Customer, CustomerUser, RoleAssignment, Subscription


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("company_name", "domain", "tenant_id", "status")
    search_fields = ("company_name", "domain")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("friendly_name", "customer", "offer", "status", "subscription_id")
    list_filter = ("offer", "status")
    list_select_related = ("customer",)


@admin.register(CustomerUser)
class CustomerUserAdmin(ReadOnlyAdmin):
    list_display = ("display_name", "user_principal_name", "customer")
    list_select_related = ("customer",)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("subscription", "customer_user", "role")
    list_select_related = ("subscription", "customer_user")
