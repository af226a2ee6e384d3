"""The partner's operations on a customer's reservations and savings plans, against the simulator."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from activitylog.models import Action, ActivityLogEntry, Status
from activitylog.services import Origin
from outbox import worker
from purchases import operations
from purchases.models import Reservation, SavingsPlan
from purchases.operation_models import PartnerOperation
from purchases.operations import Purchase, Scope

from .conftest import azure_order, iso

ORIGIN = Origin(source="web", request_id="ops-test", client_ip="203.0.113.5")
State = PartnerOperation.State


def drain(world) -> None:
    """Run the outbox's worker until nothing is due (Azure's Retry-After is 0 in these tests)."""
    worker.drain()
    assert not PartnerOperation.objects.filter(state__in=PartnerOperation.PENDING).exists()


def step(operation) -> PartnerOperation:
    """One attempt of the outbox's worker: send, or ask Azure once."""
    worker.drain(limit=1)
    return PartnerOperation.objects.get(pk=operation.pk)


def entries(action=None):
    found = ActivityLogEntry.objects.order_by("id")
    return list(found.filter(action=action) if action else found)


def writes(world):
    return [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in world.requests() if r["method"] != "GET"]


# ------------------------------------------------------------------------------------------ update
def test_scope_change_goes_through_the_worker_and_the_mirror_changes_only_when_azure_confirms(
    world, admin_agent
):
    world.load(azure_order("ro-1", total=1000))
    reservation = world.reservations["ro-1"]
    operation = operations.update_reservation(
        actor=admin_agent,
        reservation=reservation,
        origin=ORIGIN,
        scope=Scope(kind="ResourceGroup", subscription=world.azure_id, resource_group="web"),
    )
    assert operation.state == State.WAITING and world.requests() == []  # nothing sent by the service
    assert entries() == []
    operation = step(operation)
    assert operation.state == State.IN_PROGRESS and operation.poll_url
    assert writes(world) == [("PATCH", "ro-1-r")]
    assert Reservation.objects.get(pk=reservation.pk).scope == "Shared" and entries() == []
    operation = step(operation)
    assert operation.state == State.IN_PROGRESS  # Azure: InProgress
    operation = step(operation)
    assert operation.state == State.SUCCEEDED
    mirror = Reservation.objects.get(pk=reservation.pk)
    assert mirror.scope == "Single"
    assert mirror.applied_scopes == [f"/subscriptions/{world.azure_id}/resourceGroups/web"]
    [entry] = entries()
    assert (entry.action, entry.status, entry.actor, entry.resource_id) == (
        Action.UPDATE_RESERVATION,
        Status.SUCCEEDED,
        admin_agent,
        "ro-1-r",
    )
    assert entry.old_value["scope"] == "Shared" and entry.new_value["status"] == "Succeeded"
    assert entry.request_id == "ops-test"


def test_rename_and_auto_renew_answer_at_once_and_asking_for_what_is_changes_nothing(world, admin_agent):
    world.load(azure_order("ro-1", total=1000))
    reservation = world.reservations["ro-1"]
    assert (
        operations.update_reservation(
            actor=admin_agent, reservation=reservation, origin=ORIGIN, name="ro-1 VMs", renew=False
        )
        is None
    )
    renamed = operations.update_reservation(
        actor=admin_agent, reservation=reservation, origin=ORIGIN, name="Web servers", renew=True
    )
    assert step(renamed).state == State.SUCCEEDED
    mirror = Reservation.objects.get(pk=reservation.pk)
    assert (mirror.display_name, mirror.renew) == ("Web servers", True)
    assert [e.action for e in entries()] == [Action.UPDATE_RESERVATION]


def test_renew_sets_up_the_renewal_purchase(world, admin_agent):
    world.load(azure_order("ro-1", total=1000))
    operation = operations.update_reservation(
        actor=admin_agent, reservation=world.reservations["ro-1"], origin=ORIGIN, renew_now=True
    )
    assert operation.request["renew"] is True
    assert operation.request["renewProperties"]["purchaseProperties"]["sku"] == {"name": "Standard_D2s_v5"}
    drain(world)
    assert Reservation.objects.get(pk=world.reservations["ro-1"].pk).renew is True


def test_bad_scopes_are_refused_with_a_reason_and_logged(world, admin_agent):
    world.load(azure_order("ro-1", total=1000))
    for scope in (
        Scope(kind="Single", subscription="f0000000-0000-4000-8000-00000000dead"),
        Scope(kind="ResourceGroup", subscription=world.azure_id, resource_group="bad name!"),
        Scope(kind="ManagementGroup", management_group=""),
        Scope(kind="Everywhere"),
    ):
        with pytest.raises(ValidationError):
            operations.update_reservation(
                actor=admin_agent, reservation=world.reservations["ro-1"], origin=ORIGIN, scope=scope
            )
    assert PartnerOperation.objects.count() == 0 and world.requests() == []
    assert [e.status for e in entries()] == [Status.FAILED] * 4


def test_an_operation_that_fails_halfway_leaves_the_mirror_and_logs_azures_failure(world, admin_agent):
    world.load(azure_order("ro-1", total=1000))
    world.sim.control.faults(
        [{"method": "PATCH", "path": "reservations/ro-1-r$", "fault": "operation_failed"}]
    )
    operation = operations.update_reservation(
        actor=admin_agent,
        reservation=world.reservations["ro-1"],
        origin=ORIGIN,
        scope=Scope(kind="Single", subscription=world.azure_id),
    )
    drain(world)
    operation.refresh_from_db()
    assert operation.state == State.FAILED and operation.error_code == "InternalServerError"
    assert Reservation.objects.get(pk=world.reservations["ro-1"].pk).scope == "Shared"
    [entry] = entries()
    assert entry.status == Status.FAILED and "InternalServerError" in entry.failure_reason


def test_a_second_change_waits_for_the_first(world, admin_agent):
    world.load(azure_order("ro-1", total=1000))
    operations.update_reservation(
        actor=admin_agent,
        reservation=world.reservations["ro-1"],
        origin=ORIGIN,
        scope=Scope(kind="Shared"),
        name="First",
    )
    with pytest.raises(ValidationError, match="in progress"):
        operations.update_reservation(
            actor=admin_agent, reservation=world.reservations["ro-1"], origin=ORIGIN, name="Second"
        )


# ------------------------------------------------------------------------------------------ refund
def test_a_refund_that_fits_quote_first_then_return(world, admin_agent):
    world.load(azure_order("ro-1", total=20000), refunds=[{"date": iso(-30), "amount": 10000}])
    reservation = world.reservations["ro-1"]
    quote = operations.quote_refund(actor=admin_agent, reservation=reservation, quantity=1, origin=ORIGIN)
    assert quote.state == State.QUOTED and Decimal(9900) < quote.refund_usd < Decimal(10100)
    assert quote.quote["consumed"]["amount"] == "10000.0" and quote.quote["limit"]["amount"] == "50000.0"
    assert writes(world) == [("POST", "calculateRefund")] and entries() == []
    allowance = operations.allowance(world.customer)
    assert allowance.microsoft_used == Decimal(10000) and allowance.left == Decimal(40000)
    operations.confirm_refund(actor=admin_agent, operation=quote, reason="Not needed", origin=ORIGIN)
    assert operations.allowance(world.customer).portal_pending == quote.refund_usd
    drain(world)
    quote.refresh_from_db()
    assert quote.state == State.SUCCEEDED
    assert writes(world) == [("POST", "calculateRefund"), ("POST", "return")]
    assert Reservation.objects.get(pk=reservation.pk).provisioning_state == "Cancelled"
    [entry] = entries()
    assert (entry.action, entry.status) == (Action.RETURN_RESERVATION, Status.SUCCEEDED)
    assert entry.old_value["sessionId"] == quote.quote["sessionId"]
    assert operations.allowance(world.customer).portal_used == quote.refund_usd


def test_a_refund_that_would_cross_the_cap_is_refused_up_front(world, admin_agent):
    world.load(azure_order("ro-1", total=20000), refunds=[{"date": iso(-100), "amount": 45000}])
    quote = operations.quote_refund(
        actor=admin_agent, reservation=world.reservations["ro-1"], quantity=1, origin=ORIGIN
    )
    assert quote.quote["policyErrors"][0]["code"] == "RefundLimitExceeded"
    with pytest.raises(ValidationError, match="RefundLimitExceeded"):
        operations.confirm_refund(actor=admin_agent, operation=quote, reason="", origin=ORIGIN)
    assert writes(world) == [("POST", "calculateRefund")]  # no return sent
    quote.refresh_from_db()
    assert quote.state == State.QUOTED
    [entry] = entries()
    assert (entry.action, entry.status) == (Action.RETURN_RESERVATION, Status.FAILED)


def test_the_portals_own_record_counts_returns_microsoft_has_not_seen_yet(world, admin_agent):
    world.load(azure_order("ro-1", total=60000), azure_order("ro-2", total=60000))
    first = operations.quote_refund(
        actor=admin_agent, reservation=world.reservations["ro-1"], quantity=1, origin=ORIGIN
    )
    second = operations.quote_refund(
        actor=admin_agent, reservation=world.reservations["ro-2"], quantity=1, origin=ORIGIN
    )
    assert second.quote["policyErrors"] == []  # Microsoft: each fits alone
    operations.confirm_refund(actor=admin_agent, operation=first, reason="", origin=ORIGIN)
    with pytest.raises(ValidationError, match="exceed the customer's allowance"):
        operations.confirm_refund(actor=admin_agent, operation=second, reason="", origin=ORIGIN)
    assert PartnerOperation.objects.filter(state=State.WAITING).count() == 1


def test_an_exchange_is_not_counted_against_the_cap(world, admin_agent):
    world.load(azure_order("ro-1", total=20000), refunds=[{"date": iso(-10), "amount": 45000}])
    quote = operations.quote_exchange(
        actor=admin_agent,
        reservation=world.reservations["ro-1"],
        quantity=1,
        origin=ORIGIN,
        purchase=Purchase(kind="savings_plan", term="P1Y", hourly_commitment=Decimal(2), name="New plan"),
    )
    assert quote.quote["policyErrors"] == []
    assert Decimal(quote.quote["purchasesTotal"]["amount"]) == Decimal(2 * 24 * 365)
    operations.confirm_exchange(actor=admin_agent, operation=quote, origin=ORIGIN)
    drain(world)
    quote.refresh_from_db()
    assert quote.state == State.SUCCEEDED
    assert writes(world) == [("POST", "calculateExchange"), ("POST", "exchange")]
    assert Reservation.objects.get(pk=world.reservations["ro-1"].pk).provisioning_state == "Cancelled"
    assert operations.allowance(world.customer).portal_used == Decimal(0)
    [entry] = entries()
    assert (entry.action, entry.status) == (Action.EXCHANGE_RESERVATION, Status.SUCCEEDED)
    assert entry.old_value["netPayable"] == quote.quote["netPayable"]


def test_microsofts_exchange_policy_errors_refuse_the_exchange(world, admin_agent):
    world.load(azure_order("ro-1", total=20000))
    world.sim.control.settings(
        reservationOperations={
            "exchangePolicyErrors": [{"code": "ExchangeNotAllowed", "message": "Not eligible for exchange."}]
        }
    )
    quote = operations.quote_exchange(
        actor=admin_agent,
        reservation=world.reservations["ro-1"],
        quantity=1,
        origin=ORIGIN,
        purchase=Purchase(
            kind="reservation", term="P3Y", sku="Standard_D4s_v5", location="westeurope", quantity=5
        ),
    )
    with pytest.raises(ValidationError, match="ExchangeNotAllowed"):
        operations.confirm_exchange(actor=admin_agent, operation=quote, origin=ORIGIN)
    assert writes(world) == [("POST", "calculateExchange")]


def test_a_type_microsoft_does_not_refund_is_refused_with_its_reason(world, admin_agent):
    world.load(azure_order("ro-1", total=1000, kind="Databricks"))
    with pytest.raises(ValidationError, match="SelfServiceRefundNotSupported"):
        operations.quote_refund(
            actor=admin_agent, reservation=world.reservations["ro-1"], quantity=1, origin=ORIGIN
        )
    assert PartnerOperation.objects.count() == 0
    [entry] = entries()
    assert (entry.action, entry.status) == (Action.RETURN_RESERVATION, Status.FAILED)


def test_an_expired_quote_is_never_confirmed(world, admin_agent, settings):
    world.load(azure_order("ro-1", total=1000))
    quote = operations.quote_refund(
        actor=admin_agent, reservation=world.reservations["ro-1"], quantity=1, origin=ORIGIN
    )
    settings.PARTNER_QUOTE_LIFETIME_SECONDS = 0
    with pytest.raises(operations.QuoteExpired):
        operations.confirm_refund(actor=admin_agent, operation=quote, reason="", origin=ORIGIN)
    assert writes(world) == [("POST", "calculateRefund")]


def test_a_session_microsoft_expired_fails_the_return_without_a_blind_retry(world, admin_agent):
    world.load(azure_order("ro-1", total=1000))
    world.sim.control.settings(reservationOperations={"quoteLifetimeSeconds": 0})
    quote = operations.quote_refund(
        actor=admin_agent, reservation=world.reservations["ro-1"], quantity=1, origin=ORIGIN
    )
    operations.confirm_refund(actor=admin_agent, operation=quote, reason="", origin=ORIGIN)
    drain(world)
    quote.refresh_from_db()
    assert quote.state == State.FAILED and quote.error_code == "SessionIdExpired"
    assert writes(world) == [("POST", "calculateRefund"), ("POST", "return")]
    assert Reservation.objects.get(pk=world.reservations["ro-1"].pk).provisioning_state == "Succeeded"


def test_a_dropped_answer_is_asked_again_with_the_same_session(world, admin_agent, settings):
    world.load(azure_order("ro-1", total=1000))
    quote = operations.quote_refund(
        actor=admin_agent, reservation=world.reservations["ro-1"], quantity=1, origin=ORIGIN
    )
    operations.confirm_refund(actor=admin_agent, operation=quote, reason="", origin=ORIGIN)
    settings.MICROSOFT_MAX_RETRIES = 0
    settings.OUTBOX_BACKOFF_SECONDS = 0
    world.sim.control.faults([{"method": "POST", "path": "/return$", "fault": "drop_after"}])
    assert step(quote).state == State.WAITING  # no answer: try again later
    drain(world)
    quote.refresh_from_db()
    assert quote.state == State.SUCCEEDED
    assert len(world.sim.control.get_state()["customers"][0]["refunds"]) == 1  # returned once


# ------------------------------------------------------------------------------------ savings plan
def test_savings_plan_scope_name_auto_renew(world, admin_agent):
    world.load()
    operation = operations.update_savings_plan(
        actor=admin_agent,
        plan=world.plan,
        origin=ORIGIN,
        scope=Scope(kind="Single", subscription=world.azure_id),
        name="Compute EU",
        renew=True,
    )
    drain(world)
    operation.refresh_from_db()
    assert operation.state == State.SUCCEEDED
    plan = SavingsPlan.objects.get(pk=world.plan.pk)
    assert (plan.scope, plan.display_name, plan.renew) == ("Single", "Compute EU", True)
    assert plan.applied_scope == f"/subscriptions/{world.azure_id}"
    [entry] = entries()
    assert entry.action == Action.UPDATE_SAVINGS_PLAN and entry.resource_id == "sp-1"


# --------------------------------------------------------------------------------------- the roles
def _attempts(world, agent):
    reservation = world.reservations["ro-1"]
    quote = PartnerOperation.objects.create(
        customer=world.customer,
        kind=PartnerOperation.Kind.RETURN_RESERVATION,
        reservation=reservation,
        state=State.QUOTED,
        quoted_at=timezone.now(),
        refund_usd=Decimal(1),
        request={"sessionId": "s", "quantity": 1},
        quote={"sessionId": "s", "policyErrors": []},
    )
    exchange = PartnerOperation.objects.create(
        customer=world.customer,
        kind=PartnerOperation.Kind.EXCHANGE_RESERVATION,
        reservation=reservation,
        state=State.QUOTED,
        quoted_at=timezone.now(),
        request={"sessionId": "x"},
        quote={"sessionId": "x", "policyErrors": []},
    )
    return {
        Action.UPDATE_RESERVATION: lambda: operations.update_reservation(
            actor=agent, reservation=reservation, origin=ORIGIN, name="Forged"
        ),
        Action.RETURN_RESERVATION: lambda: operations.confirm_refund(
            actor=agent, operation=quote, reason="", origin=ORIGIN
        ),
        Action.EXCHANGE_RESERVATION: lambda: operations.confirm_exchange(
            actor=agent, operation=exchange, origin=ORIGIN
        ),
        Action.UPDATE_SAVINGS_PLAN: lambda: operations.update_savings_plan(
            actor=agent, plan=world.plan, origin=ORIGIN, renew=True
        ),
        "quote_refund": lambda: operations.quote_refund(
            actor=agent, reservation=reservation, quantity=1, origin=ORIGIN
        ),
        "quote_exchange": lambda: operations.quote_exchange(
            actor=agent,
            reservation=reservation,
            quantity=1,
            origin=ORIGIN,
            purchase=Purchase(kind="savings_plan", term="P1Y", hourly_commitment=Decimal(1)),
        ),
    }


def test_every_operation_is_refused_to_every_read_only_role_and_logged(world, non_admin_agent):
    world.load(azure_order("ro-1", total=1000))
    for name, attempt in _attempts(world, non_admin_agent).items():
        before = PartnerOperation.objects.count()
        with pytest.raises(PermissionDenied):
            attempt()
        assert PartnerOperation.objects.count() == before, name
        entry = entries()[-1]
        assert (entry.status, entry.actor) == (Status.FAILED, non_admin_agent), name
    assert world.requests() == []
    assert not PartnerOperation.objects.exclude(state=State.QUOTED).exists()
    assert Reservation.objects.get(pk=world.reservations["ro-1"].pk).display_name == "ro-1 VMs"


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_refunds_of_two_reservations_never_both_cross_the_cap(needs_postgres, world, admin_agent):
    world.load(azure_order("ro-1", total=60000), azure_order("ro-2", total=60000))
    quotes = [
        operations.quote_refund(
            actor=admin_agent, reservation=world.reservations[name], quantity=1, origin=ORIGIN
        )
        for name in ("ro-1", "ro-2")
    ]
    outcomes, barrier = [], threading.Barrier(2)

    def confirm(quote):
        try:
            barrier.wait()
            operations.confirm_refund(actor=admin_agent, operation=quote, reason="", origin=ORIGIN)
            outcomes.append("sent")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(quote,)) for quote in quotes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "sent"]
    assert PartnerOperation.objects.filter(state=State.WAITING).count() == 1
