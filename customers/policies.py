from django.utils.translation import gettext_lazy as _

from portal.models import Agent
from portal.policies import has_role

MANAGE_CUSTOMERS_REFUSED = _(
    "Only Admin agents can add customers, buy subscriptions, add users or change roles."
)


def can_manage_customers(agent: Agent) -> bool:
    """Add customers, buy Azure plans, add customer users, grant and remove roles."""
    return has_role(agent, Agent.Role.ADMIN_AGENT)


PARTNER_CENTER_CUSTOMERS_URL = "https://partner.microsoft.com/dashboard/v2/customers/list"



def partner_center_url(tenant_id: str) -> str:
    """Where a customer's subscriptions are bought and managed in Partner Center."""
    return f"https://partner.microsoft.com/dashboard/v2/customers/{tenant_id}/subscriptions"


def azure_access_control_url(tenant_id: str, azure_subscription_id: str = "") -> str:
    """The Azure portal's Access control (IAM) blade, in the customer's tenant."""
    if azure_subscription_id:
        return f"https://portal.azure.com/#@{tenant_id}/resource/subscriptions/{azure_subscription_id}/users"
    return f"https://portal.azure.com/#@{tenant_id}/blade/Microsoft_Azure_Billing/SubscriptionsBlade"
