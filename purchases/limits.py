"""The self-purchase limit: a customer's own purchases over a rolling 12 months against an amount.

Crossing 80 % and 100 % notifies once each (a Notification unique per limit version and threshold: a limit
set anew may notify again). With *Turn permissions off at the limit*, reaching 100 % turns both purchase
permissions off through the permission service, the portal itself the actor and the limit the reason.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from activitylog.models import Source
from activitylog.services import Origin
from customers.models import Customer
from permissions.services import turn_off_purchase_permissions

from .models import CustomerPurchase, Notification, PurchaseLimit
from .notifications import notify_limit

ROLLING = timedelta(days=365)
THRESHOLDS = ((Decimal(100), Notification.Event.LIMIT_100), (Decimal(80), Notification.Event.LIMIT_80))


def spend(customer: Customer, *, now=None) -> Decimal:
    """The customer's own purchases in the last 12 months (their commitments)."""
    since = (now or timezone.now()) - ROLLING
    total = CustomerPurchase.objects.filter(customer=customer, purchased_at__gte=since) \
        .aggregate(total=Sum("commitment"))["total"]
    # SQLite's SUM drops the scale (10500 for 10500.00): the figure in notifications reads the same on both.
    return Decimal(total or 0).quantize(Decimal("0.01"))


def check_limit(customer: Customer) -> list[str]:
    """Notify the crossings not notified yet, and turn the permissions off at the limit when asked to.
    Returns the events notified now."""
    limit = PurchaseLimit.objects.filter(customer=customer).first()
    if limit is None or limit.amount <= 0:
        return []
    spent = spend(customer)
    percent = spent * 100 / limit.amount
    notified = []
    with transaction.atomic():
        for threshold, event in sorted(THRESHOLDS):
            if percent >= threshold:
                made = notify_limit(customer=customer, event=event, key=f"{limit.pk}:{limit.version}",
                                    payload={"event": f"customer.{event}", "percent": int(threshold),
                                             "spent": str(spent), "limit": str(limit.amount),
                                             "currency": limit.currency_code,
                                             "customer": {"tenantId": str(customer.tenant_id),
                                                          "companyName": customer.company_name}})
                if made is not None:
                    notified.append(event)
    if percent >= 100 and limit.turn_off_at_limit:
        turn_off_purchase_permissions(
            customer=customer, origin=Origin(source=Source.SYSTEM, request_id="purchase-limit"),
            reason=f"The self-purchase limit of {limit.amount} {limit.currency_code} was reached "
                   f"({spent} {limit.currency_code} in the last 12 months).")
    return notified
