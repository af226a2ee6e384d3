"""Writes about agents (the partner's staff): add, change role, deactivate, reactivate, reset the second
factor, change the password.

Each is one durable transaction with its activity log entry (activitylog.services.audited): it checks
who asks, locks the agent's row, changes it and records the entry last; a refusal is logged as Failed.
The Agents page, the Django admin, the create_agent command and Sign in with Microsoft all come here.
"""

from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from activitylog.models import Action, ResourceType
from activitylog.services import Origin, audited
from portal.models import Agent
from portal.policies import ENTRA_ROLE_REFUSED, MANAGE_AGENTS_REFUSED, SELF_CHANGE_REFUSED, can_manage_agents


def agent_value(agent: Agent) -> dict:
    """What the log keeps of an agent: never a password or its hash."""
    return {"email": agent.email, "full_name": agent.full_name, "role": agent.role,
            "is_active": agent.is_active, "entra": agent.entra_object_id is not None}


def _require_manager(actor: Agent | None) -> None:
    """``actor`` None is the system: the create_agent command or a Microsoft Entra sign-in."""
    if actor is not None and not can_manage_agents(actor):
        raise PermissionDenied(MANAGE_AGENTS_REFUSED)


def _require_other(actor: Agent | None, agent: Agent) -> None:
    if actor is not None and actor.pk == agent.pk:
        raise PermissionDenied(SELF_CHANGE_REFUSED)


def _valid_role(role: str) -> Agent.Role:
    if role not in Agent.Role.values:
        raise ValidationError(_("Choose one of the portal's roles."), code="invalid_role")
    return Agent.Role(role)


def _lock(agent: Agent) -> Agent:
    """The agent's row only, FOR NO KEY UPDATE (README, How a write flows)."""
    return Agent.objects.select_for_update(no_key=True, of=("self",)).get(pk=agent.pk)


def add_agent(
    *, actor: Agent | None, email: str, role: str, origin: Origin, full_name: str = "",
    password: str | None = None, entra_object_id: str | None = None,
) -> Agent:
    """A new agent, logged as Add Agent. Without a password the agent signs in with Microsoft
    or sets one through password reset by e-mail."""
    email = Agent.objects.normalize_email(email.strip()).lower()
    full_name = full_name.strip()
    with audited(actor=actor, origin=origin, action=Action.ADD_AGENT, resource_type=ResourceType.AGENT,
                 resource_id=email, new_value={"email": email, "full_name": full_name, "role": role,
                                               "is_active": True, "entra": entra_object_id is not None},
                 ) as audit:
        _require_manager(actor)
        role = _valid_role(role)
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(_("Enter a valid e-mail address."), code="invalid_email") from None
        try:
            with transaction.atomic():
                agent = Agent.objects.create_user(email, password, full_name=full_name, role=role,
                                                  entra_object_id=entra_object_id)
        except IntegrityError:
            raise ValidationError(_("Another agent already uses the e-mail address %(email)s."),
                                  code="duplicate_email", params={"email": email}) from None
        audit.succeeded(resource_id=agent.email, new_value=agent_value(agent))
    return agent


def change_role(*, actor: Agent | None, agent: Agent, role: str, origin: Origin) -> bool:
    """Give an agent another role, logged as Update Agent Role. Returns whether it changed.

    Nobody changes their own role. An agent who signs in with Microsoft Entra ID gets the role from
    its app roles: only the sign-in (``actor`` None) changes it.
    """
    with audited(actor=actor, origin=origin, action=Action.UPDATE_AGENT_ROLE,
                 resource_type=ResourceType.AGENT, resource_id=agent.email,
                 old_value={"role": agent.role}, new_value={"role": role}) as audit:
        _require_manager(actor)
        _require_other(actor, agent)
        role = _valid_role(role)
        locked = _lock(agent)
        if actor is not None and locked.entra_object_id is not None:
            raise PermissionDenied(ENTRA_ROLE_REFUSED)
        if locked.role == role:
            return False
        before = agent_value(locked)
        locked.role = role
        locked.save(update_fields=["role"])
        audit.succeeded(old_value=before, new_value=agent_value(locked))
    agent.role = role
    return True


def _set_active(*, actor: Agent | None, agent: Agent, active: bool, origin: Origin) -> bool:
    action = Action.REACTIVATE_AGENT if active else Action.DEACTIVATE_AGENT
    with audited(actor=actor, origin=origin, action=action, resource_type=ResourceType.AGENT,
                 resource_id=agent.email, new_value={"is_active": active}) as audit:
        _require_manager(actor)
        _require_other(actor, agent)
        locked = _lock(agent)
        if locked.is_active == active:
            return False
        before = agent_value(locked)
        locked.is_active = active
        locked.save(update_fields=["is_active"])
        audit.succeeded(old_value=before, new_value=agent_value(locked))
    agent.is_active = active
    return True


def deactivate_agent(*, actor: Agent | None, agent: Agent, origin: Origin) -> bool:
    """Stop an agent from signing in (their sessions and API tokens stop working at once), logged as
    Deactivate Agent; the agent stays in the activity log. Returns whether it changed."""
    return _set_active(actor=actor, agent=agent, active=False, origin=origin)


def reactivate_agent(*, actor: Agent | None, agent: Agent, origin: Origin) -> bool:
    """Let a deactivated agent sign in again, logged as Reactivate Agent."""
    return _set_active(actor=actor, agent=agent, active=True, origin=origin)


def reset_second_factor(*, actor: Agent, agent: Agent, origin: Origin) -> bool:
    """Remove an agent's authenticator app and recovery codes (a lost phone), logged as Reset Agent
    Two-Step Sign-In: at their next password sign-in they enrol again. Returns whether there were any."""
    with audited(actor=actor, origin=origin, action=Action.RESET_AGENT_MFA, resource_type=ResourceType.AGENT,
                 resource_id=agent.email) as audit:
        _require_manager(actor)
        _require_other(actor, agent)
        locked = _lock(agent)
        removed = (TOTPDevice.objects.filter(user=locked).delete()[0]
                   + StaticDevice.objects.filter(user=locked).delete()[0])
        if not removed:
            return False
        audit.succeeded(old_value={"second_factor": True}, new_value={"second_factor": False})
    return True


def change_password(*, agent: Agent, form: SetPasswordForm, origin: Origin, by_reset: bool) -> None:
    """Save the password an agent chose (Django's change or reset form, already valid), logged as
    Change Password; never the password or its hash."""
    with audited(actor=agent, origin=origin, action=Action.CHANGE_PASSWORD, resource_type=ResourceType.AGENT,
                 resource_id=agent.email, new_value={"by_reset": by_reset}) as audit:
        form.save()
        audit.succeeded()
