from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activitylog import chain
from activitylog.models import Action, ResourceType
from activitylog.services import Origin, audited
from customers.models import Customer
from customers.services import lock_customer
from outbox.models import OutboxChange
from outbox.services import enqueue, retry
from portal.models import Agent

from .models import (
    SELF_SERVE_POLICY_CHANGE,
    AccessReview,
    PartnerCenterPolicy,
    PurchasePermission,
    Resource,
    policy_permissions,
)
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


def _entry(resource: Resource, allowed: bool, current: set, reason: str = "") -> dict:
    """The entry one change of one permission writes; a refused one is shaped as the same change would
    have been logged: the customer's permissions before and after (and why, when the portal changed it)."""
    after = current | {resource} if allowed else current - {resource}
    return {
        "action": Action.CREATE_PURCHASE_PERMISSION if allowed else Action.DELETE_PURCHASE_PERMISSION,
        "resource_type": ResourceType.SELF_SERVE_POLICY,
        "resource_id": resource,
        "old_value": _policy_value(current),
        "new_value": {**_policy_value(after), **({"reason": reason} if reason else {})},
    }


def set_purchase_permissions(
    *, actor: Agent | None, customer: Customer, allowed: Mapping[str, bool], origin: Origin,
    expected: Expected | None = None, reason: str = "",
) -> list[Resource]:
    """Allow or disallow self-purchases for a customer, all or nothing. Returns what changed.

    Turning a permission on creates it and turning it off deletes it, each with one
    Create/Delete Customer Purchase Permissions entry; asking for the current state is a no-op.
    Raises a PolicyPreconditionFailed when ``expected`` does not hold, before anything else.
    ``actor=None`` is the portal itself (the self-purchase limit, issue 12): it may only turn permissions
    off, and says why in ``reason``.
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
        by_portal = actor is None and not any(changes.values())
        if not by_portal and (actor is None or not can_change_purchase_permissions(actor)):
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

        # What Partner Center is to hold, queued with the decision (the outbox): the worker applies the
        # customer's latest desired state, once. Before the entries: they are the transaction's last writes.
        push_desired_state(customer=locked, resources={res for res in Resource
                                                       if changes.get(res, res in resources)},
                           origin=origin, actor=actor)
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
            audit.succeeded(**{**_entry(resource, allow, before, reason), "customer": locked})
        return list(changes)


def push_desired_state(*, customer: Customer, resources, origin: Origin, actor: Agent | None) -> None:
    """Queue the customer's desired SelfServePolicy for Partner Center, in the caller's transaction."""
    enqueue(kind=SELF_SERVE_POLICY_CHANGE, customer=customer, origin=origin, actor=actor,
            desired={"permissions": sorted(str(resource) for resource in resources)})


def set_purchase_permission(
    *, actor: Agent, customer: Customer, resource: str, allowed: bool, origin: Origin
) -> bool:
    """Allow or disallow one self-purchase for a customer. Returns whether anything changed."""
    return bool(
        set_purchase_permissions(
            actor=actor, customer=customer, allowed={resource: allowed}, origin=origin
        )
    )


NOTHING_TO_RETRY = _("Nothing to retry: the customer's permissions are not waiting for a retry.")
NO_DIFFERENCE = _("Partner Center and the portal no longer differ for this customer.")


def _policy_entry(customer: Customer, action: Action) -> dict:
    return {"action": action, "resource_type": ResourceType.SELF_SERVE_POLICY,
            "resource_id": f"{settings.PARTNER_TENANT_ID}_{customer.tenant_id}"}


def retry_push(*, actor: Agent, customer: Customer, origin: Origin) -> None:
    """Retry the customer's self-serve policy change that Partner Center did not apply (Admin agents)."""
    with audited(actor=actor, origin=origin, customer=customer,
                 **_policy_entry(customer, Action.RETRY_MICROSOFT_CHANGE)) as audit:
        if not can_change_purchase_permissions(actor):
            raise PermissionDenied(CHANGE_REFUSED)
        locked = lock_customer(customer)
        latest = (OutboxChange.objects.filter(kind=SELF_SERVE_POLICY_CHANGE, customer=locked)
                  .exclude(state=OutboxChange.State.SUPERSEDED).order_by("-id").first())
        if latest is None or latest.state != OutboxChange.State.NOT_APPLIED:
            raise ValidationError(NOTHING_TO_RETRY, code="nothing_to_retry")
        retry(latest)
        audit.succeeded(customer=locked, old_value={"error": latest.error_message[:500],
                                                    "code": latest.error_code},
                        new_value={"permissions": latest.desired.get("permissions", [])})


def _drifted(locked: Customer) -> PartnerCenterPolicy:
    known = PartnerCenterPolicy.objects.filter(customer=locked, drift_found_at__isnull=False).first()
    if known is None:
        raise ValidationError(NO_DIFFERENCE, code="no_drift")
    return known


def apply_portal_setting(*, actor: Agent, customer: Customer, origin: Origin) -> None:
    """Drift: push the portal's setting over what someone changed in Partner Center (Admin agents)."""
    with audited(actor=actor, origin=origin, customer=customer,
                 **_policy_entry(customer, Action.APPLY_PORTAL_SETTING)) as audit:
        if not can_change_purchase_permissions(actor):
            raise PermissionDenied(CHANGE_REFUSED)
        locked = lock_customer(customer)
        known = _drifted(locked)
        resources = permission_set(locked).resources
        push_desired_state(customer=locked, resources=resources, origin=origin, actor=actor)
        PartnerCenterPolicy.objects.filter(pk=known.pk).update(drift_found_at=None)
        audit.succeeded(customer=locked, old_value={"permissions": policy_permissions(known.permissions)},
                        new_value=_policy_value(resources))


def accept_partner_center(*, actor: Agent, customer: Customer, origin: Origin) -> list[Resource]:
    """Drift: take Partner Center's setting as the portal's, a normal change through
    set_purchase_permissions (its own entries and role check, readiness applies)."""
    known = PartnerCenterPolicy.objects.filter(customer=customer, drift_found_at__isnull=False).first()
    in_partner_center = known.permissions if known is not None else []
    if known is None and can_change_purchase_permissions(actor):
        raise ValidationError(NO_DIFFERENCE, code="no_drift")
    # A read-only agent is refused, and logged, by the permission service, as always.
    changed = set_purchase_permissions(
        actor=actor, customer=customer, origin=origin,
        allowed={resource: resource.value in in_partner_center for resource in Resource})
    PartnerCenterPolicy.objects.filter(pk=known.pk).update(drift_found_at=None)
    return changed


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


# --- issue 12: the self-purchase limit turns the permissions off ---
PORTAL_PERFORMER = "CSP Partner Portal"


def turn_off_purchase_permissions(*, customer: Customer, origin: Origin, reason: str) -> list[Resource]:
    """Turn every purchase permission off, the portal itself the actor (no agent), saying why."""
    return set_purchase_permissions(actor=None, customer=customer, origin=origin, reason=reason,
                                    allowed={resource: False for resource in Resource.values})
