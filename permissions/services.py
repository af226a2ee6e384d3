from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from activitylog import chain
from activitylog.models import Action, ResourceType
from activitylog.services import Origin, audited
from customers.models import Customer
from customers.services import lock_customer
from portal.models import Agent

from .models import AccessReview, PurchasePermission, Resource, policy_permissions
from .policies import CHANGE_REFUSED, REVIEW_REFUSED, can_change_purchase_permissions, can_review_access
from .selectors import PermissionSet, permission_set, purchase_readiness


class PolicyPreconditionFailed(Exception):
    """The permissions are not what the caller expected: not a refusal, so nothing is logged."""


class NoPolicy(PolicyPreconditionFailed):
    """The caller expected permissions to change, and the customer has none."""


class PolicyExists(PolicyPreconditionFailed):
    """The caller expected the customer to have no permission yet, and it has some."""


class PolicyChanged(PolicyPreconditionFailed):
    """The permissions changed since the caller read them: their version is no longer the one sent."""


@dataclass(frozen=True)
class Expected:
    """What a caller saw before asking (an API script's policy and its etag), checked first, under the lock.

    These checks come before the role check, for every role: every role may read the permissions anyway,
    and a request about permissions that are gone is not a refused change.
    """

    exists: bool | None = None
    version: str | None = None

    def check(self, current: PermissionSet) -> None:
        if self.exists is True and not current.exists:
            raise NoPolicy
        if self.exists is False and current.exists:
            raise PolicyExists
        if self.version is not None and self.version != current.version:
            raise PolicyChanged


def _policy_value(resources) -> dict:
    """The customer's permissions as Partner Center's SelfServePolicy lists them."""
    return {"permissions": policy_permissions(resources)}


def _entry(resource: Resource, allowed: bool, current: set) -> dict:
    """The entry one change of one permission writes; a refused one is shaped as the same change would
    have been logged: the customer's permissions before and after."""
    after = current | {resource} if allowed else current - {resource}
    return {
        "action": Action.CREATE_PURCHASE_PERMISSION if allowed else Action.DELETE_PURCHASE_PERMISSION,
        "resource_type": ResourceType.SELF_SERVE_POLICY,
        "resource_id": resource,
        "old_value": _policy_value(current),
        "new_value": _policy_value(after),
    }


def set_purchase_permissions(
    *, actor: Agent, customer: Customer, allowed: Mapping[str, bool], origin: Origin,
    expected: Expected | None = None,
) -> list[Resource]:
    """Allow or disallow self-purchases for a customer, all or nothing. Returns what changed.

    Turning a permission on creates it and turning it off deletes it, each with one
    Create/Delete Customer Purchase Permissions entry; asking for the current state is a no-op.
    Raises a PolicyPreconditionFailed when ``expected`` does not hold, before anything else.
    """
    wanted = {Resource(resource): bool(allow) for resource, allow in allowed.items()}
    with audited(actor=actor, origin=origin, customer=customer) as audit:
        # The customer's row first, as every write about a customer: readiness cannot change under
        # us, and two agents toggling at once are applied one after the other.
        locked = lock_customer(customer)
        current = permission_set(locked)
        if expected is not None:
            expected.check(current)
        resources = current.resources
        audit.refused = [_entry(resource, allow, resources) for resource, allow in wanted.items()]
        changes = {res: allow for res, allow in wanted.items() if allow != (res in resources)}
        if not can_change_purchase_permissions(actor):
            # The form posts every resource: log the changes that were refused, not a Failed
            # "Delete" for a permission that was never there.
            audit.refused = [_entry(res, allow, resources) for res, allow in changes.items()] or audit.refused
            raise PermissionDenied(CHANGE_REFUSED)
        if not changes:
            return []

        turning_on = [resource for resource, allow in changes.items() if allow]
        if turning_on:
            readiness = purchase_readiness(locked)
            if not readiness.ready:
                audit.refused = [_entry(resource, True, resources) for resource in turning_on]
                # A list of plain messages would drop the code; each message carries it.
                raise ValidationError([
                    ValidationError(step.missing, code="not_ready") for step in readiness.missing_steps
                ])

        now = timezone.now()
        for resource, allow in changes.items():
            before = set(resources)
            if allow:
                PurchasePermission.objects.create(
                    customer=locked, resource=resource, granted_by=actor, granted_at=now
                )
                resources.add(resource)
            else:
                PurchasePermission.objects.filter(customer=locked, resource=resource).delete()
                resources.discard(resource)
            audit.succeeded(**{**_entry(resource, allow, before), "customer": locked})
        return list(changes)


def set_purchase_permission(
    *, actor: Agent, customer: Customer, resource: str, allowed: bool, origin: Origin
) -> bool:
    """Allow or disallow one self-purchase for a customer. Returns whether anything changed."""
    return bool(
        set_purchase_permissions(
            actor=actor, customer=customer, allowed={resource: allowed}, origin=origin
        )
    )


def mark_reviewed(*, actor: Agent, customers: Sequence[Customer], origin: Origin) -> list[Customer]:
    """Sign off each customer's allowed purchase permissions as reviewed now: one entry each, each
    customer in its own transaction. A refusal is logged as one Failed entry per customer; nothing is
    marked."""
    customers = sorted({customer.pk: customer for customer in customers}.values(), key=lambda c: c.pk)
    refused = None
    reviewed = []
    for customer in customers:
        try:
            with audited(actor=actor, origin=origin, customer=customer,
                         action=Action.REVIEW_PURCHASE_PERMISSION,
                         resource_type=ResourceType.SELF_SERVE_POLICY) as audit:
                if not can_review_access(actor):
                    raise PermissionDenied(REVIEW_REFUSED)
                locked = lock_customer(customer)
                previous = AccessReview.objects.filter(customer=locked).first()
                now = timezone.now()
                AccessReview.objects.update_or_create(customer=locked,
                                                      defaults={"reviewed_by": actor, "reviewed_at": now})
                audit.succeeded(
                    customer=locked,
                    old_value={"reviewed_at": chain.utc_text(previous.reviewed_at) if previous else None},
                    new_value={"reviewed_at": chain.utc_text(now),
                               **_policy_value(permission_set(locked).resources)},
                )
                reviewed.append(locked)
        except PermissionDenied as exc:  # recorded for this customer; the others are refused too
            refused = exc
    if refused is not None:
        raise refused
    return reviewed
