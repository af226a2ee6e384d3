"""What the Account page says about Partner Center, Retry, and drift both ways, against the simulator."""

from django.urls import reverse

from activitylog.models import Action, ActivityLogEntry, Source, Status
from microsoft.sync import run_sync
from outbox.models import OutboxChange
from outbox.worker import drain
from permissions.models import PartnerCenterPolicy, PurchasePermission

from .test_self_serve_push import RI, SP, contoso, decide, in_partner_center, pushes, writes  # noqa: F401

State = OutboxChange.State


def account(client, customer):
    return client.get(reverse("customers:account", args=[customer.tenant_id])).content.decode()


def test_waiting_then_applied_then_not_applied_with_retry_for_admin_agents(
        contoso, admin_agent, sales_agent, microsoft, signed_in, settings):  # noqa: F811
    settings.OUTBOX_MAX_ATTEMPTS = 1
    client = signed_in(admin_agent)
    assert "No change from the portal has been sent to Partner Center yet." in account(client, contoso)
    decide(admin_agent, contoso, **{RI: True})
    assert "Waiting to apply" in account(client, contoso)
    drain()
    assert "Applied in Partner Center" in account(client, contoso)

    microsoft.sim.control.faults([{"method": "PUT", "path": "SelfServePolicy/", "fault": "500"}])
    change = decide(admin_agent, contoso, **{SP: True})
    drain()
    change.refresh_from_db()
    assert change.state == State.NOT_APPLIED
    page = account(client, contoso)
    assert "Not applied" in page and "Microsoft is unavailable (HTTP 500)" in page
    assert reverse("customers:retry_push", args=[contoso.tenant_id]) in page
    sales_page = account(signed_in(sales_agent), contoso)
    assert "Not applied" in sales_page
    assert reverse("customers:retry_push", args=[contoso.tenant_id]) not in sales_page

    # Sales is refused and logged; nothing is queued again.
    response = signed_in(sales_agent).post(reverse("customers:retry_push", args=[contoso.tenant_id]))
    assert response.status_code == 403
    failed = ActivityLogEntry.objects.get(action=Action.RETRY_MICROSOFT_CHANGE)
    assert failed.status == Status.FAILED and failed.actor == sales_agent
    change.refresh_from_db()
    assert change.state == State.NOT_APPLIED

    response = signed_in(admin_agent).post(reverse("customers:retry_push", args=[contoso.tenant_id]))
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.state == State.WAITING and change.attempts == 0
    assert drain() == 1
    change.refresh_from_db()
    assert change.state == State.APPLIED
    assert in_partner_center(microsoft.sim, contoso) == [RI, SP]
    retried = [r for r in writes(microsoft.sim) if r["method"] == "PUT"]
    assert {r["msRequestId"] for r in retried} == {str(change.ms_request_id)}

    # Nothing to retry now: a clear message, no entry.
    retries = ActivityLogEntry.objects.filter(status=Status.SUCCEEDED, action=Action.RETRY_MICROSOFT_CHANGE)
    before = retries.count()
    response = signed_in(admin_agent).post(reverse("customers:retry_push", args=[contoso.tenant_id]),
                                           follow=True)
    assert "Nothing to retry" in response.content.decode()
    assert retries.count() == before


def change_in_partner_center(sim, customer, permissions):
    state = sim.control.get_state()
    for doc in state["customers"]:
        if doc["tenantId"] == str(customer.tenant_id):
            if permissions:
                doc["selfServePolicy"] = {"permissions": permissions}
            else:
                doc.pop("selfServePolicy", None)
    sim.control.put_state(state)
    sim.control.clear_requests()


def test_drift_is_logged_once_warned_and_left_alone_then_the_portals_setting_is_applied(
        contoso, admin_agent, helpdesk_agent, microsoft, signed_in):  # noqa: F811
    sim = microsoft.sim
    decide(admin_agent, contoso, **{RI: True})
    drain()
    change_in_partner_center(sim, contoso, [])  # someone turned it off in Partner Center
    run_sync()
    run_sync()
    drift = ActivityLogEntry.objects.filter(action=Action.SELF_SERVE_POLICY_DRIFT)
    assert drift.count() == 1 and "drift" in drift.get().action
    assert drift.get().old_value == {"portal": [{"resource": RI, "action": "Purchase"}]}
    assert drift.get().new_value == {"partnerCenter": []}
    assert writes(sim) == []  # Partner Center left alone
    page = account(signed_in(admin_agent), contoso)
    assert "Partner Center differs from the portal" in page
    assert "In Partner Center: Don't allow customer to purchase" in page
    helpdesk_page = account(signed_in(helpdesk_agent), contoso)
    assert "Partner Center differs from the portal" in helpdesk_page
    assert "Apply the portal" not in helpdesk_page

    url = reverse("customers:apply_portal_setting", args=[contoso.tenant_id])
    assert signed_in(helpdesk_agent).post(url).status_code == 403
    assert ActivityLogEntry.objects.get(action=Action.APPLY_PORTAL_SETTING).status == Status.FAILED
    assert not OutboxChange.objects.filter(state=State.WAITING).exists()
    assert signed_in(admin_agent).post(url).status_code == 302
    drain()
    assert in_partner_center(sim, contoso) == [RI]
    assert pushes(contoso).last().action == Action.CREATE_SELF_SERVE_POLICY
    assert PartnerCenterPolicy.objects.get(customer=contoso).drift_found_at is None
    assert "Partner Center differs" not in account(signed_in(admin_agent), contoso)


def test_drift_accepted_becomes_the_portals_setting_through_the_permission_service(
        contoso, admin_agent, sales_agent, microsoft, signed_in):  # noqa: F811
    sim = microsoft.sim
    change_in_partner_center(sim, contoso, [SP])  # someone turned savings plans on in Partner Center
    run_sync()
    assert ActivityLogEntry.objects.filter(action=Action.SELF_SERVE_POLICY_DRIFT).count() == 1
    url = reverse("customers:accept_partner_center", args=[contoso.tenant_id])
    assert signed_in(sales_agent).post(url).status_code == 403
    refused = ActivityLogEntry.objects.filter(action=Action.CREATE_PURCHASE_PERMISSION, status=Status.FAILED)
    assert refused.count() == 1 and not PurchasePermission.objects.exists()
    assert signed_in(admin_agent).post(url).status_code == 302
    assert list(PurchasePermission.objects.values_list("resource", flat=True)) == [SP]
    decision = ActivityLogEntry.objects.get(action=Action.CREATE_PURCHASE_PERMISSION, status=Status.SUCCEEDED)
    assert decision.actor == admin_agent and decision.source == Source.WEB
    drain()
    assert writes(sim) == []  # Partner Center already holds it: nothing to write
    assert PartnerCenterPolicy.objects.get(customer=contoso).drift_found_at is None


def test_a_difference_while_our_change_is_pending_is_not_drift(contoso, admin_agent, microsoft):  # noqa: F811
    decide(admin_agent, contoso, **{RI: True})
    run_sync()  # Partner Center has nothing yet; our change waits
    assert not ActivityLogEntry.objects.filter(action=Action.SELF_SERVE_POLICY_DRIFT).exists()
    drain()
    run_sync()
    assert not ActivityLogEntry.objects.filter(action=Action.SELF_SERVE_POLICY_DRIFT).exists()


def test_the_api_customer_document_says_the_same(contoso, admin_agent, microsoft):  # noqa: F811
    from django.test import Client

    from tests.api.conftest import Api, token_for

    api = Api(Client(), token_for(admin_agent), admin_agent)
    url = f"/v1/customers/{contoso.tenant_id}"
    assert api.get(url).json()["partnerCenter"]["state"] is None
    decide(admin_agent, contoso, **{RI: True})
    waiting = api.get(url).json()["partnerCenter"]
    assert waiting["state"] == "waiting" and waiting["at"] and waiting["drift"] is None
    drain()
    applied = api.get(url).json()["partnerCenter"]
    assert applied["state"] == "applied" and applied["at"]


def test_the_connection_page_lists_pending_and_failed_changes_and_needs_reconnecting(
        contoso, admin_agent, microsoft, signed_in, settings):  # noqa: F811
    from microsoft.models import Connection
    from microsoft.tokens import forget_all

    settings.OUTBOX_BLOCKED_SECONDS = 3600
    client = signed_in(admin_agent)
    page = client.get(reverse("microsoft:connection")).content.decode()
    assert "Everything the portal decided has been applied in Microsoft." in page
    microsoft.sim.control.settings(revokeRefreshTokens="expired")
    forget_all()
    change = decide(admin_agent, contoso, **{RI: True})
    drain()
    change.refresh_from_db()
    assert change.state == State.WAITING and change.blocked and Connection.get().needs_reconnecting
    page = client.get(reverse("microsoft:connection")).content.decode()
    assert "Needs reconnecting." in page and "These changes wait until someone reconnects" in page
    assert "Contoso" in page and "Waiting to apply" in page
    assert writes(microsoft.sim) == []
