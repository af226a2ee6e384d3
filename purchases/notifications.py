"""Notifications of what customers buy, and their deliveries (e-mail, webhook), sent by the worker.

A notification is created in the transaction that records its event (a purchase, a limit crossing), once:
`Notification` is unique per event. Its deliveries are rows too, so a failed one is retried with backoff by
whichever worker comes next and, after PURCHASE_NOTIFY_MAX_ATTEMPTS, given up with the error kept, visible
on the connection page.

The webhook (README "Purchase webhook"): a JSON POST to PURCHASE_WEBHOOK_URL with the headers
``X-Portal-Timestamp`` (Unix seconds) and ``X-Portal-Signature: sha256=<hex>``, where hex is
HMAC-SHA256(PURCHASE_WEBHOOK_SECRET, timestamp + "." + raw body). A receiver recomputes it over the raw body
and refuses a timestamp more than five minutes away from its clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.models import Customer

from .models import CustomerPurchase, Delivery, Notification

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook's signature header value for this timestamp and raw body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _email_targets() -> list[str]:
    from portal.models import Agent

    opted = Agent.objects.filter(is_active=True, purchase_preference__notify_purchases=True) \
        .values_list("email", flat=True)
    extra = [address.strip() for address in getattr(settings, "NOTIFY_EMAILS", []) if address.strip()]
    return sorted({*opted, *extra}, key=str.lower)


def _create(*, customer: Customer, event: str, key: str, payload: dict,
            purchase: CustomerPurchase | None = None) -> Notification | None:
    """The notification and its deliveries, unless this event has one already. Inside the caller's
    transaction (a savepoint keeps a duplicate from spoiling it)."""
    try:
        with transaction.atomic():
            notification = Notification.objects.create(customer=customer, event=event, key=key,
                                                       purchase=purchase, payload=payload)
    except IntegrityError:
        return None
    deliveries = [Delivery(notification=notification, channel=Delivery.Channel.EMAIL, target=address)
                  for address in _email_targets()]
    if getattr(settings, "PURCHASE_WEBHOOK_URL", ""):
        deliveries.append(Delivery(notification=notification, channel=Delivery.Channel.WEBHOOK,
                                   target=settings.PURCHASE_WEBHOOK_URL[:500]))
    Delivery.objects.bulk_create(deliveries)
    return notification


def notify_purchase(purchase: CustomerPurchase, payload: dict) -> Notification | None:
    return _create(customer=purchase.customer, event=Notification.Event.PURCHASE,
                   key=f"purchase:{purchase.pk}", purchase=purchase, payload={
                       "event": "customer.purchase",
                       "customer": {"tenantId": str(purchase.customer.tenant_id),
                                    "companyName": purchase.customer.company_name},
                       "purchase": payload})


def notify_limit(*, customer: Customer, event: str, key: str, payload: dict) -> Notification | None:
    return _create(customer=customer, event=event, key=key, payload=payload)


# ------------------------------------------------------------------------------------------ delivery
def _subject_and_body(notification: Notification) -> tuple[str, str]:
    payload = notification.payload
    company = notification.customer.company_name
    with translation.override(settings.LANGUAGE_CODE):
        if notification.event == Notification.Event.PURCHASE:
            purchase = payload.get("purchase", {})
            subject = _("%(company)s bought %(product)s") % {"company": company,
                                                              "product": purchase.get("product") or ""}
            lines = [_("Customer: %(company)s") % {"company": company},
                     _("What: %(product)s × %(quantity)s") % {"product": purchase.get("product"),
                                                                "quantity": purchase.get("quantity")},
                     _("Commitment: %(amount)s %(currency)s") % {"amount": purchase.get("commitment") or "?",
                                                                  "currency": purchase.get("currency") or ""},
                     _("Bought by: %(buyer)s") % {"buyer": purchase.get("boughtBy") or "?"},
                     _("When: %(when)s") % {"when": purchase.get("purchasedAt")}]
        else:
            subject = _("%(company)s: self-purchase limit %(percent)s %%") % {
                "company": company, "percent": payload.get("percent")}
            lines = [_("Spent in the last 12 months: %(spent)s of %(limit)s %(currency)s") % payload]
    return subject, "\n".join(lines) + "\n"


def _send(delivery: Delivery) -> None:
    notification = delivery.notification
    if delivery.channel == Delivery.Channel.EMAIL:
        subject, body = _subject_and_body(notification)
        send_mail(subject, body, None, [delivery.target], fail_silently=False)
        return
    body = json.dumps({"id": notification.pk, "event": notification.event, **notification.payload},
                      separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Portal-Timestamp": timestamp,
               "X-Portal-Signature": signature(settings.PURCHASE_WEBHOOK_SECRET, timestamp, body),
               "X-Portal-Delivery": str(delivery.pk)}
    response = requests.post(delivery.target, data=body, headers=headers,
                             timeout=settings.PURCHASE_WEBHOOK_TIMEOUT_SECONDS)
    if response.status_code >= 300:
        raise RuntimeError(f"HTTP {response.status_code}")


def _claim(now) -> Delivery | None:
    """Lease one due delivery (two workers never send one twice)."""
    with transaction.atomic():
        due = Delivery.objects.filter(state=Delivery.State.WAITING, next_attempt_at__lte=now) \
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now)).order_by("next_attempt_at", "id")
        # Locked FOR NO KEY UPDATE (a second worker waits, then finds the row leased and takes the next);
        # the conditional update below is what makes the lease the claim's.
        delivery = due.select_for_update(no_key=True, of=("self",)).first()
        if delivery is None:
            return None
        claimed = Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.WAITING) \
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(lease_until=now + LEASE)
        return delivery if claimed else None


def deliver_due(*, now=None, limit: int = 100) -> dict:
    """Send what is due; returns counts. Called by the worker after each poll (and by tests)."""
    counts = {"sent": 0, "retrying": 0, "given_up": 0}
    for _index in range(limit):
        moment = now or timezone.now()
        delivery = _claim(moment)
        if delivery is None:
            break
        attempts = delivery.attempts + 1
        try:
            _send(delivery)
        except Exception as exc:  # noqa: BLE001 - any failure of the receiver is kept and retried
            error = f"{type(exc).__name__}: {exc}"[:500]
            if attempts >= settings.PURCHASE_NOTIFY_MAX_ATTEMPTS:
                state, counts["given_up"] = Delivery.State.GIVEN_UP, counts["given_up"] + 1
            else:
                state, counts["retrying"] = Delivery.State.WAITING, counts["retrying"] + 1
            backoff = settings.PURCHASE_NOTIFY_BACKOFF_SECONDS * 2 ** (attempts - 1)
            Delivery.objects.filter(pk=delivery.pk).update(
                attempts=attempts, state=state, last_error=error, lease_until=None,
                next_attempt_at=moment + timedelta(seconds=backoff))
            logger.info("Purchase notification %s to %s failed (attempt %s): %s", delivery.notification_id,
                        delivery.channel, attempts, error)
        else:
            Delivery.objects.filter(pk=delivery.pk).update(
                attempts=attempts, state=Delivery.State.SENT, delivered_at=timezone.now(), last_error="",
                lease_until=None)
            counts["sent"] += 1
    return counts
