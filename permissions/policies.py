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
    # What the Account page names: the usable subscription, and the Owner and the Azure subscription
    # they hold it on (None where unknown); synchronised customers are fixed at Microsoft.
    subscription_name: str | None = field(default=None, compare=False)
    owner_name: str | None = field(default=None, compare=False)
    owner_sign_in_name: str | None = field(default=None, compare=False)
    owner_subscription_name: str | None = field(default=None, compare=False)
    synced: bool = False

    @property
    def ready(self) -> bool:
        return self.has_azure_subscription and self.has_owner

    @cached_property
    def steps(self) -> list[ReadinessStep]:
        subscriptions = reverse("customers:subscriptions", args=[self.tenant_id])
        if self.synced:
            buy_url, buy_label = partner_center_url(self.tenant_id), _("Buy it in Partner Center")
            owner_url, owner_label = azure_access_control_url(self.tenant_id), _(
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

    @cached_property
    def missing_steps(self) -> list[ReadinessStep]:
        return [step for step in self.steps if not step.done]

