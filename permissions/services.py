from collections.abc import Mapping, Sequence
from contextlib import suppress

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from activitylog import chain
from activitylog.models import Action
from activitylog.services import Origin, record, refusals_recorded
from customers.models import Customer
from portal.models import Agent

from .models import AccessReview, PurchasePermission, Resource, policy_permissions
from .policies import (
    CHANGE_REFUSED,
    REVIEW_REFUSED,
    can_change_purchase_permissions,
    can_review_access,
    purchase_readiness,
)

RESOURCE_TYPE = "self_serve_policy"


def _policy_value(resources) -> dict:
    """The customer's permissions as Partner Center's SelfServePolicy lists them."""
    return {"permissions": policy_permissions(resources)}


def _entry(resource: Resource, allowed: bool, current: set) -> dict:
    """One change's log entry; a refused one is shaped as the same change would have been logged."""
    after = current | {resource} if allowed else current - {resource}
    return {
        "action": Action.CREATE_PURCHASE_PERMISSION if allowed else Action.DELETE_PURCHASE_PERMISSION,
        "resource_type": RESOURCE_TYPE,
        "resource_id": resource,
        "old_value": _policy_value(current),
        "new_value": _policy_value(after),
    }


def set_purchase_permissions(
    *, actor: Agent, customer: Customer, allowed: Mapping[str, bool], origin: Origin
) -> list[Resource]:
    """Allow or disallow self-purchases for a customer, all or nothing. Returns what changed.

    Turning a permission on creates it and turning it off deletes it, each with one
    Create/Delete Customer Purchase Permissions entry; asking for the current state is a no-op.
    """
    wanted = {Resource(resource): bool(allow) for resource, allow in allowed.items()}
    with refusals_recorded(actor=actor, origin=origin, customer=customer) as attempt:
        if not can_change_purchase_permissions(actor):
            # The form posts every resource: log the changes that were refused, not a Failed
            # "Delete" for a permission that was never there.
            current = set(
                PurchasePermission.objects.filter(customer=customer).values_list("resource", flat=True)
            )
            refused = [_entry(res, allow, current) for res, allow in wanted.items()
                       if allow != (res in current)]
            attempt.entries = refused or [_entry(res, allow, current) for res, allow in wanted.items()]
            raise PermissionDenied(CHANGE_REFUSED)

        with transaction.atomic():
            # Every write about a customer locks its row first, so readiness cannot change under
            # us and two agents toggling at once are applied one after the other.
            locked = Customer.objects.select_for_update().get(pk=customer.pk)
            current = set(
                PurchasePermission.objects.filter(customer=locked).values_list("resource", flat=True)
            )
            changes = {res: allow for res, allow in wanted.items() if allow != (res in current)}
            if not changes:
                return []

            turning_on = [resource for resource, allow in changes.items() if allow]
            if turning_on:
                readiness = purchase_readiness(locked)
                if not readiness.ready:
                    attempt.entries = [_entry(resource, True, current) for resource in turning_on]
                    # A list of plain messages would drop the code; each message carries it.
                    raise ValidationError([
                        ValidationError(step.missing, code="not_ready")
                        for step in readiness.missing_steps
                    ])

            now = timezone.now()
            for resource, allow in changes.items():
                before = set(current)
                if allow:
                    PurchasePermission.objects.create(
                        customer=locked, resource=resource, granted_by=actor, granted_at=now
                    )
                    current.add(resource)
                else:
                    PurchasePermission.objects.filter(customer=locked, resource=resource).delete()
                    current.discard(resource)
                record(actor=actor, origin=origin, customer=locked, **_entry(resource, allow, before))
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
    """Sign off each customer's allowed purchase permissions as reviewed now: one entry each.

    A refusal is logged as one Failed entry per customer; nothing is marked.
    """
    customers = sorted({customer.pk: customer for customer in customers}.values(), key=lambda c: c.pk)
    if not can_review_access(actor):
        refusal = PermissionDenied(REVIEW_REFUSED)
        for customer in customers:
            # Each entry names its own customer; the refusal is the same for all.
            with suppress(PermissionDenied), refusals_recorded(
                actor=actor, origin=origin, customer=customer, action=Action.REVIEW_PURCHASE_PERMISSION,
                resource_type=RESOURCE_TYPE,
            ):
                raise refusal
        raise refusal
    now = timezone.now()
    with transaction.atomic():
        locked = list(Customer.objects.select_for_update().filter(pk__in=[c.pk for c in customers])
                      .order_by("pk"))
        previous = {review.customer_id: review.reviewed_at
                    for review in AccessReview.objects.filter(customer__in=locked)}
        allowed = {}
        for customer_id, resource in PurchasePermission.objects.filter(customer__in=locked).values_list(
                "customer_id", "resource"):
            allowed.setdefault(customer_id, set()).add(resource)
        for customer in locked:
            AccessReview.objects.update_or_create(customer=customer,
                                                  defaults={"reviewed_by": actor, "reviewed_at": now})
            before = previous.get(customer.pk)
            record(
                action=Action.REVIEW_PURCHASE_PERMISSION, actor=actor, origin=origin, customer=customer,
                resource_type=RESOURCE_TYPE,
                old_value={"reviewed_at": chain.utc_text(before) if before else None},
                new_value={"reviewed_at": chain.utc_text(now),
                           **_policy_value(allowed.get(customer.pk, set()))},
            )
    return locked
