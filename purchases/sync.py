"""The purchases sync: what each customer bought itself, read from Partner Center and from Azure.

Per customer, one poll reads (MICROSOFT.md §4):
- Partner Center: its orders, its reserved-instance entitlements (App+User; each names the order it came
  from and the Azure reservation it is), and the `create_order` audit records (who placed an order);
- Azure, in the customer's tenant: its reservation orders (Microsoft.Capacity) with their reservations, and
  its savings plan orders (Microsoft.BillingBenefits) with their plans.
`ingest()` then refreshes the mirrors and records each self-purchase once (`CustomerPurchase`, unique per
Partner Center order and per Azure order), under the customer's row lock, with one *Customer Purchase*
activity log entry and its notification in the same transaction. Two workers polling at once serialise on
that lock and the second finds the purchase there.

Which purchases are the customer's own (how Microsoft marks them is UNCONFIRMED, §4.1): a reservation order
in Partner Center whose create_order audit record names someone who is not one of the partner's agents
(or, without a record, whose client is not Partner Center), and every reservation or savings plan order in
Azure that no partner purchase accounts for and that no agent created.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from activitylog.models import Action, ActivityLogEntry, ResourceType, Source
from activitylog.services import Origin, entry
from customers.models import Customer
from customers.services import lock_customer
from portal.models import Agent

from .models import (
    CustomerPurchase,
    Kind,
    Order,
    Reservation,
    ReservationOrder,
    SavingsPlan,
    SavingsPlanOrder,
    savings_plan_commitment,
)

logger = logging.getLogger(__name__)

RESERVATION_PRODUCT = "DZH318Z0BQ4B"   # Partner Center's reserved VM instance product (§4.1)
PARTNER_CLIENTS = {"partner center web", "partner center api"}
ORDER_IN_RESOURCE = re.compile(r"/reservationOrders/([^/]+)", re.IGNORECASE)
# A Partner Center order and an Azure order with no entitlement between them are the same purchase when
# they are this close in time, for the same customer and quantity (a fallback; the entitlement decides).
MATCH_WINDOW = timedelta(hours=1)
CENTS = Decimal("0.01")


@dataclass
class Fetched:
    """What Microsoft showed of one customer in one poll (None: that source could not be read)."""

    orders: list[dict] | None = None
    entitlements: list[dict] | None = None
    audit_records: list[dict] = field(default_factory=list)
    reservation_orders: list[dict] | None = None    # each with "reservations": [...]
    savings_plan_orders: list[dict] | None = None   # each with "savingsPlans": [...]


# ----------------------------------------------------------------------------------------- parsing
def _when(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    moment = parse_datetime(value.replace("Z", "+00:00")) if "T" in value else \
        parse_datetime(value + "T00:00:00+00:00")
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.utc)
    return moment


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None and not isinstance(value, bool) else None
    except (InvalidOperation, ValueError):
        return None


def _int(value, default: int = 1) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number >= 0 else default


def _name(item: dict) -> str:
    return str(item.get("name") or str(item.get("id") or "").rsplit("/", 1)[-1]).lower()[:64]


def _text(value, limit: int) -> str:
    return str(value or "")[:limit]


def _customized(record: dict) -> dict:
    return {str(pair.get("key")): pair.get("value") for pair in record.get("customizedData") or []
            if isinstance(pair, dict)}


def _is_reservation_order(order: dict) -> bool:
    for line in order.get("lineItems") or []:
        offer = str(line.get("offerId") or "").upper()
        name = str(line.get("friendlyName") or "")
        if offer.startswith(RESERVATION_PRODUCT) or name.startswith("Reserved"):
            return True
    return False


# -------------------------------------------------------------------------------------------- ingest
def ingest(customer: Customer, fetched: Fetched, *, origin: Origin | None = None) -> list[CustomerPurchase]:
    """Refresh the customer's mirrors and record its new self-purchases; returns those (new ones only)."""
    origin = origin or Origin(source=Source.MICROSOFT, request_id="purchases-sync")
    agents = {email.lower() for email in Agent.objects.values_list("email", flat=True)}
    with transaction.atomic():
        locked = lock_customer(customer)
        placed_by = {}
        for audit_record in fetched.audit_records:
            if str(audit_record.get("operationType", "")).lower() == "create_order":
                order_id = _customized(audit_record).get("OrderId")
                if order_id:
                    placed_by[str(order_id).lower()] = _text(audit_record.get("userPrincipalName"), 254)
        links = _entitlement_links(fetched.entitlements or [])
        pc_seen = _mirror_orders(locked, fetched.orders, placed_by) if fetched.orders is not None else []
        reservation_orders = (_mirror_reservations(locked, fetched.reservation_orders)
                              if fetched.reservation_orders is not None else [])
        plan_orders = (_mirror_savings_plans(locked, fetched.savings_plan_orders)
                       if fetched.savings_plan_orders is not None else [])

        candidates = []
        partner_azure_orders = set()
        for order in pc_seen:
            if not _is_reservation_order({"lineItems": order.line_items}):
                continue
            buyer = placed_by.get(order.order_id.lower(), "")
            own = (buyer.lower() not in agents) if buyer else \
                (bool(order.client_name) and order.client_name.lower() not in PARTNER_CLIENTS)
            azure_id = links.get(order.order_id.lower())
            if not own:
                if azure_id:
                    partner_azure_orders.add(azure_id)
                continue
            line = (order.line_items or [{}])[0]
            candidates.append(dict(kind=Kind.RESERVATION, pc=order.order_id.lower(), azure=azure_id,
                                   product=_text(line.get("friendlyName") or line.get("offerId"), 200),
                                   quantity=_int(line.get("quantity")),
                                   term=_text(line.get("termDuration"), 8),
                                   billing_plan="Upfront" if order.billing_cycle == "one_time" else "Monthly",
                                   currency=order.currency_code, buyer=buyer, when=order.created_at,
                                   commitment=None))
        by_azure = {c["azure"]: c for c in candidates if c["azure"]}
        for ro in reservation_orders:
            if ro.order_id in partner_azure_orders or (ro.created_by and ro.created_by.lower() in agents):
                continue
            first = ro.reservations.order_by("id").first()
            wanted = dict(kind=Kind.RESERVATION, azure=ro.order_id, product=_text(
                (first.sku if first else "") or ro.display_name, 200), quantity=ro.quantity, term=ro.term,
                billing_plan=ro.billing_plan, currency=ro.currency_code, buyer=ro.created_by,
                when=ro.purchased_at, commitment=ro.amount)
            same = by_azure.get(ro.order_id) or _close_match(candidates, wanted)
            if same is not None:
                # Azure knows the price and the product; Partner Center knows who placed the order.
                same.update({k: v for k, v in wanted.items() if v not in (None, "") and k != "buyer"})
                same["buyer"] = same["buyer"] or ro.created_by
            else:
                candidates.append({**wanted, "pc": None})
        for so in plan_orders:
            if so.created_by and so.created_by.lower() in agents:
                continue
            plans = list(so.plans.all())
            hourly = sum((p.hourly_commitment for p in plans), Decimal(0))
            candidates.append(dict(kind=Kind.SAVINGS_PLAN, pc=None, azure=so.order_id,
                                   product=_text(so.display_name, 200), quantity=1, term=so.term,
                                   billing_plan=so.billing_plan, buyer=so.created_by, when=so.purchased_at,
                                   currency=so.currency_code or (plans[0].currency_code if plans else ""),
                                   commitment=(savings_plan_commitment(hourly, so.term) if plans
                                               else so.amount),
                                   hourly=hourly))
        entries: list[ActivityLogEntry] = []
        new = [purchase for c in candidates if (purchase := _record(locked, c, origin, entries)) is not None]
        if entries:   # the log's entries last: record() holds the log's lock to the commit
            ActivityLogEntry.objects.bulk_create(entries)
    return new


def _close_match(candidates: list[dict], wanted: dict) -> dict | None:
    for candidate in candidates:
        if candidate["azure"] is None and candidate["kind"] == wanted["kind"] and \
                candidate["quantity"] == wanted["quantity"] and candidate["when"] and wanted["when"] and \
                abs(candidate["when"] - wanted["when"]) <= MATCH_WINDOW:
            return candidate
    return None


def _entitlement_links(entitlements: list[dict]) -> dict[str, str]:
    """Partner Center order id → the Azure reservation order its reserved-instance entitlement names."""
    links = {}
    for entitlement in entitlements:
        if not isinstance(entitlement, dict):
            continue
        order_id = str((entitlement.get("referenceOrder") or {}).get("id") or "").lower()
        for artifact in entitlement.get("entitledArtifacts") or []:
            found = ORDER_IN_RESOURCE.search(str((artifact or {}).get("resourceId") or ""))
            if order_id and found:
                links[order_id] = found.group(1).lower()
    return links


def _mirror_orders(customer: Customer, orders: list[dict], placed_by: dict) -> list[Order]:
    kept = []
    for item in orders:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        order_id = _text(item["id"], 64)
        values = {"billing_cycle": _text(item.get("billingCycle"), 32),
                  "transaction_type": _text(item.get("transactionType"), 32),
                  "status": _text(item.get("status"), 32),
                  "currency_code": _text(item.get("currencyCode"), 3),
                  "created_at": _when(item.get("creationDate")) or timezone.now(),
                  "client_name": _text((item.get("client") or {}).get("name"), 100),
                  "line_items": [line for line in item.get("lineItems") or [] if isinstance(line, dict)]}
        if placed_by.get(order_id.lower()):
            values["placed_by"] = placed_by[order_id.lower()]
        order, _ = Order.objects.update_or_create(customer=customer, order_id=order_id, defaults=values)
        kept.append(order)
    return kept


def _benefit_values(item: dict) -> dict:
    properties = item.get("properties") or {}
    total = (properties.get("planInformation") or {}).get("pricingCurrencyTotal") or {}
    return {"display_name": _text(properties.get("displayName"), 200),
            "term": _text(properties.get("term"), 8),
            "billing_plan": _text(properties.get("billingPlan"), 16), "amount": _decimal(total.get("amount")),
            "currency_code": _text(total.get("currencyCode"), 3),
            "purchased_at": _when(properties.get("createdDateTime") or properties.get("requestDateTime")
                                  or properties.get("purchaseDateTime")) or timezone.now(),
            "expires_at": _when(properties.get("expiryDateTime") or properties.get("expiryDate")),
            "provisioning_state": _text(properties.get("provisioningState"), 32),
            "created_by": _text((item.get("systemData") or {}).get("createdBy"), 254)}


def _mirror_reservations(customer: Customer, orders: list[dict]) -> list[ReservationOrder]:
    kept = []
    for item in orders:
        if not isinstance(item, dict) or not _name(item):
            continue
        values = _benefit_values(item)
        values["quantity"] = _int((item.get("properties") or {}).get("originalQuantity"))
        order, _ = ReservationOrder.objects.update_or_create(customer=customer, order_id=_name(item),
                                                             defaults=values)
        for reservation in item.get("reservations") or []:
            if not isinstance(reservation, dict) or not _name(reservation):
                continue
            p = reservation.get("properties") or {}
            Reservation.objects.update_or_create(order=order, reservation_id=_name(reservation), defaults={
                "display_name": _text(p.get("displayName"), 200),
                "sku": _text((reservation.get("sku") or {}).get("name"), 100),
                "location": _text(reservation.get("location"), 64),
                "resource_type": _text(p.get("reservedResourceType"), 64),
                "quantity": _int(p.get("quantity")),
                "scope": _text(p.get("appliedScopeType") or p.get("userFriendlyAppliedScopeType"), 32),
                "applied_scopes": [str(s) for s in p.get("appliedScopes") or []],
                "effective_at": _when(p.get("effectiveDateTime")),
                "expires_at": _when(p.get("expiryDateTime") or p.get("expiryDate")),
                "renew": bool(p.get("renew")), "provisioning_state": _text(p.get("provisioningState"), 32)})
        kept.append(order)
    return kept


def _mirror_savings_plans(customer: Customer, orders: list[dict]) -> list[SavingsPlanOrder]:
    kept = []
    for item in orders:
        if not isinstance(item, dict) or not _name(item):
            continue
        order, _ = SavingsPlanOrder.objects.update_or_create(customer=customer, order_id=_name(item),
                                                             defaults=_benefit_values(item))
        for plan in item.get("savingsPlans") or []:
            if not isinstance(plan, dict) or not _name(plan):
                continue
            p = plan.get("properties") or {}
            commitment = p.get("commitment") or {}
            SavingsPlan.objects.update_or_create(order=order, plan_id=_name(plan), defaults={
                "display_name": _text(p.get("displayName"), 200),
                "hourly_commitment": _decimal(commitment.get("amount")) or Decimal(0),
                "currency_code": _text(commitment.get("currencyCode"), 3),
                "scope": _text(p.get("appliedScopeType") or p.get("userFriendlyAppliedScopeType"), 32),
                "applied_scope": _text((p.get("appliedScopeProperties") or {}).get("subscriptionId"), 200),
                "effective_at": _when(p.get("effectiveDateTime")),
                "expires_at": _when(p.get("expiryDateTime")), "renew": bool(p.get("renew")),
                "provisioning_state": _text(p.get("provisioningState"), 32)})
        kept.append(order)
    return kept


def _record(customer: Customer, c: dict, origin: Origin, entries: list) -> CustomerPurchase | None:
    """The purchase, once: found by either key (and completed with the other), or created and logged."""
    if c.get("commitment") is not None:
        c["commitment"] = Decimal(c["commitment"]).quantize(CENTS)
    existing = None
    if c.get("pc"):
        existing = CustomerPurchase.objects.filter(customer=customer, partner_center_order_id=c["pc"]).first()
    if existing is None and c.get("azure"):
        existing = CustomerPurchase.objects.filter(customer=customer, azure_order_id=c["azure"]).first()
    values = {"product": c["product"], "quantity": c["quantity"], "term": c["term"],
              "billing_plan": c["billing_plan"], "currency_code": _text(c["currency"], 3)}
    if existing is not None:
        changed = {k: v for k, v in values.items() if v and getattr(existing, k) != v}
        for key, field_name in (("pc", "partner_center_order_id"), ("azure", "azure_order_id")):
            if c.get(key) and not getattr(existing, field_name):
                changed[field_name] = c[key]
        if c.get("commitment") is not None and existing.commitment != c["commitment"]:
            changed["commitment"] = c["commitment"]
        if c.get("buyer") and not existing.buyer:
            changed["buyer"] = c["buyer"]
        if changed:
            CustomerPurchase.objects.filter(pk=existing.pk).update(**changed)
        return None
    try:
        with transaction.atomic():
            purchase = CustomerPurchase.objects.create(
                customer=customer, kind=c["kind"], partner_center_order_id=c.get("pc"),
                azure_order_id=c.get("azure"), commitment=c.get("commitment"), buyer=_text(c["buyer"], 254),
                purchased_at=c["when"] or timezone.now(), **values)
    except IntegrityError:   # another worker recorded it first (the customer's lock makes this rare)
        return None
    new_value = {"kind": purchase.kind, "product": purchase.product, "quantity": purchase.quantity,
                 "term": purchase.term, "billingPlan": purchase.billing_plan,
                 "commitment": str(purchase.commitment) if purchase.commitment is not None else None,
                 "currency": purchase.currency_code, "boughtBy": purchase.buyer,
                 "purchasedAt": purchase.purchased_at.isoformat(),
                 "partnerCenterOrderId": purchase.partner_center_order_id,
                 "azureOrderId": purchase.azure_order_id}
    if c.get("hourly") is not None:
        new_value["hourlyCommitment"] = str(c["hourly"])
    from .notifications import notify_purchase  # same app; kept apart for reading

    notify_purchase(purchase, new_value)
    entries.append(entry(action=Action.CUSTOMER_PURCHASE, actor=None, origin=origin, customer=customer,
                         resource_type=ResourceType.CUSTOMER_PURCHASE,
                         resource_id=str(purchase.azure_order_id or purchase.partner_center_order_id),
                         new_value=new_value, performer=purchase.buyer or "Microsoft"))
    return purchase

