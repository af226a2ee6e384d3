"""Who may do what, by role. Each app's policies.py names its decisions in terms of these."""

from django.utils.translation import gettext_lazy as _

from .models import Agent

MANAGE_AGENTS_REFUSED = _("Only Admin agents can add agents, change their roles or deactivate them.")
SELF_CHANGE_REFUSED = _("You cannot change your own role or deactivate yourself; ask another Admin agent.")
ENTRA_ROLE_REFUSED = _(
    "This agent signs in with Microsoft Entra ID, which decides the role: change the agent's app role "
    "assignment there."
)


def has_role(agent: Agent, *roles: Agent.Role) -> bool:
    return agent.is_authenticated and agent.is_active and agent.role in roles


def can_manage_agents(agent: Agent) -> bool:
    """Add agents, change their roles, deactivate and reactivate them (the Agents page).

    The Admin agent role carries it, so that with Entra sign-in it follows the AdminAgent app role
    and needs no second flag kept in step; Django superusers keep it too (they could already do all
    of this in the Django admin).
    """
    return has_role(agent, Agent.Role.ADMIN_AGENT) or (
        agent.is_authenticated and agent.is_active and agent.is_superuser
    )


def can_change_agent(actor: Agent, agent: Agent) -> bool:
    """Whether the Agents page offers role and activation changes for this agent."""
    return can_manage_agents(actor) and actor.pk != agent.pk
