from dataclasses import dataclass
from functools import cached_property

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.models import Agent
from portal.policies import has_role

CHANGE_REFUSED = _("Only Admin agents can change customer purchase permissions.")


def can_change_purchase_permissions(agent: Agent) -> bool:
    return has_role(agent, Agent.Role.ADMIN_AGENT)


REVIEW_REFUSED = _("Only Operators and Admin agents can review customer purchase permissions.")


def can_review_access(agent: Agent) -> bool:
    """See the access review, export it, and sign off customers' allowed purchase permissions."""
    return has_role(agent, Agent.Role.ADMIN_AGENT, Agent.Role.OPERATOR)


@dataclass(frozen=True)
class ReadinessStep:
    done: bool
    label: str
    missing: str
    fix_url: str
    fix_label: str


@dataclass(frozen=True)
class Readiness:
    """Whether a customer can use a purchase permission, step by step as Partner Center asks.

    Read with ``selectors.purchase_readiness()`` or, on the Account page, ``selectors.readiness_of()``.
    """

    has_azure_subscription: bool
    has_owner: bool
    tenant_id: str
    # For the advice only: a suspended Azure plan (reactivate it, do not buy another), and an Owner on it.
    has_suspended_azure: bool = False
    has_owner_on_suspended: bool = False

    @property
    def ready(self) -> bool:
        return self.has_azure_subscription and self.has_owner

    @cached_property
    def steps(self) -> list[ReadinessStep]:
        subscriptions = reverse("customers:subscriptions", args=[self.tenant_id])
        if not self.has_azure_subscription and self.has_suspended_azure:
            return self._suspended_steps(subscriptions)
        return [
            ReadinessStep(
                done=self.has_azure_subscription,
                label=_("An active Azure plan or Azure Global subscription bought by you"),
                missing=_(
                    "The customer has no active Azure plan or Azure Global subscription. "
                    "Buy an Azure plan for it on its Subscriptions page first."
                ),
                fix_url=subscriptions,
                fix_label=_("Buy an Azure plan"),
            ),
            ReadinessStep(
                done=self.has_owner,
                label=_("A customer user with the Owner role on that subscription"),
                missing=_(
                    "No customer user holds the Owner role on an active Azure subscription. "
                    "Grant the Owner role on its Subscriptions page first."
                ),
                fix_url=subscriptions,
                fix_label=_("Grant the Owner role"),
            ),
        ]

    def _suspended_steps(self, subscriptions: str) -> list[ReadinessStep]:
        """The customer's Azure plan is suspended: the fix is to reactivate it, not to buy a duplicate."""
        reactivate = _("Reactivate the Azure plan")
        return [
            ReadinessStep(
                done=False,
                label=_("An active Azure plan or Azure Global subscription: the customer's Azure plan is "
                        "suspended"),
                missing=_("The customer's Azure plan is suspended. Reactivate it on its Subscriptions page; "
                          "buying another one would make a duplicate."),
                fix_url=subscriptions, fix_label=reactivate,
            ),
            ReadinessStep(
                done=False,
                label=_("A customer user with the Owner role: the Owner holds it on the suspended Azure plan")
                if self.has_owner_on_suspended
                else _("A customer user with the Owner role on that subscription"),
                missing=_("The Owner holds the role on the suspended Azure plan: reactivating the plan "
                          "restores it.") if self.has_owner_on_suspended else _(
                    "No customer user holds the Owner role on an active Azure subscription. "
                    "Grant the Owner role on its Subscriptions page first."),
                fix_url=subscriptions,
                fix_label=reactivate if self.has_owner_on_suspended else _("Grant the Owner role"),
            ),
        ]

    @cached_property
    def missing_steps(self) -> list[ReadinessStep]:
        return [step for step in self.steps if not step.done]
