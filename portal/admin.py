from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from .models import Agent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here: these rows change only through the portal's logged services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AgentCreationForm(AdminUserCreationForm):
    class Meta:
        model = Agent
        fields = ("email", "full_name", "role")


class AgentChangeForm(UserChangeForm):
    class Meta:
        model = Agent
        fields = "__all__"


@admin.register(Agent)
class AgentAdmin(UserAdmin):
    form = AgentChangeForm
    add_form = AgentCreationForm
    list_display = ("email", "full_name", "role", "is_active", "is_staff", "last_login")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Partner role"), {"fields": ("full_name", "role", "language", "is_active")}),
        (_("Django admin"), {"fields": ("is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "role", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ()
