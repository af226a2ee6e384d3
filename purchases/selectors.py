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


def _account_cards_sql(connection) -> str:
    from customers.models import Customer

    from .models import BillingPolicy, PurchaseLimit

    purchase = CustomerPurchase._meta.db_table
    return (f"SELECT l.amount, l.currency_code, l.turn_off_at_limit, b.view_charges,"  # noqa: S608
            f" (SELECT SUM(p.commitment) FROM {purchase} p"
            f" WHERE p.customer_id = c.id AND p.purchased_at >= %s)"
            f" FROM {Customer._meta.db_table} c"
            f" LEFT JOIN {PurchaseLimit._meta.db_table} l ON l.customer_id = c.id"
            f" LEFT JOIN {BillingPolicy._meta.db_table} b ON b.customer_id = c.id"
            f" WHERE c.id = %s")


_statements: dict[str, str] = {}
CENTS = Decimal("0.01")


def _money(value) -> Decimal | None:
    """A DECIMAL from a raw query: PostgreSQL gives a Decimal, SQLite a number (its sums are floats)."""
    return None if value is None else Decimal(str(value)).quantize(CENTS)


def account_cards(customer) -> dict:
    """What the Account page's purchase cards show, in one hand-written query (the Account page is the
    portal's hottest read; see permissions/selectors.py): the limit, the cost visibility and the last 12
    months' spend, read through the customer's row."""
    from django.db import connections

    connection = connections[CustomerPurchase.objects.db]
    if connection.alias not in _statements:
        _statements[connection.alias] = _account_cards_sql(connection)
    since = connection.ops.adapt_datetimefield_value(timezone.now() - ROLLING)
    with connection.cursor() as cursor:
        cursor.execute(_statements[connection.alias], [since, customer.pk])
        amount, currency, turn_off, view_charges, spent = cursor.fetchone() or (None,) * 5
    return {
        "amount": _money(amount),
        "currency_code": currency,
        "turn_off_at_limit": bool(turn_off),
        "cost_allowed": view_charges == "Allowed",
        "spent": _money(spent) or Decimal(0),
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
