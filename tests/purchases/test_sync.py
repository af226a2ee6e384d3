"""What the customer buys itself arrives in the portal after one poll, once, logged once, notified once."""

import threading

from django.core import mail
from django.db import connection

from activitylog.models import Action, ActivityLogEntry, Source
from customers.models import Customer
from purchases.models import (
    CustomerPurchase,
    Delivery,
    Kind,
    Notification,
    Order,
    Reservation,
    SavingsPlan,
)
from purchases.poll import poll


def purchase_entries():
    return ActivityLogEntry.objects.filter(action=Action.CUSTOMER_PURCHASE)


def test_a_refused_purchase_creates_nothing_and_the_poll_sees_nothing(microsoft):
    from .conftest import Shop

    shop = Shop(microsoft, permissions=("AzureSavingsPlan",)).load()
    assert shop.buy("reservation").status_code == 403
    result = poll()
    assert result.new == [] and not CustomerPurchase.objects.exists() and not purchase_entries().exists()
    assert not Notification.objects.exists()


def test_a_reservation_arrives_once_from_both_sources(shop):
    bought = shop.buy("reservation", quantity=3, amount=3600.0, term="P3Y")
    assert bought.status_code == 201

    result = poll()

    assert len(result.new) == 1, result.errors
    purchase = CustomerPurchase.objects.get()
    customer = Customer.objects.get(tenant_id=shop.tenant)
    assert purchase.customer == customer and purchase.kind == Kind.RESERVATION
    # Seen in Partner Center (the order, its entitlement) and in Azure (the reservation order): one row.
    assert purchase.partner_center_order_id == bought.json()["order"]["id"].lower()
    assert purchase.azure_order_id in bought.json()["reservationOrderId"].lower()
    assert (purchase.quantity, purchase.term, str(purchase.commitment), purchase.currency_code) == (
        3, "P3Y", "3600.00", "USD")
    assert purchase.buyer == shop.buyer
    assert Order.objects.filter(customer=customer, placed_by=shop.buyer).count() == 1
    assert Reservation.objects.get().quantity == 3
    [entry] = purchase_entries()
    assert entry.source == Source.MICROSOFT and entry.actor is None and entry.customer == customer
    assert entry.new_value["boughtBy"] == shop.buyer and entry.new_value["commitment"] == "3600.00"
    [notification] = Notification.objects.all()
    assert notification.purchase == purchase
    assert [(d.channel, d.target, d.state) for d in Delivery.objects.all()] == [
        ("email", "billing@partner.example", "sent")]
    assert len(mail.outbox) == 1 and "billing@partner.example" in mail.outbox[0].to

    again = poll()
    assert again.new == []
    assert CustomerPurchase.objects.count() == 1 and purchase_entries().count() == 1
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1


def test_a_savings_plan_is_seen_only_in_azure(shop):
    assert shop.buy("savingsPlan", hourlyCommitment=2.0, term="P3Y").status_code == 201
    poll()
    purchase = CustomerPurchase.objects.get()
    assert purchase.kind == Kind.SAVINGS_PLAN and purchase.partner_center_order_id is None
    assert str(purchase.commitment) == str(2 * 24 * 365 * 3) + ".00"
    assert SavingsPlan.objects.get().hourly_commitment == 2
    assert not Order.objects.exists()
    assert purchase_entries().count() == 1


def test_two_workers_polling_at_once_record_and_notify_once(shop, transactional_db):
    if connection.vendor == "sqlite":
        import pytest

        pytest.skip("SQLite serialises writers; the race needs PostgreSQL's row locks")
    shop.buy("reservation")
    results, errors = [], []

    def work():
        try:
            results.append(poll())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(len(r.new) for r in results) == 1
    assert CustomerPurchase.objects.count() == 1 and purchase_entries().count() == 1
    assert Notification.objects.count() == 1
    assert Delivery.objects.filter(state="sent").count() == 1 and len(mail.outbox) == 1
