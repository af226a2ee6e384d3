from django.utils.translation import gettext_lazy as _

from portal.models import Agent
from portal.policies import has_role

MANAGE_CUSTOMERS_REFUSED = _(
    "Only Admin agents can add customers, buy subscriptions, add users or change roles."
)


def can_manage_customers(agent: Agent) -> bool:
    """Add customers, buy Azure plans, add customer users, grant and remove roles."""
    return has_role(agent, Agent.Role.ADMIN_AGENT)
