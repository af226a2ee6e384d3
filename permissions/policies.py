from dataclasses import dataclass, field
from functools import cached_property

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from customers.policies import azure_access_control_url, partner_center_url
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
    # What the Account page names: the usable subscription, and the Owner and the Azure subscription
    # they hold it on (None where unknown); synchronised customers are fixed at Microsoft.
    subscription_name: str | None = field(default=None, compare=False)
    owner_name: str | None = field(default=None, compare=False)
    owner_sign_in_name: str | None = field(default=None, compare=False)
    owner_subscription_name: str | None = field(default=None, compare=False)
    azure_subscription_id: str = field(default="", compare=False)
    synced: bool = False

    @property
    def ready(self) -> bool:
        return self.has_azure_subscription and self.has_owner

    @cached_property
    def steps(self) -> list[ReadinessStep]:
        subscriptions = reverse("customers:subscriptions", args=[self.tenant_id])
        if self.synced:
            buy_url, buy_label = partner_center_url(self.tenant_id), _("Buy it in Partner Center")
            owner_url, owner_label = azure_access_control_url(self.tenant_id, self.azure_subscription_id), _(
                "Grant Owner in the Azure portal (Access control)")
        else:
            buy_url, buy_label = subscriptions, _("Buy an Azure plan")
            owner_url, owner_label = subscriptions, _("Grant the Owner role")
        subscription_label = (
            _("An active Azure plan or Azure Global subscription bought by you: %(name)s")
            % {"name": self.subscription_name}
            if self.has_azure_subscription and self.subscription_name
            else _("An active Azure plan or Azure Global subscription bought by you"))
        owner_label_done = (
            _("A customer user with the Owner role on that subscription: %(user)s on %(subscription)s")
            % {"user": " ".join(filter(None, [self.owner_name, f"<{self.owner_sign_in_name}>"
                                               if self.owner_sign_in_name else ""])),
               "subscription": self.owner_subscription_name or ""}
            if self.has_owner and self.owner_name
            else _("A customer user with the Owner role on that subscription"))
        if not self.has_azure_subscription and self.has_suspended_azure:
            return self._suspended_steps(reactivate_url=subscriptions if not self.synced else buy_url,
                                         owner_url=owner_url, owner_label=owner_label)
        return [
            ReadinessStep(
                done=self.has_azure_subscription,
                label=subscription_label,
                missing=_(
                    "The customer has no active Azure plan or Azure Global subscription. "
                    "Buy an Azure plan for it on its Subscriptions page first."
                ),
                fix_url=buy_url,
                fix_label=buy_label,
            ),
            ReadinessStep(
                done=self.has_owner,
                label=owner_label_done,
                missing=_(
                    "No customer user holds the Owner role on an active Azure subscription. "
                    "Grant the Owner role on its Subscriptions page first."
                ),
                fix_url=owner_url,
                fix_label=owner_label,
            ),
        ]

    def _suspended_steps(self, *, reactivate_url: str, owner_url: str,
                         owner_label: str) -> list[ReadinessStep]:
        """The customer's Azure plan is suspended: the fix is to reactivate it, not to buy a duplicate."""
        # Synchronised customers' plans are reactivated in Partner Center (reactivate_url is then its page).
        reactivate = _("Reactivate it in Partner Center") if self.synced else _("Reactivate the Azure plan")
        return [
            ReadinessStep(
                done=False,
                label=_("An active Azure plan or Azure Global subscription: the customer's Azure plan is "
                        "suspended"),
                missing=_("The customer's Azure plan is suspended. Reactivate it on its Subscriptions page; "
                          "buying another one would make a duplicate."),
                fix_url=reactivate_url, fix_label=reactivate,
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
                fix_url=reactivate_url if self.has_owner_on_suspended else owner_url,
                fix_label=reactivate if self.has_owner_on_suspended else owner_label,
            ),
        ]

    @cached_property
    def missing_steps(self) -> list[ReadinessStep]:
        return [step for step in self.steps if not step.done]

