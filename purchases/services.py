"""The writes of purchases/: the self-purchase limit, cost visibility, an agent's notification choice.

Each is one transaction with its activity log entry (activitylog.services.audited); a refusal is logged
as Failed.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied

from activitylog.models import Action, ResourceType
from activitylog.services import Origin, audited
from customers.models import Customer
from customers.services import lock_customer
from portal.models import Agent

from .models import BillingPolicy, NotificationPreference, PurchaseLimit
from .policies import CHANGE_REFUSED, can_manage_purchase_settings


def _limit_value(limit: PurchaseLimit | None) -> dict | None:
    if limit is None:
        return None
    return {"amount": str(limit.amount), "currency": limit.currency_code,
            "turnOffAtLimit": limit.turn_off_at_limit}


def set_purchase_limit(*, actor: Agent, customer: Customer, amount: Decimal | None, turn_off_at_limit: bool,
                       origin: Origin, currency_code: str = "USD") -> bool:
    """Set (or with amount None remove) the customer's self-purchase limit. Returns whether it changed.
    A new amount is a new version of the limit: its 80 % and 100 % notify again."""
    with audited(actor=actor, origin=origin, customer=customer, action=Action.UPDATE_PURCHASE_LIMIT,
                 resource_type=ResourceType.PURCHASE_LIMIT, resource_id=str(customer.tenant_id),
                 new_value={"amount": str(amount) if amount is not None else None,
                            "turnOffAtLimit": turn_off_at_limit}) as audit:
        if not can_manage_purchase_settings(actor):
            raise PermissionDenied(CHANGE_REFUSED)
        locked = lock_customer(customer)
        limit = PurchaseLimit.objects.filter(customer=locked).first()
        old = _limit_value(limit)
        if amount is None:
            if limit is None:
                return False
            limit.delete()
            audit.succeeded(customer=locked, old_value=old, new_value=None)
            return True
        if limit is not None and limit.amount == amount and limit.turn_off_at_limit == turn_off_at_limit:
            return False
        if limit is None:
            limit = PurchaseLimit.objects.create(customer=locked, amount=amount, currency_code=currency_code,
                                                 turn_off_at_limit=turn_off_at_limit)
        else:
            if limit.amount != amount:
                limit.version += 1
            limit.amount, limit.turn_off_at_limit = amount, turn_off_at_limit
            limit.save()
        audit.succeeded(customer=locked, old_value=old, new_value=_limit_value(limit))
        return True


def set_notification_preference(*, agent: Agent, notify_purchases: bool) -> bool:
    """An agent's own choice (no log entry: it changes nothing about a customer)."""
    preference, _created = NotificationPreference.objects.get_or_create(agent=agent)
    if preference.notify_purchases == notify_purchases:
        return False
    preference.notify_purchases = notify_purchases
    preference.save(update_fields=["notify_purchases"])
    return True


def set_cost_visibility(*, actor: Agent, customer: Customer, allowed: bool, origin: Origin) -> bool:
    """Let the customer see its Azure usage costs (viewCharges Allowed/NotAllowed), pushed to Azure's billing
    policy through the outbox. Returns whether it changed."""
    wanted = BillingPolicy.ViewCharges.ALLOWED if allowed else BillingPolicy.ViewCharges.NOT_ALLOWED
    with audited(actor=actor, origin=origin, customer=customer, action=Action.UPDATE_CUSTOMER_BILLING_POLICY,
                 resource_type=ResourceType.BILLING_POLICY, resource_id=str(customer.tenant_id),
                 new_value={"viewCharges": str(wanted)}) as audit:
        if not can_manage_purchase_settings(actor):
            raise PermissionDenied(CHANGE_REFUSED)
        locked = lock_customer(customer)
        policy, _created = BillingPolicy.objects.get_or_create(customer=locked)
        if policy.view_charges == wanted:
            return False
        old = {"viewCharges": policy.view_charges}
        policy.view_charges = wanted
        policy.save(update_fields=["view_charges", "updated_at"])
        from .cost_visibility import queue_push

        queue_push(customer=locked, view_charges=str(wanted), origin=origin, actor=actor)
        audit.succeeded(customer=locked, old_value=old, new_value={"viewCharges": str(wanted)})
        return True
