"""Who may do what with purchases; the views and templates ask these, the services enforce them."""

from django.utils.translation import gettext_lazy as _

from portal.models import Agent
from portal.policies import has_role

CHANGE_REFUSED = _("Only Admin agents can change a customer's self-purchase limit or cost visibility.")


def can_view_purchases(agent: Agent) -> bool:
    """Every role sees what customers bought (read-only)."""
    return agent.is_authenticated and agent.is_active


def can_manage_purchase_settings(agent: Agent) -> bool:
    """The self-purchase limit and cost visibility: Admin agents only."""
    return has_role(agent, Agent.Role.ADMIN_AGENT)
