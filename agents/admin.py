"""The Django admin for agents: role and active flag change through the agent services, each logged."""

from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.contrib.auth.admin import UserAdmin, sensitive_post_parameters_m
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from activitylog.services import Origin
from portal.models import Agent

from . import services


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
    # Who may use the Django admin is decided on the server (createsuperuser), never here: a change
    # to it would leave no trace in the activity log.
    readonly_fields = ("last_login", "date_joined", "is_staff", "is_superuser")
    filter_horizontal = ()

    def has_delete_permission(self, request, obj=None):
        """An agent who acted stays in the activity log: deactivate instead."""
        return False

    # Django's admin wraps each form in one transaction; the agent services own theirs (durable, so that
    # a refusal's Failed entry stays), so these views run without the outer one.
    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._changeform_view(request, object_id, form_url, extra_context)

    @sensitive_post_parameters_m
    @csrf_protect_m
    def add_view(self, request, form_url="", extra_context=None):
        return self._add_view(request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        """Role and active flag change through the agent services, each with its log entry; the
        other fields (name, language, password) are saved as the admin saves them."""
        origin = Origin.from_request(request)
        if not change:
            password = form.cleaned_data.get("password1") if form.cleaned_data.get("usable_password") \
                != "false" else None
            added = services.add_agent(actor=request.user, email=obj.email, role=obj.role,
                                       full_name=obj.full_name, password=password or None, origin=origin)
            obj.pk, obj.password, obj._state.adding = added.pk, added.password, False
            return
        wanted_role, wanted_active = obj.role, obj.is_active
        stored = Agent.objects.get(pk=obj.pk)
        obj.role, obj.is_active = stored.role, stored.is_active
        super().save_model(request, obj, form, change)
        try:
            if "role" in form.changed_data:
                services.change_role(actor=request.user, agent=obj, role=wanted_role, origin=origin)
            if "is_active" in form.changed_data:
                change_active = services.reactivate_agent if wanted_active else services.deactivate_agent
                change_active(actor=request.user, agent=obj, origin=origin)
        except (PermissionDenied, ValidationError) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, text)
