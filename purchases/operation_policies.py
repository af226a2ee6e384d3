"""Who may change what a customer bought at Azure (issue 13); the templates ask the same predicates."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from portal.models import Agent
from portal.policies import has_role

# Microsoft: "The total canceled commitment can't exceed 50,000 USD in a 12-month rolling window ... For CSP
# program, the 50,000 USD limit is per customer. Refunds that result from an exchange don't count."
REFUND_LIMIT_USD = Decimal("50000.00")
MANAGE_REFUSED = _(
    "Only Admin agents can change, renew, refund or exchange a customer's reservations and savings plans."
)
# Microsoft's reservation states in which nothing more can be done.
CLOSED_STATES = {"Cancelled", "Expired", "Failed"}


def can_manage_benefits(agent: Agent) -> bool:
    """Change scope, rename, renew, refund or exchange a reservation; change a savings plan."""
    return has_role(agent, Agent.Role.ADMIN_AGENT)
