"""The connection page, Sync now, and live mode's links instead of local writes."""

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from activitylog.models import ActivityLogEntry
from customers.models import Customer, Subscription
from microsoft import credentials
from microsoft.models import Connection, SyncError, SyncRun
from microsoft.sync import run_sync

from .test_sync import ready_customer

SECRET_REFRESH_TOKEN = "0.AbCdEf-refresh-token-that-must-never-show"


@pytest.fixture
def page(signed_in):
    def get(agent):
        return signed_in(agent).get(reverse("microsoft:connection"))
    return get


def test_admin_agents_and_operators_see_the_connection_page(page, admin_agent, operator):
    for agent in (admin_agent, operator):
        assert page(agent).status_code == 200


def test_sales_and_help_desk_agents_do_not(page, sales_agent, helpdesk_agent):
    for agent in (sales_agent, helpdesk_agent):
        assert page(agent).status_code == 403


def test_the_page_says_a_token_is_stored_and_never_shows_it(page, admin_agent, db):
    credentials.store_refresh_token(SECRET_REFRESH_TOKEN)
    stored = Connection.get().refresh_token_encrypted
    assert SECRET_REFRESH_TOKEN not in stored  # encrypted at rest
    assert credentials.refresh_token() == SECRET_REFRESH_TOKEN

    response = page(admin_agent)

    assert "Stored (encrypted)" in response.text
    assert SECRET_REFRESH_TOKEN not in response.text and stored not in response.text


def test_the_page_shows_the_last_sync_and_recent_errors(microsoft, page, admin_agent):
    broken, fine = ready_customer("Broken"), ready_customer("Fine")
    microsoft.load([broken, fine])
    microsoft.sim.control.faults([{"method": "GET", "path": f"customers/{broken.tenant_id}/subscriptions$",
                                   "fault": "html", "times": 100}])
    run_sync()

    response = page(admin_agent)

    assert "Succeeded with errors" in response.text
    error = SyncError.objects.get()
    assert error.request_id and error.request_id in response.text
    assert "HTML" in response.text


def test_needs_reconnecting_is_shown_and_the_command_exits_non_zero(microsoft, page, admin_agent):
    from django.core.management import CommandError, call_command

    microsoft.load([ready_customer()])
    microsoft.sim.control.settings(revokeRefreshTokens="mfa_required")

    with pytest.raises(CommandError, match="needs reconnecting"):
        call_command("sync_microsoft")

    response = page(admin_agent)
    assert "Needs reconnecting." in response.text
    assert "connect_microsoft" in response.text
    assert SyncRun.objects.get().outcome == SyncRun.Outcome.NEEDS_RECONNECTING
    # Other pages keep working.
    assert page(admin_agent).status_code == 200


def test_connect_microsoft_stores_a_token_from_standard_input(db, monkeypatch, capsys):
    import io

    from django.core.management import call_command

    Connection.objects.create(pk=1, needs_reconnecting=True, reconnect_reason="AADSTS700082")
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET_REFRESH_TOKEN + "\n"))

    call_command("connect_microsoft")

    assert credentials.refresh_token() == SECRET_REFRESH_TOKEN
    assert not Connection.get().needs_reconnecting
    assert SECRET_REFRESH_TOKEN not in capsys.readouterr().out


def test_connect_microsoft_refuses_empty_input(db, monkeypatch):
    import io

    from django.core.management import CommandError, call_command

    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    with pytest.raises(CommandError, match="nothing was stored"):
        call_command("connect_microsoft")
    assert not Connection.get().has_refresh_token


def test_sync_now_goes_through_the_worker_queue(signed_in, admin_agent):
    response = signed_in(admin_agent).post(reverse("microsoft:sync"))

    assert response.status_code == 302
    task = DBTaskResult.objects.get()
    assert task.task_path == "microsoft.tasks.sync_microsoft"
    assert not SyncRun.objects.exists()  # the worker runs it, not the web request


def test_sync_now_for_one_customer_from_its_account_page(signed_in, admin_agent, customer):
    account = reverse("customers:account", args=[customer.tenant_id])
    client = signed_in(admin_agent)
    assert "Sync now" in client.get(account).text

    response = client.post(reverse("microsoft:sync"), {"customer": str(customer.tenant_id), "next": account})

    assert response.status_code == 302 and response.url == account
    assert DBTaskResult.objects.get().args_kwargs["kwargs"] == {"customer": str(customer.tenant_id)}


def test_only_admin_agents_may_sync_now(signed_in, non_admin_agent, customer):
    client = signed_in(non_admin_agent)
    assert "Sync now" not in client.get(reverse("customers:account", args=[customer.tenant_id])).text
    assert client.post(reverse("microsoft:sync")).status_code == 403
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db(transaction=True)  # the worker closes its database connections between tasks
def test_the_queued_sync_runs_in_the_worker(microsoft, signed_in, admin_agent):
    from django.core.management import call_command

    microsoft.load([ready_customer()])
    signed_in(admin_agent).post(reverse("microsoft:sync"))

    call_command("db_worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)

    assert SyncRun.objects.get().outcome == SyncRun.Outcome.SUCCEEDED
    assert Customer.objects.count() == 1


def test_the_periodic_sync_is_scheduled_once(db):
    from microsoft.tasks import schedule

    assert schedule() is True
    assert schedule() is False
    assert DBTaskResult.objects.count() == 1


@pytest.fixture
def live(settings):
    settings.MICROSOFT_CLOUD = "live"


def test_in_live_mode_add_customer_links_to_partner_center_and_writes_nothing(live, signed_in, admin_agent):
    client = signed_in(admin_agent)
    page = client.get(reverse("customers:add"))
    assert page.status_code == 200 and "partner.microsoft.com" in page.text and "Sync now" in page.text

    response = client.post(reverse("customers:add"),
                           {"company_name": "Contoso", "domain": "c.onmicrosoft.com"})

    assert response.status_code == 409
    assert not Customer.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_in_live_mode_buying_and_granting_queue_for_microsoft_and_write_no_mirror_row(
        live, signed_in, admin_agent, customer):
    from outbox.models import OutboxChange

    client = signed_in(admin_agent)
    subscription = customer.subscriptions.get()
    buy = reverse("customers:subscription_buy", args=[customer.tenant_id])
    grant = reverse("customers:role_grant", args=[customer.tenant_id, subscription.subscription_id])
    assert client.get(buy).status_code == 200 and client.get(grant).status_code == 200

    assert client.post(buy, {"friendly_name": "Another plan"}).status_code == 302

    assert Subscription.objects.count() == 1
    assert OutboxChange.objects.get().kind == "partnercenter.azure_plan_order"


def test_in_live_mode_other_roles_are_still_refused(live, signed_in, non_admin_agent):
    assert signed_in(non_admin_agent).get(reverse("customers:add")).status_code == 403


def test_the_subscriptions_page_names_synchronised_principals(microsoft, signed_in, admin_agent):
    from microsoft.scenario import CustomerBuilder

    builder = CustomerBuilder("Contoso")
    azure = builder.azure_subscription(builder.subscription(), name="contoso-production")
    builder.assign(azure, builder.user("Alex Wilber"))
    builder.assign(azure, builder.group("Cloud admins"), "Group")
    microsoft.load([builder])
    run_sync()
    customer = Customer.objects.get()

    page = signed_in(admin_agent).get(reverse("customers:subscriptions", args=[customer.tenant_id])).text

    assert "Alex Wilber" in page and "alexwilber@contoso.onmicrosoft.com" in page
    assert "Cloud admins" in page and "contoso-production" in page
    assert "Foreign group (partner)" in page
    # The customer's own are removed through Azure (issue 11 step 7); the partner's AOBO Owner is not.
    from customers.models import RoleAssignment
    from outbox.models import OutboxChange

    assert page.count('class="link-button danger"') == 2
    partner = RoleAssignment.objects.get(principal_type="ForeignGroup")
    response = signed_in(admin_agent).post(reverse("customers:role_remove",
                                                   args=[customer.tenant_id, partner.pk]),
                                           {"confirmed": "on"}, follow=True)
    assert "and groups&#x27; roles are removed here." in response.text
    assert RoleAssignment.objects.filter(pk=partner.pk).exists() and not OutboxChange.objects.exists()


def test_seed_demo_fills_the_simulator_and_the_portal_syncs_from_it(db, tmp_path, settings, monkeypatch):
    from django.core.management import call_command

    from permissions.models import PurchasePermission
    from portal.models import Agent

    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-for-tests")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    settings.MICROSOFT_BACKOFF_SECONDS = 0.02
    call_command("seed_demo", simulator=True, simulator_state=str(tmp_path), verbosity=0)

    assert Agent.objects.count() == 4
    from microsoft.models import SyncError
    assert Customer.objects.count() == 42, list(SyncError.objects.values_list("message", flat=True))
    assert not Customer.objects.filter(synced_at__isnull=True).exists()
    from permissions.selectors import purchase_readiness

    readiness = {c.company_name: purchase_readiness(c).ready for c in Customer.objects.all()}
    assert readiness["PT Nusantara Data Prima"] is True            # User Owner
    assert readiness["Società Agricola Bellavista"] is True        # the first ready one: a Group Owner
    assert readiness["Øresund Logistik ApS"] is False              # suspended plan
    assert readiness["CV Maju Bersama"] is False                   # Microsoft 365 only
    assert readiness["PT Mitra Solusi Digital"] is True            # Azure Global
    assert readiness["Dvořák Stavby s.r.o."] is False              # Owner removed: only the ForeignGroup
    assert readiness["Łódzkie Zakłady Tekstylne Sp. z o.o."] is False  # Contributor and a service principal
    assert PurchasePermission.objects.filter(granted_by=None).exists()  # adopted from Partner Center
    assert ActivityLogEntry.objects.filter(source="microsoft").count() > 42


def test_the_api_describes_a_synchronised_customer(microsoft, admin_agent):
    from django.test import Client

    from tests.api.conftest import Api, token_for

    builder = ready_customer("Contoso")
    builder.subscription(status="expired", name="Old plan")
    microsoft.load([builder])
    run_sync()
    api = Api(Client(), token_for(admin_agent), admin_agent)

    body = api.get(f"/v1/customers/{builder.tenant_id}").json()

    assert body["readiness"]["ready"] is True
    by_status = {s["status"]: s for s in body["subscriptions"]}
    assert by_status["active"]["owners"] == ["alexwilber@contoso.onmicrosoft.com"]
    assert by_status["expired"]["isAzure"] is True and by_status["expired"]["owners"] == []


def test_the_account_checklist_links_to_the_azure_subscriptions_access_control(microsoft, signed_in,
                                                                               admin_agent):
    from microsoft.scenario import CustomerBuilder

    builder = CustomerBuilder("No owner yet")
    azure = builder.azure_subscription(builder.subscription(), name="noowner-production")
    microsoft.load([builder])
    run_sync()

    page = signed_in(admin_agent).get(reverse("customers:account", args=[builder.tenant_id])).text

    assert f"portal.azure.com/#@{builder.tenant_id}/resource/subscriptions/{azure['id']}/users" in page
