"""partner_center_state(): the Account page's one query for where the customer's policy stands."""

import datetime as dt

from django.utils import timezone

from outbox.models import OutboxChange
from permissions.models import SELF_SERVE_POLICY_CHANGE, PartnerCenterPolicy
from permissions.selectors import partner_center_state
from tests.factories import CustomerFactory

State = OutboxChange.State
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def change(customer, state, minutes, kind=SELF_SERVE_POLICY_CHANGE, **fields):
    row = OutboxChange.objects.create(kind=kind, key=f"{kind}:{customer.pk}", customer=customer,
                                      desired={"permissions": []}, state=state, available_at=T0, **fields)
    # created_at is auto_now_add: set the time the test needs.
    OutboxChange.objects.filter(pk=row.pk).update(created_at=T0 + dt.timedelta(minutes=minutes))
    return row


def test_nothing_pushed_and_no_drift(customer):
    state = partner_center_state(customer)

    assert (state.state, state.at, state.change_id, state.drift) == ("", None, None, None)


def test_waiting_since_the_first_change_after_the_last_settled_one(customer):
    change(customer, State.APPLIED, 0, applied_at=T0)
    change(customer, State.SUPERSEDED, 10)
    latest = change(customer, State.WAITING, 20)
    other = CustomerFactory()
    change(other, State.WAITING, 5)  # another customer's change changes nothing here
    change(customer, State.WAITING, 1, kind="azure.billing_policy")  # nor another kind of change

    state = partner_center_state(customer)

    assert (state.state, state.at, state.change_id) == ("waiting", T0 + dt.timedelta(minutes=10), latest.pk)
    assert not state.blocked and state.reason == ""


def test_the_latest_settled_change_says_applied_or_not_applied_with_microsofts_reason(customer):
    change(customer, State.APPLIED, 0, applied_at=T0)
    assert (partner_center_state(customer).state, partner_center_state(customer).at) == ("applied", T0)

    failed = change(customer, State.NOT_APPLIED, 5, error_message="Refused", error_code="600040",
                    error_request_id="rid-1")
    change(customer, State.SUPERSEDED, 7)  # superseded changes are never the one shown

    state = partner_center_state(customer)

    assert (state.state, state.change_id, state.reason, state.error_code, state.error_request_id) == (
        "not_applied", failed.pk, "Refused", "600040", "rid-1")
    assert state.at is not None and timezone.is_aware(state.at)


def test_a_blocked_change_says_why_and_drift_is_read_with_it(customer):
    change(customer, State.WAITING, 0, blocked=True, error_message="Needs reconnecting")
    PartnerCenterPolicy.objects.create(customer=customer, permissions=["AzureReservedInstances"],
                                       etag="e1", read_at=T0, drift_found_at=T0)

    state = partner_center_state(customer)

    assert (state.state, state.at, state.blocked, state.reason) == ("waiting", T0, True, "Needs reconnecting")
    assert (state.drift, state.drift_found_at) == (["AzureReservedInstances"], T0)


def test_a_policy_without_drift_is_no_drift(customer):
    PartnerCenterPolicy.objects.create(customer=customer, permissions=[], etag="e1", read_at=T0)

    assert partner_center_state(customer).drift is None
