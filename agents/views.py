"""The Agents page: the partner's staff, for agents who may manage them (portal.policies)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from activitylog.services import Origin
from portal.models import Agent
from portal.policies import can_change_agent, can_manage_agents

from . import services


class AgentForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address"), max_length=254)
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=150, required=False)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Agent.Role.choices)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Agent.Role.choices)


def _require_manager(request: HttpRequest) -> None:
    """Other roles get 403 for the pages; their POSTs reach the services, which refuse and log."""
    if not can_manage_agents(request.user):
        raise PermissionDenied


def _refused(request: HttpRequest, exc: PermissionDenied | ValidationError) -> None:
    text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc.args[0] if exc.args
                                                                                 else _("Permission denied."))
    messages.error(request, text)


@require_GET
def agent_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    agents = Agent.objects.order_by("-is_active", "email")
    enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    rows = [{"agent": agent, "changeable": can_change_agent(request.user, agent),
             "second_factor": agent.pk in enrolled,
             "role_form": RoleForm(initial={"role": agent.role}, auto_id=f"id_role_{agent.pk}_%s")}
            for agent in agents]
    return render(request, "agents/list.html", {"rows": rows, "nav": "agents"})


@require_http_methods(["GET", "POST"])
def agent_add(request: HttpRequest) -> HttpResponse:
    form = AgentForm(request.POST if request.method == "POST" else None)
    # A manager's invalid form is a typo, shown on the form; anyone else's POST, valid or not, goes
    # to the service, which refuses it and logs the attempt.
    if request.method == "POST" and (form.is_valid() or not can_manage_agents(request.user)):
        data = form.cleaned_data if form.is_valid() else {
            field: request.POST.get(field, "") for field in ("email", "full_name", "role")}
        try:
            agent = services.add_agent(actor=request.user, origin=Origin.from_request(request), **data)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Agent %(email)s added. They sign in with Microsoft, or set a "
                                        "password through “Forgot your password?”.") % {"email": agent})
            return redirect("agents:list")
    _require_manager(request)
    return render(request, "agents/agent_form.html", {"form": form, "nav": "agents"},
                  status=400 if form.errors else 200)


@require_POST
def agent_role(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=agent_id)
    form = RoleForm(request.POST)
    # An invalid role still reaches the service, so that the refusal is logged like any other.
    role = form.cleaned_data["role"] if form.is_valid() else request.POST.get("role", "")
    try:
        changed = services.change_role(actor=request.user, agent=agent, role=role,
                                       origin=Origin.from_request(request))
    except (PermissionDenied, ValidationError) as exc:
        if not can_manage_agents(request.user):
            raise
        _refused(request, exc)
    else:
        if changed:
            messages.success(request, _("%(email)s is now %(role)s.") % {
                "email": agent, "role": agent.get_role_display()})
    return redirect("agents:list")


@require_POST
def agent_reset_mfa(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=agent_id)
    try:
        reset = services.reset_second_factor(actor=request.user, agent=agent,
                                             origin=Origin.from_request(request))
    except PermissionDenied as exc:
        if not can_manage_agents(request.user):
            raise
        _refused(request, exc)
    else:
        messages.success(request, (_("%(email)s sets up two-step sign-in again at their next sign-in.")
                                   if reset else _("%(email)s had no two-step sign-in to reset."))
                         % {"email": agent})
    return redirect("agents:list")


@require_POST
def agent_active(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=agent_id)
    activate = request.POST.get("active") == "true"
    change = services.reactivate_agent if activate else services.deactivate_agent
    try:
        changed = change(actor=request.user, agent=agent, origin=Origin.from_request(request))
    except PermissionDenied as exc:
        if not can_manage_agents(request.user):
            raise
        _refused(request, exc)
    else:
        if changed:
            messages.success(request, (_("%(email)s can sign in again.") if activate
                                       else _("%(email)s can no longer sign in.")) % {"email": agent})
    return redirect("agents:list")
