"""Notifications: the webhook as the README describes it, retries then giving up, the connection page, and
the self-purchase limit's 80 % and 100 % crossings (issue 12 items 5 and 6)."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from activitylog.models import Action, ActivityLogEntry, Source
from activitylog.services import Origin
from customers.models import Customer
from outbox.models import OutboxChange
from outbox.worker import drain
from permissions.models import PurchasePermission
from purchases.models import Delivery, Notification
from purchases.notifications import deliver_due
from purchases.poll import poll
from purchases.services import set_purchase_limit

SECRET = "webhook-secret-for-tests"


class Receiver:
    """A webhook receiver written from the README's "Purchase webhook" section alone."""

    def __init__(self, secret: str, status: int = 200):
        self.secret, self.status, self.received, self.verdicts = secret, status, [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                receiver.verdicts.append(receiver.verify(self.headers, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verify(self, headers, body: bytes, *, now: float | None = None) -> bool:
        timestamp = headers.get("X-Portal-Timestamp", "")
        if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > 5 * 60:
            return False
        expected = "sha256=" + hmac.new(self.secret.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers.get("X-Portal-Signature", ""))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    made = []

    def make(status=200, secret=SECRET):
        hook = Receiver(secret, status)
        made.append(hook)
        settings.PURCHASE_WEBHOOK_URL, settings.PURCHASE_WEBHOOK_SECRET = hook.url, secret
        return hook
    yield make
    for hook in made:
        hook.close()


def test_the_webhook_is_signed_as_the_readme_says_and_sent_once(shop, receiver):
    hook = receiver()
    assert shop.buy("reservation", quantity=2, amount=2000.0).status_code == 201
    poll()
    poll()   # seen again: nothing sent again
    assert len(hook.received) == 1 and hook.verdicts == [True]
    headers, body = hook.received[0]
    payload = json.loads(body)
    assert payload["event"] == "customer.purchase"
    assert payload["customer"]["tenantId"] == shop.tenant
    assert payload["purchase"]["boughtBy"] == shop.buyer and payload["purchase"]["quantity"] == 2
    assert payload["purchase"]["commitment"] == "2000.00"
    assert headers["Content-Type"] == "application/json"
    # The receiver's checks mean something: a changed body, a wrong key, an old timestamp all fail.
    assert not hook.verify(headers, body.replace(b"2000.00", b"1.00"))
    assert not Receiver.verify(type("R", (), {"secret": "other"})(), headers, body)
    assert not hook.verify(headers, body, now=int(headers["X-Portal-Timestamp"]) + 301)
    assert [d.state for d in Delivery.objects.filter(channel="webhook")] == ["sent"]


def test_a_failing_receiver_is_retried_with_backoff_then_given_up_and_shown(shop, receiver, settings,
                                                                            signed_in, admin_agent):
    settings.PURCHASE_NOTIFY_MAX_ATTEMPTS, settings.PURCHASE_NOTIFY_BACKOFF_SECONDS = 3, 30
    hook = receiver(status=503)
    assert shop.buy("reservation").status_code == 201
    poll()   # attempt 1
    webhook = Delivery.objects.get(channel="webhook")
    assert (webhook.state, webhook.attempts, webhook.last_error) == ("waiting", 1, "RuntimeError: HTTP 503")
    first_retry = webhook.next_attempt_at
    assert deliver_due(now=first_retry - timedelta(seconds=1)) == {"sent": 0, "retrying": 0, "given_up": 0}
    assert deliver_due(now=first_retry)["retrying"] == 1   # attempt 2, then 60 s
    webhook.refresh_from_db()
    assert webhook.next_attempt_at == first_retry + timedelta(seconds=60)
    assert deliver_due(now=webhook.next_attempt_at)["given_up"] == 1   # attempt 3 of 3
    assert deliver_due(now=timezone.now() + timedelta(days=1)) == {"sent": 0, "retrying": 0, "given_up": 0}
    webhook.refresh_from_db()
    assert (webhook.state, webhook.attempts) == ("given_up", 3)
    assert len(hook.received) == 3 and all(hook.verdicts)
    assert {h["X-Portal-Delivery"] for h, _b in hook.received} == {str(webhook.pk)}
    assert len({json.loads(b)["id"] for _h, b in hook.received}) == 1   # the same notification
    # The e-mail went out once, whatever the webhook did.
    assert Delivery.objects.get(channel="email").state == "sent" and len(mail.outbox) == 1

    page = signed_in(admin_agent).get(reverse("microsoft:connection")).content.decode()
    assert "Purchase notifications" in page and "Given up" in page and "RuntimeError: HTTP 503" in page
    assert "3 attempts" in page and hook.url in page and "billing@partner.example" in page


def test_the_connection_page_without_notifications(signed_in, operator):
    page = signed_in(operator).get(reverse("microsoft:connection")).content.decode()
    assert "No customer purchase has been notified yet." in page


def _limit(admin_agent, tenant, amount, *, turn_off=False):
    customer = Customer.objects.get(tenant_id=tenant)
    assert set_purchase_limit(actor=admin_agent, customer=customer, amount=Decimal(amount),
                              turn_off_at_limit=turn_off, origin=Origin.system("tests"))
    return customer


def _limit_events():
    return sorted(Notification.objects.exclude(event="purchase").values_list("event", flat=True))


def test_the_limit_notifies_at_80_and_100_percent_once_each(shop, admin_agent):
    customer = _limit(admin_agent, shop.tenant, "10000")
    shop.buy("reservation", amount=7900.0)
    poll()
    assert _limit_events() == []   # 79 %
    shop.buy("reservation", amount=100.0)
    poll()
    assert _limit_events() == ["limit_80"]   # 80 %
    poll()
    assert _limit_events() == ["limit_80"]   # once
    shop.buy("reservation", amount=2500.0)
    poll()
    poll()
    assert _limit_events() == ["limit_100", "limit_80"]   # 105 %: 100 % once
    limit_100 = Notification.objects.get(event="limit_100")
    assert limit_100.payload["spent"] == "10500.00" and limit_100.payload["percent"] == 100
    assert [d.state for d in limit_100.deliveries.all()] == ["sent"]
    subjects = [m.subject for m in mail.outbox]
    assert sum("self-purchase limit 80 %" in s for s in subjects) == 1
    assert sum("self-purchase limit 100 %" in s for s in subjects) == 1
    # Without "turn off at the limit", the permissions stay.
    assert PurchasePermission.objects.filter(customer=customer).count() == 2
    # A new amount is a new limit: its crossings notify again.
    _limit(admin_agent, shop.tenant, "12000")
    poll()
    assert _limit_events() == ["limit_100", "limit_80", "limit_80"]


def test_at_the_limit_the_permissions_turn_off_through_the_service_logged_and_pushed(shop, admin_agent,
                                                                                    microsoft):
    customer = _limit(admin_agent, shop.tenant, "1000", turn_off=True)
    shop.buy("reservation", amount=999.0)
    poll()
    assert PurchasePermission.objects.filter(customer=customer).count() == 2   # 99.9 %: not yet
    assert not OutboxChange.objects.filter(customer=customer).exists()
    shop.buy("savingsPlan", hourlyCommitment=0.01)   # + 87.60: over the limit
    poll()
    assert not PurchasePermission.objects.filter(customer=customer).exists()
    removed = ActivityLogEntry.objects.filter(customer=customer,
                                              action=Action.DELETE_PURCHASE_PERMISSION)
    assert removed.count() == 2
    assert all(e.actor is None and e.source == Source.SYSTEM for e in removed)
    assert all("self-purchase limit" in e.new_value["reason"] for e in removed)
    [change] = OutboxChange.objects.filter(customer=customer)
    drain(worker="tests")
    change.refresh_from_db()
    assert change.state == OutboxChange.State.APPLIED
    state = microsoft.sim.control.get_state()
    [held] = [c for c in state["customers"] if c["tenantId"] == shop.tenant]
    assert not (held.get("selfServePolicy") or {}).get("permissions")
    # The customer can no longer buy, as Azure refuses it.
    assert shop.buy("reservation").status_code == 403
    poll()   # nothing turned off twice, nothing logged again
    assert removed.count() == 2 and OutboxChange.objects.filter(customer=customer).count() == 1
