"""The outbox: queued in the service's transaction, one lease at a time, bounded retries, then not applied."""

from datetime import timedelta

import pytest
import requests
from django.db import transaction
from django.utils import timezone

from activitylog.services import Origin
from outbox.models import OutboxChange
from outbox.services import enqueue
from outbox.worker import (
    Applied,
    Blocked,
    PollLater,
    Refused,
    Retry,
    attempt,
    claim,
    drain,
    register_handler,
    unregister_handler,
)
from tests.factories import CustomerFactory

State = OutboxChange.State
ORIGIN = Origin.system("tests")


class Script:
    """A test handler: answers what the test scripted, attempt after attempt, and records each call."""

    def __init__(self, *answers):
        self.answers, self.calls, self.settled = list(answers), [], []

    def apply(self, change):
        self.calls.append((change.pk, str(change.ms_request_id), change.desired))
        answer = self.answers.pop(0) if self.answers else Applied()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def settle(self, change):
        assert transaction.get_connection().in_atomic_block
        self.settled.append((change.pk, change.state))


@pytest.fixture
def script(settings):
    settings.OUTBOX_BACKOFF_SECONDS = 0
    made = []

    def make(*answers, kind="test.kind"):
        handler = Script(*answers)
        register_handler(kind, handler.apply, settled=handler.settle)
        made.append(kind)
        return handler
    yield make
    for kind in made:
        unregister_handler(kind)


def queue(customer, desired, kind="test.kind", subject=""):
    with transaction.atomic():
        return enqueue(kind=kind, customer=customer, desired=desired, origin=ORIGIN, subject=subject)


def test_enqueue_belongs_inside_the_services_transaction(transactional_db):
    with pytest.raises(RuntimeError):
        enqueue(kind="test.kind", customer=None, desired={}, origin=ORIGIN)
    assert not OutboxChange.objects.exists()


def test_a_rolled_back_decision_queues_nothing(db, script):
    handler = script()
    customer = CustomerFactory()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        enqueue(kind="test.kind", customer=customer, desired={"on": True}, origin=ORIGIN)
        1 / 0  # noqa: B018
    assert not OutboxChange.objects.exists()
    assert drain() == 0 and handler.calls == []


def test_applied_once_and_settled_in_the_outcomes_transaction(db, script):
    handler = script(Applied({"etag": "e1"}))
    change = queue(CustomerFactory(), {"on": True})
    assert change.correlation_id == "tests" and change.state == State.WAITING
    assert drain() == 1
    change.refresh_from_db()
    assert change.state == State.APPLIED and change.applied_at and change.result == {"etag": "e1"}
    assert change.attempts == 1 and change.leased_by == ""
    assert handler.settled == [(change.pk, State.APPLIED)]
    assert drain() == 0 and len(handler.calls) == 1


def test_several_changes_reach_microsoft_as_the_latest_once(db, script):
    handler = script()
    customer = CustomerFactory()
    first, second, third = (queue(customer, {"n": n}) for n in (1, 2, 3))
    other = queue(CustomerFactory(), {"n": 9})
    assert drain() == 2
    assert sorted(desired["n"] for _pk, _rid, desired in handler.calls) == [3, 9]
    states = dict(OutboxChange.objects.values_list("pk", "state"))
    assert states == {first.pk: State.SUPERSEDED, second.pk: State.SUPERSEDED, third.pk: State.APPLIED,
                      other.pk: State.APPLIED}
    assert OutboxChange.objects.get(pk=first.pk).superseded_by_id == second.pk


def test_a_change_being_applied_is_not_superseded_and_the_next_one_waits_for_it(db, script):
    handler = script()
    customer = CustomerFactory()
    first = queue(customer, {"n": 1})
    claimed = claim("worker-a")
    assert claimed.pk == first.pk
    second = queue(customer, {"n": 2})
    # The newer change of the same customer is not due while the first is being applied.
    assert claim("worker-b") is None
    attempt(claimed, "worker-a")
    assert drain() == 1
    assert [desired["n"] for _pk, _rid, desired in handler.calls] == [1, 2]
    assert set(OutboxChange.objects.values_list("state", flat=True)) == {State.APPLIED}
    second.refresh_from_db()
    assert second.state == State.APPLIED


def test_two_workers_never_hold_one_change_and_an_expired_lease_is_taken_over(db, script, settings):
    handler = script()
    change = queue(CustomerFactory(), {"on": True})
    a = claim("worker-a")
    assert a.pk == change.pk and a.leased_by == "worker-a"
    assert claim("worker-b") is None
    # worker-a dies; its lease expires; worker-b takes over with the same MS-RequestId.
    OutboxChange.objects.filter(pk=change.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    b = claim("worker-b")
    assert b.pk == change.pk and b.attempts == 2 and b.ms_request_id == change.ms_request_id
    attempt(b, "worker-b")
    # worker-a's late outcome is not recorded over worker-b's.
    assert attempt(a, "worker-a") == State.WAITING
    change.refresh_from_db()
    assert change.state == State.APPLIED and change.attempts == 2
    assert handler.settled == [(change.pk, State.APPLIED)]
    assert {rid for _pk, rid, _d in handler.calls} == {str(change.ms_request_id)}


def test_retries_are_bounded_then_not_applied_with_microsofts_code_and_request_id(db, script, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    handler = script(Retry("throttled", status=429, after=0, code="429", request_id="r1"),
                     Retry("unavailable", status=503, code="503", request_id="r2"),
                     Retry("still unavailable", status=500, code="500", request_id="r3"))
    change = queue(CustomerFactory(), {"on": True})
    assert drain(max_wait=5) == 3
    change.refresh_from_db()
    assert change.state == State.NOT_APPLIED and change.attempts == 3
    assert (change.error_code, change.error_request_id, change.error_status) == ("500", "r3", 500)
    assert change.error_message == "still unavailable"
    assert handler.settled == [(change.pk, State.NOT_APPLIED)]
    assert len({rid for _pk, rid, _d in handler.calls}) == 1


def test_retry_after_is_waited_for(db, script):
    script(Retry("throttled", status=429, after=3600))
    change = queue(CustomerFactory(), {"on": True})
    assert drain() == 1
    change.refresh_from_db()
    assert change.state == State.WAITING and change.available_at > timezone.now() + timedelta(minutes=59)
    assert drain() == 0


def test_a_refusal_is_not_applied_at_once(db, script):
    handler = script(Refused("no", status=400, code="600040", request_id="r9"))
    change = queue(CustomerFactory(), {"on": True})
    assert drain() == 1
    change.refresh_from_db()
    assert change.state == State.NOT_APPLIED and change.error_code == "600040" and change.attempts == 1
    assert handler.settled == [(change.pk, State.NOT_APPLIED)]


def test_blocked_waits_without_spending_attempts(db, script, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    blocked = Blocked("needs reconnecting", after=0)
    handler = script(blocked, blocked, Applied())
    change = queue(CustomerFactory(), {"on": True})
    drain(limit=1)
    change.refresh_from_db()
    assert change.state == State.WAITING and change.blocked and change.attempts == 0
    drain(max_wait=5)
    change.refresh_from_db()
    assert change.state == State.APPLIED and not change.blocked and len(handler.calls) == 3


def test_a_long_running_operation_is_polled_through_the_same_queue(db, script, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    handler = script(PollLater(after=0, progress={"operation": "op-1"}),
                     PollLater(after=0, progress={"operation": "op-1", "polls": 2}), Applied({"done": 1}))
    change = queue(CustomerFactory(), {"on": True})
    assert drain(max_wait=5) == 3
    change.refresh_from_db()
    assert change.state == State.APPLIED and change.progress == {"operation": "op-1", "polls": 2}
    assert len(handler.calls) == 3 and handler.settled == [(change.pk, State.APPLIED)]


def test_an_unexpected_error_is_retried_like_a_failure(db, script, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    script(KeyError("boom"), Applied())
    change = queue(CustomerFactory(), {"on": True})
    assert drain(max_wait=5) == 2
    change.refresh_from_db()
    assert change.state == State.APPLIED


def test_the_same_ms_request_id_on_every_retry_reaches_microsoft_once(db, script, simulator):
    """429, then 500, then a dropped connection after the simulator committed: one policy, one id."""
    from tests.simulator.conftest import CONTOSO, PARTNER, scenario, token

    simulator.control.put_state(scenario())
    bearer = token(simulator)

    def push(change):
        try:
            response = requests.post(
                simulator.partner_center_url + "/v1/SelfServePolicy", timeout=10, verify=simulator.ca_path,
                headers={"Authorization": f"Bearer {bearer}", "MS-RequestId": str(change.ms_request_id),
                         "MS-CorrelationId": change.correlation_id},
                json={"selfServeEntity": {"selfServeEntityType": "customer", "tenantID": CONTOSO},
                      "grantor": {"grantorType": "billToPartner", "tenantID": PARTNER},
                      "permissions": [{"resource": "AzureSavingsPlan", "action": "Purchase"}]})
        except requests.ConnectionError as exc:
            raise Retry(str(exc)) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise Retry("again", status=response.status_code, after=0)
        assert response.status_code == 201, response.text
        return Applied({"etag": response.json()["attributes"]["etag"]})

    register_handler("test.push", push)
    try:
        simulator.control.faults([
            {"method": "POST", "path": "SelfServePolicy$", "fault": "429", "times": 1, "retryAfter": 0},
            {"method": "POST", "path": "SelfServePolicy$", "fault": "500", "times": 1},
            {"method": "POST", "path": "SelfServePolicy$", "fault": "drop_after", "times": 1}])
        change = queue(CustomerFactory(tenant_id=CONTOSO), {"on": True}, kind="test.push")
        assert drain(max_wait=10) == 4
    finally:
        unregister_handler("test.push")
    change.refresh_from_db()
    assert change.state == State.APPLIED and change.attempts == 4
    posts = [r for r in simulator.control.requests() if r["method"] == "POST"]
    assert [r["msRequestId"] for r in posts] == [str(change.ms_request_id)] * 4
    assert {r["msCorrelationId"] for r in posts} == {"tests"}
    policies = simulator.control.get_state()["customers"]
    contoso = next(c for c in policies if c["tenantId"] == CONTOSO)
    assert contoso["selfServePolicy"]["permissions"] == ["AzureSavingsPlan"]
