"""Allow / Don't allow reach Partner Center's SelfServePolicy through the outbox, over real HTTPS."""

import pytest

from activitylog.models import Action, ActivityLogEntry, Source, Status
from activitylog.services import Origin
from customers.models import Customer
from microsoft.models import Connection
from microsoft.scenario import CustomerBuilder
from microsoft.sync import run_sync
from outbox.models import OutboxChange
from outbox.worker import drain
from permissions.models import PartnerCenterPolicy, Resource
from permissions.services import set_purchase_permissions

from .conftest import PARTNER

RI, SP = Resource.AZURE_RESERVATIONS.value, Resource.AZURE_SAVINGS_PLAN.value
State = OutboxChange.State
POLICY_WRITES = ("POST", "PUT", "DELETE")


@pytest.fixture
def contoso(microsoft, settings):
    settings.OUTBOX_BACKOFF_SECONDS = 0
    settings.MICROSOFT_MAX_RETRIES = 0
    builder = CustomerBuilder("Contoso")
    owner = builder.user("Alex Wilber")
    builder.assign(builder.azure_subscription(builder.subscription()), owner)
    microsoft.load([builder])
    run_sync()
    microsoft.sim.control.clear_requests()
    return Customer.objects.get(tenant_id=builder.tenant_id)


def decide(agent, customer, correlation="corr-1", **allowed):
    origin = Origin(source=Source.WEB, request_id=f"req-{correlation}", correlation_id=correlation)
    set_purchase_permissions(actor=agent, customer=customer, allowed=allowed, origin=origin)
    return OutboxChange.objects.order_by("-id").first()


def in_partner_center(sim, customer) -> list[str] | None:
    doc = next(c for c in sim.control.get_state()["customers"] if c["tenantId"] == str(customer.tenant_id))
    policy = doc.get("selfServePolicy")
    return None if policy is None else policy["permissions"]


def writes(sim):
    return [r for r in sim.control.requests()
            if "SelfServePolicy" in r["path"] and r["method"] in POLICY_WRITES]


def pushes(customer):
    return ActivityLogEntry.objects.filter(customer=customer, source=Source.MICROSOFT,
                                           resource_type="self_serve_policy").order_by("id")


def policy_body(customer, permissions, etag='"stale"'):
    return {"id": f"{PARTNER.tenant_id}_{customer.tenant_id}",
            "selfServeEntity": {"selfServeEntityType": "customer", "tenantID": str(customer.tenant_id)},
            "grantor": {"grantorType": "billToPartner", "tenantID": PARTNER.tenant_id},
            "permissions": [{"resource": r, "action": "Purchase"} for r in permissions],
            "attributes": {"etag": etag, "objectType": "SelfServePolicy"}}


def test_allow_then_both_then_none_post_put_delete_each_logged_with_the_decisions_correlation_id(
        contoso, admin_agent, microsoft):
    sim = microsoft.sim
    first = decide(admin_agent, contoso, "corr-a", **{RI: True})
    assert drain() == 1
    assert in_partner_center(sim, contoso) == [RI]
    first.refresh_from_db()
    assert first.state == State.APPLIED and first.result["operation"] == "create"
    decide(admin_agent, contoso, "corr-b", **{SP: True})
    decide(admin_agent, contoso, "corr-c", **{RI: False, SP: False})
    assert drain() == 1  # two decisions, the latest desired state once: nothing allowed → DELETE
    assert in_partner_center(sim, contoso) is None
    assert [(w["method"], w["msCorrelationId"]) for w in writes(sim)] == [("POST", "corr-a"),
                                                                         ("DELETE", "corr-c")]
    entries = list(pushes(contoso))
    assert [(e.action, e.status, e.correlation_id) for e in entries] == [
        (Action.CREATE_SELF_SERVE_POLICY, Status.SUCCEEDED, "corr-a"),
        (Action.DELETE_SELF_SERVE_POLICY, Status.SUCCEEDED, "corr-c")]
    decision = ActivityLogEntry.objects.get(action=Action.CREATE_PURCHASE_PERMISSION, correlation_id="corr-a")
    assert decision.source == Source.WEB  # the decision's own entry stays as it is
    assert entries[0].new_value == {"permissions": [{"resource": RI, "action": "Purchase"}]}
    assert PartnerCenterPolicy.objects.get(customer=contoso).permissions == []

    decide(admin_agent, contoso, "corr-d", **{RI: True})
    decide(admin_agent, contoso, "corr-e", **{SP: True})
    assert drain() == 1
    decide(admin_agent, contoso, "corr-f", **{RI: False})
    assert drain() == 1
    assert in_partner_center(sim, contoso) == [SP]
    assert [w["method"] for w in writes(sim)][-2:] == ["POST", "PUT"]
    assert pushes(contoso).last().action == Action.UPDATE_SELF_SERVE_POLICY


def test_409_600041_on_post_reads_then_puts(contoso, admin_agent, microsoft):
    sim = microsoft.sim
    # Someone creates the policy in Partner Center between our read and our write.
    decide(admin_agent, contoso, **{SP: True})
    assert drain() == 1
    sim.control.clear_requests()
    sim.control.faults([{"method": "GET", "path": "SelfServePolicy$", "fault": "canned", "times": 1,
                         "body": {"totalCount": 0, "items": [], "attributes": {"objectType": "Collection"}}}])
    change = decide(admin_agent, contoso, "corr-409", **{RI: True})
    assert drain() == 1
    change.refresh_from_db()
    assert change.state == State.APPLIED and change.attempts == 1
    assert [(w["method"], w["status"]) for w in writes(sim)] == [("POST", 409), ("PUT", 200)]
    assert {w["msRequestId"] for w in writes(sim)} == {str(change.ms_request_id)}
    assert in_partner_center(sim, contoso) == [RI, SP]
    assert pushes(contoso).last().action == Action.UPDATE_SELF_SERVE_POLICY


def test_404_600039_on_put_posts(contoso, admin_agent, microsoft):
    sim = microsoft.sim
    # Our read still shows a policy that someone has deleted meanwhile.
    sim.control.faults([{"method": "GET", "path": "SelfServePolicy$", "fault": "canned", "times": 1,
                         "body": {"totalCount": 1, "items": [policy_body(contoso, [SP])],
                                  "attributes": {"objectType": "Collection"}}}])
    change = decide(admin_agent, contoso, **{RI: True})
    assert drain() == 1
    change.refresh_from_db()
    assert change.state == State.APPLIED
    assert [(w["method"], w["status"]) for w in writes(sim)] == [("PUT", 404), ("POST", 201)]
    assert in_partner_center(sim, contoso) == [RI]
    assert pushes(contoso).last().action == Action.CREATE_SELF_SERVE_POLICY


def test_a_stale_etag_412_reads_again_and_retries(contoso, admin_agent, microsoft):
    sim = microsoft.sim
    decide(admin_agent, contoso, **{SP: True})
    drain()
    sim.control.clear_requests()
    sim.control.faults([{"method": "GET", "path": "SelfServePolicy$", "fault": "canned", "times": 1,
                         "body": {"totalCount": 1, "items": [policy_body(contoso, [SP], '"old-etag"')],
                                  "attributes": {"objectType": "Collection"}}}])
    change = decide(admin_agent, contoso, **{RI: True})
    assert drain() == 1
    change.refresh_from_db()
    assert change.state == State.APPLIED
    assert [(w["method"], w["status"]) for w in writes(sim)] == [("PUT", 412), ("PUT", 200)]
    assert in_partner_center(sim, contoso) == [RI, SP]


def test_429_then_5xx_then_a_dropped_answer_after_the_commit_applied_once_with_one_request_id(
        contoso, admin_agent, microsoft):
    sim = microsoft.sim
    sim.control.faults([
        {"method": "POST", "path": "SelfServePolicy$", "fault": "429", "retryAfter": 0},
        {"method": "POST", "path": "SelfServePolicy$", "fault": "503", "retryAfter": 0},
        {"method": "POST", "path": "SelfServePolicy$", "fault": "drop_after"}])
    change = decide(admin_agent, contoso, **{RI: True})
    assert drain(max_wait=10) == 4
    change.refresh_from_db()
    assert change.state == State.APPLIED and change.attempts == 4
    posts = writes(sim)
    assert [p["fault"] for p in posts] == ["429", "503", "drop_after"]  # the 4th attempt read it done
    assert {p["msRequestId"] for p in posts} == {str(change.ms_request_id)}
    audit = [r for r in sim.control.get_state().get("auditRecords", [])
             if r.get("operationType") == "create_self_serve_policy"]
    assert len(audit) == 1  # Partner Center applied it once
    assert [e.action for e in pushes(contoso)] == [Action.CREATE_SELF_SERVE_POLICY]


def test_an_html_error_page_is_retried_then_not_applied_with_the_reason(contoso, admin_agent, microsoft,
                                                                       settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    sim = microsoft.sim
    sim.control.faults([{"method": "POST", "path": "SelfServePolicy$", "fault": "html", "times": None}])
    change = decide(admin_agent, contoso, **{RI: True})
    assert drain(max_wait=10) == 2
    change.refresh_from_db()
    assert change.state == State.NOT_APPLIED and change.error_status == 502
    assert "HTML page" in change.error_message and change.error_request_id == str(change.ms_request_id)
    entry = pushes(contoso).get()
    assert (entry.action, entry.status) == (Action.CREATE_SELF_SERVE_POLICY, Status.FAILED)
    assert "HTML page" in entry.failure_reason and str(change.ms_request_id) in entry.failure_reason
    assert in_partner_center(sim, contoso) is None


def test_a_refusal_is_not_applied_at_once_with_microsofts_code(contoso, admin_agent, microsoft):
    sim = microsoft.sim
    sim.control.faults([{"method": "POST", "path": "SelfServePolicy$", "fault": "canned", "status": 400,
                         "body": {"code": "600040", "data": [], "source": "PartnerFD",
                                  "description": "Self-serve policy identifier is incorrect."}}])
    change = decide(admin_agent, contoso, **{RI: True})
    assert drain() == 1
    change.refresh_from_db()
    assert change.state == State.NOT_APPLIED and change.error_code == "600040" and change.attempts == 1


def test_credentials_revoked_mid_queue_wait_and_nothing_is_lost(contoso, admin_agent, microsoft, settings):
    sim = microsoft.sim
    settings.OUTBOX_BLOCKED_SECONDS = 0
    sim.control.settings(revokeRefreshTokens="expired")
    from microsoft.tokens import forget_all

    forget_all()
    first = decide(admin_agent, contoso, **{RI: True})
    drain(limit=1)
    first.refresh_from_db()
    assert first.state == State.WAITING and first.blocked and first.attempts == 0
    assert Connection.get().needs_reconnecting
    assert in_partner_center(sim, contoso) is None and writes(sim) == []
    # Reconnected: the same change goes through.
    sim.control.settings(revokeRefreshTokens=None)
    from microsoft import credentials

    credentials.store_refresh_token(microsoft.refresh_token)
    assert drain() == 1
    first.refresh_from_db()
    assert first.state == State.APPLIED and not first.blocked
    assert in_partner_center(sim, contoso) == [RI]
