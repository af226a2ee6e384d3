"""Reads of purchases: the per-customer pages, the partner-wide list and its totals, spend against a limit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from .models import CustomerPurchase, Order, Reservation, SavingsPlan

ROLLING = timedelta(days=365)


def orders(customer):
    return Order.objects.filter(customer=customer).order_by("-created_at", "-id")


def reservations(customer):
    return Reservation.objects.filter(order__customer=customer).select_related("order") \
        .order_by("-order__purchased_at", "-id")


def savings_plans(customer):
    return SavingsPlan.objects.filter(order__customer=customer).select_related("order") \
        .order_by("-order__purchased_at", "-id")


def purchases():
    return CustomerPurchase.objects.select_related("customer").order_by("-purchased_at", "-id")


def keyset(queryset, before: str | None):
    """Older than the cursor "<iso time>_<id>" (keyset paging: constant time at any depth)."""
    if not before:
        return queryset
    when, _sep, pk = before.rpartition("_")
    from django.utils.dateparse import parse_datetime

    moment = parse_datetime(when)
    if moment is None or not pk.isdigit():
        return queryset
    return queryset.filter(Q(purchased_at__lt=moment) | Q(purchased_at=moment, pk__lt=int(pk)))


def cursor(purchase: CustomerPurchase) -> str:
    return f"{purchase.purchased_at.isoformat()}_{purchase.pk}"


def twelve_month_totals(customer_ids) -> dict:
    """Per customer and currency: the commitments of its own purchases in the last 12 months."""
    since = timezone.now() - ROLLING
    rows = CustomerPurchase.objects.filter(customer_id__in=list(customer_ids), purchased_at__gte=since) \
        .values("customer_id", "currency_code").annotate(total=Sum("commitment"), count=Count("id"))
    totals: dict = {}
    for row in rows:
        totals.setdefault(row["customer_id"], []).append(row)
    return totals


def account_cards(customer) -> dict:
    """What the Account page's purchase cards show, in one query: the limit, the cost visibility and the
    last 12 months' spend (a subquery), read through the customer's row."""
    from django.db.models import DecimalField, OuterRef, Subquery

    from customers.models import Customer

    since = timezone.now() - ROLLING
    spent = CustomerPurchase.objects.filter(customer=OuterRef("pk"), purchased_at__gte=since) \
        .order_by().values("customer").annotate(total=Sum("commitment")).values("total")
    row = Customer.objects.filter(pk=customer.pk).values(
        "purchase_limit__amount", "purchase_limit__currency_code", "purchase_limit__turn_off_at_limit",
        "billing_policy__view_charges",
        spent=Subquery(spent, output_field=DecimalField(max_digits=16, decimal_places=2)),
    ).first() or {}
    return {
        "amount": row.get("purchase_limit__amount"),
        "currency_code": row.get("purchase_limit__currency_code"),
        "turn_off_at_limit": bool(row.get("purchase_limit__turn_off_at_limit")),
        "cost_allowed": row.get("billing_policy__view_charges") == "Allowed",
        "spent": row.get("spent") or Decimal(0),
    }


def recent_notifications(limit: int = 20):
    """The newest notifications with their deliveries, for the connection page (two queries)."""
    from .models import Notification

    return list(Notification.objects.select_related("customer", "purchase")
                .prefetch_related("deliveries").order_by("-created_at", "-id")[:limit])


def delivery_counts() -> dict:
    """How many deliveries are waiting, sent and given up, over all notifications."""
    from .models import Delivery

    counts = dict.fromkeys(Delivery.State.values, 0)
    for row in Delivery.objects.order_by().values("state").annotate(count=Count("id")):
        counts[row["state"]] = row["count"]
    return counts
