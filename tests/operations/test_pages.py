"""The pages: what an Admin agent can do, what read-only agents see, forged posts, quotes and outcomes."""

import pytest
from django.urls import reverse

from activitylog.models import Action, ActivityLogEntry, Status
from outbox import worker
from purchases.operation_models import PartnerOperation

from .conftest import azure_order, iso

State = PartnerOperation.State


def url(world, name, *args):
    return reverse(f"benefits:{name}", args=[world.customer.tenant_id, *args])


def run_worker():
    worker.drain()


def test_scope_change_shows_in_progress_then_the_outcome(world, admin_agent, signed_in):
    world.load(azure_order("ro-1", total=1000))
    reservation = world.reservations["ro-1"]
    client = signed_in(admin_agent)
    page = client.get(url(world, "reservation", reservation.pk))
    assert page.status_code == 200
    assert "all the Azure subscriptions the partner bought for this customer" in page.content.decode()
    answer = client.post(
        url(world, "reservation_scope", reservation.pk), {"scope": "Single", "subscription": world.azure_id}
    )
    assert answer.status_code == 302
    page = client.get(url(world, "reservation", reservation.pk)).content.decode()
    assert "In progress" in page and "Change scope" not in page
    run_worker()
    page = client.get(url(world, "reservation", reservation.pk)).content.decode()
    assert "Succeeded" in page and "Change scope" in page
    assert ActivityLogEntry.objects.get().action == Action.UPDATE_RESERVATION


def test_refund_quote_is_shown_before_anything_happens_then_confirmed(world, admin_agent, signed_in):
    world.load(azure_order("ro-1", total=20000), refunds=[{"date": iso(-30), "amount": 10000}])
    reservation = world.reservations["ro-1"]
    client = signed_in(admin_agent)
    answer = client.post(url(world, "refund_new", reservation.pk), {"quantity": 1})
    operation = PartnerOperation.objects.get()
    assert answer["Location"] == url(world, "refund_quote", reservation.pk, operation.pk)
    page = client.get(answer["Location"]).content.decode()
    assert "Confirm the refund" in page and "USD 10,000.00" in page  # used, per Microsoft
    assert [r["path"].rsplit("/", 1)[-1] for r in world.requests("POST")] == ["calculateRefund"]
    confirmed = client.post(
        url(world, "refund_confirm", reservation.pk), {"operation": operation.pk, "reason": "Not needed"}
    )
    assert confirmed["Location"] == url(world, "reservation", reservation.pk)
    operation.refresh_from_db()
    assert operation.state == State.WAITING and operation.request["returnReason"] == "Not needed"


def test_a_refund_over_the_allowance_is_refused_on_the_quote_page(world, admin_agent, signed_in):
    world.load(azure_order("ro-1", total=20000), refunds=[{"date": iso(-30), "amount": 45000}])
    client = signed_in(admin_agent)
    answer = client.post(url(world, "refund_new", world.reservations["ro-1"].pk), {"quantity": 1})
    page = client.get(answer["Location"]).content.decode()
    assert "This refund cannot be made." in page and "RefundLimitExceeded" in page
    assert "Confirm the refund" not in page


def test_confirming_an_expired_quote_gets_a_fresh_quote_not_a_return(world, admin_agent, signed_in, settings):
    world.load(azure_order("ro-1", total=1000))
    reservation = world.reservations["ro-1"]
    client = signed_in(admin_agent)
    client.post(url(world, "refund_new", reservation.pk), {"quantity": 1})
    old = PartnerOperation.objects.get()
    settings.PARTNER_QUOTE_LIFETIME_SECONDS = 0
    answer = client.post(url(world, "refund_confirm", reservation.pk), {"operation": old.pk})
    fresh = PartnerOperation.objects.exclude(pk=old.pk).get()
    assert answer["Location"] == url(world, "refund_quote", reservation.pk, fresh.pk)
    assert fresh.state == State.QUOTED and fresh.quote["sessionId"] != old.quote["sessionId"]
    assert [r["path"].rsplit("/", 1)[-1] for r in world.requests("POST")] == ["calculateRefund"] * 2


def test_exchange_form_quote_and_confirm(world, admin_agent, signed_in):
    world.load(azure_order("ro-1", total=20000))
    reservation = world.reservations["ro-1"]
    client = signed_in(admin_agent)
    assert client.get(url(world, "exchange_new", reservation.pk)).status_code == 200
    bad = client.post(
        url(world, "exchange_new", reservation.pk), {"quantity": 1, "buy": "reservation", "term": "P1Y"}
    )
    assert bad.status_code == 200 and "needs a product" in bad.content.decode()
    answer = client.post(
        url(world, "exchange_new", reservation.pk),
        {"quantity": 1, "buy": "savings_plan", "term": "P1Y", "hourly_commitment": "2"},
    )
    operation = PartnerOperation.objects.get()
    page = client.get(answer["Location"]).content.decode()
    assert "Net payable" in page and "Confirm the exchange" in page
    client.post(url(world, "exchange_confirm", reservation.pk), {"operation": operation.pk})
    operation.refresh_from_db()
    assert operation.state == State.WAITING


def test_savings_plan_page_says_it_can_never_be_cancelled_and_offers_no_such_thing(
    world, admin_agent, signed_in
):
    world.load()
    client = signed_in(admin_agent)
    page = client.get(url(world, "savings_plan", world.plan.pk)).content.decode()
    assert "can never be cancelled, exchanged or refunded" in page
    assert "refund" not in page.lower().replace("can never be cancelled, exchanged or refunded", "")
    client.post(url(world, "savings_plan_renew", world.plan.pk), {"renew": "on"})
    assert PartnerOperation.objects.get().request == {"renew": True}


@pytest.mark.parametrize(
    "name,data",
    [
        ("reservation_scope", {"scope": "Shared"}),
        ("reservation_name", {"name": "Forged"}),
        ("reservation_renew", {"renew": "on"}),
        ("refund_new", {"quantity": 1}),
        ("refund_confirm", {"operation": 1}),
        ("exchange_new", {"quantity": 1}),
        ("exchange_confirm", {"operation": 1}),
        ("reservation_scope", {"scope": "nonsense"}),
    ],
)
def test_forged_posts_by_read_only_agents_are_refused_and_logged(
    world, non_admin_agent, signed_in, name, data
):
    world.load(azure_order("ro-1", total=1000))
    client = signed_in(non_admin_agent)
    page = client.get(url(world, "reservation", world.reservations["ro-1"].pk)).content.decode()
    assert "You have read-only access" in page and "Get a refund quote" not in page
    assert client.post(url(world, name, world.reservations["ro-1"].pk), data).status_code == 403
    entry = ActivityLogEntry.objects.get()
    assert (entry.status, entry.actor) == (Status.FAILED, non_admin_agent)
    assert not PartnerOperation.objects.exists() and world.requests() == []


@pytest.mark.parametrize("name", ["savings_plan_scope", "savings_plan_name", "savings_plan_renew"])
def test_forged_savings_plan_posts_are_refused_and_logged(world, non_admin_agent, signed_in, name):
    world.load()
    client = signed_in(non_admin_agent)
    assert client.post(url(world, name, world.plan.pk), {"renew": "on", "name": "x"}).status_code == 403
    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.status) == (Action.UPDATE_SAVINGS_PLAN, Status.FAILED)
    assert not PartnerOperation.objects.exists()


def test_pages_need_sign_in_and_the_customers_own_reservation(world, admin_agent, signed_in, client):
    world.load(azure_order("ro-1", total=1000))
    target = url(world, "reservation", world.reservations["ro-1"].pk)
    assert client.get(target).status_code == 302
    other = reverse(
        "benefits:reservation", args=["00000000-0000-4000-8000-000000000000", world.reservations["ro-1"].pk]
    )
    assert signed_in(admin_agent).get(other).status_code == 404
