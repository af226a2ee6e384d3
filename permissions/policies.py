from dataclasses import dataclass
from functools import cached_property

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, RoleAssignment, Subscription
from portal.models import Agent
from portal.policies import has_role

from .models import PurchasePermission, Resource

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
    """Whether a customer can use a purchase permission, step by step as Partner Center asks."""

    has_azure_subscription: bool
    has_owner: bool
    tenant_id: str

    @property
    def ready(self) -> bool:
        return self.has_azure_subscription and self.has_owner

    @cached_property
    def steps(self) -> list[ReadinessStep]:
        subscriptions = reverse("customers:subscriptions", args=[self.tenant_id])
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

    @cached_property
    def missing_steps(self) -> list[ReadinessStep]:
        return [step for step in self.steps if not step.done]


def readiness_of(customer: Customer) -> Readiness:
    """Readiness from a customer fetched with ``Customer.objects.with_readiness()``."""
    return Readiness(has_azure_subscription=customer.has_azure_subscription,
                     has_owner=customer.has_owner, tenant_id=str(customer.tenant_id))


def purchase_readiness(customer: Customer) -> Readiness:
    """Readiness as the database has it now, in one query."""
    return readiness_of(Customer.objects.with_readiness().get(pk=customer.pk))


def readiness_without(
    customer: Customer, *, subscription: Subscription | None = None,
    assignment: RoleAssignment | None = None,
) -> Readiness:
    """Readiness as it would be if that subscription stopped being active or that role were removed."""
    usable = Subscription.objects.azure().active().filter(customer=customer)
    if subscription is not None:
        usable = usable.exclude(pk=subscription.pk)
    owners = RoleAssignment.objects.filter(role=RoleAssignment.Role.OWNER, subscription__in=usable)
    if assignment is not None:
        owners = owners.exclude(pk=assignment.pk)
    return Readiness(has_azure_subscription=usable.exists(), has_owner=owners.exists(),
                     tenant_id=str(customer.tenant_id))


def permissions_that_would_stop(customer: Customer, after: Readiness) -> list:
    """The allowed purchase permissions that a change leaving the customer `after` would make unusable."""
    if after.ready or not purchase_readiness(customer).ready:
        return []
    allowed = set(PurchasePermission.objects.filter(customer=customer).values_list("resource", flat=True))
    return [resource for resource in Resource if resource in allowed]
