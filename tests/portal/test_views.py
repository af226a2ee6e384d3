"""Signing in and out, the pages every visitor may see, the health checks and the Django admin."""

import uuid
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from activitylog.models import Action, ActivityLogEntry, Source, Status
from customers.models import Customer
from portal.models import Agent
from tests.factories import PASSWORD, AgentFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"


def every_page(customer) -> list[tuple[str, str]]:
    """(method, url) of every page and write endpoint behind the sign-in."""
    tenant = customer.tenant_id
    plan = customer.subscriptions.get()
    assignment = plan.role_assignments.get()
    return [
        ("get", reverse("home")),
        ("get", reverse("customers:list")),
        ("get", reverse("customers:add")),
        ("post", reverse("customers:add")),
        ("get", reverse("customers:account", args=[tenant])),
        ("get", reverse("customers:permissions", args=[tenant])),
        ("post", reverse("customers:permissions", args=[tenant])),
        ("get", reverse("customers:subscriptions", args=[tenant])),
        ("get", reverse("customers:subscription_buy", args=[tenant])),
        ("post", reverse("customers:subscription_buy", args=[tenant])),
        ("post", reverse("customers:subscription_status", args=[tenant, plan.subscription_id])),
        ("get", reverse("customers:role_grant", args=[tenant, plan.subscription_id])),
        ("post", reverse("customers:role_grant", args=[tenant, plan.subscription_id])),
        ("post", reverse("customers:role_remove", args=[tenant, assignment.pk])),
        ("get", reverse("customers:users", args=[tenant])),
        ("get", reverse("customers:user_add", args=[tenant])),
        ("post", reverse("customers:user_add", args=[tenant])),
        ("get", reverse("activitylog:list")),
        ("get", reverse("activitylog:export")),
        ("get", f"/customers/{uuid.uuid4()}/account/"),
    ]


# --- Anonymous visitors ------------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_page(client, customer):
    for method, url in every_page(customer):
        response = getattr(client, method)(url, {"status": "suspended", "offer": "azure_plan"})
        assert response.status_code == HTTPStatus.FOUND, (method, url)
        assert response["Location"].startswith(f"{LOGIN_URL}?next="), (method, url)

    assert not ActivityLogEntry.objects.exists()
    assert customer.subscriptions.get().status == "active"


def test_an_anonymous_visitor_is_sent_back_after_signing_in(client, admin_agent, customer):
    account = reverse("customers:account", args=[customer.tenant_id])
    redirect = client.get(account)["Location"]

    response = client.post(redirect, {"username": "admin@partner.example", "password": PASSWORD})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == account


def test_an_anonymous_visitor_is_sent_to_the_admins_own_sign_in(client):
    response = client.get("/admin/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("url", [LOGIN_URL, "/livez", "/readyz"])
def test_sign_in_and_health_checks_are_public(client, url):
    assert client.get(url).status_code == HTTPStatus.OK


def test_an_unknown_address_is_not_found_for_a_signed_in_agent(client, sales_agent):
    client.force_login(sales_agent)

    response = client.get("/no-such-page/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Page not found" in response.content.decode()


# --- Signing in and out ------------------------------------------------------------------------------


def test_the_sign_in_page_asks_for_an_e_mail_address_and_password(client):
    page = client.get(LOGIN_URL).content.decode()

    assert "E-mail address" in page
    assert 'type="password"' in page
    assert "Contoso Cloud Partner" in page


@pytest.mark.parametrize("typed", ["admin@partner.example", "Admin@Partner.Example",
                                   " admin@partner.example "])
def test_an_agent_signs_in_with_their_e_mail_address(client, admin_agent, typed):
    response = client.post(LOGIN_URL, {"username": typed, "password": PASSWORD})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("customers:list")
    page = client.get(reverse("customers:list")).content.decode()
    assert "admin@partner.example" in page
    assert "Admin agent" in page


@pytest.mark.parametrize("username, password", [
    ("admin@partner.example", "wrong password"),
    ("nobody@partner.example", PASSWORD),
    ("not an e-mail", PASSWORD),
    ("", ""),
    ("admin@partner.example\x00", PASSWORD),
    ("x" * 500, PASSWORD),
])
def test_a_wrong_sign_in_is_refused_with_a_message(client, admin_agent, username, password):
    response = client.post(LOGIN_URL, {"username": username, "password": password})

    assert response.status_code == HTTPStatus.OK
    assert 'role="alert"' in response.content.decode() or "field-error" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_deactivated_agent_cannot_sign_in(client):
    AgentFactory(email="former@partner.example", is_active=False)

    response = client.post(LOGIN_URL, {"username": "former@partner.example", "password": PASSWORD})

    assert response.status_code == HTTPStatus.OK
    assert "_auth_user_id" not in client.session


def test_a_deactivated_agent_is_signed_out_of_an_open_session(client, admin_agent):
    client.force_login(admin_agent)
    Agent.objects.filter(pk=admin_agent.pk).update(is_active=False)

    response = client.get(reverse("customers:list"))

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(LOGIN_URL)


def test_sign_in_ignores_a_next_address_on_another_site(client, admin_agent):
    response = client.post(f"{LOGIN_URL}?next=https://evil.example/", {
        "username": "admin@partner.example", "password": PASSWORD})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("customers:list")


def test_a_signed_in_agent_visiting_sign_in_goes_to_the_customer_list(client, sales_agent):
    client.force_login(sales_agent)

    response = client.get(LOGIN_URL)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("customers:list")


def test_sign_in_needs_a_csrf_token(admin_agent):
    client = Client(enforce_csrf_checks=True)

    response = client.post(LOGIN_URL, {"username": "admin@partner.example", "password": PASSWORD})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "_auth_user_id" not in client.session


def test_an_agent_signs_out(client, sales_agent):
    client.force_login(sales_agent)

    response = client.post(reverse("logout"))

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == LOGIN_URL
    assert client.get(reverse("customers:list")).status_code == HTTPStatus.FOUND


def test_sign_out_is_a_post_not_a_link(client, sales_agent):
    client.force_login(sales_agent)

    response = client.get(reverse("logout"))

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client.get(reverse("customers:list")).status_code == HTTPStatus.OK


def test_sign_out_needs_a_csrf_token(sales_agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales_agent)

    response = client.post(reverse("logout"))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert client.get(reverse("customers:list")).status_code == HTTPStatus.OK


def test_the_top_bar_shows_who_is_signed_in_and_a_sign_out_button(client, helpdesk_agent):
    client.force_login(helpdesk_agent)

    page = client.get(reverse("customers:list")).content.decode()

    assert "helpdesk@partner.example" in page
    assert "Help desk agent" in page
    assert f'action="{reverse("logout")}"' in page


# --- Health checks and request ids -------------------------------------------------------------------


def test_livez_answers_ok(client):
    response = client.get("/livez")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_reports_the_database_ready(client):
    response = client.get("/readyz")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("url", ["/livez", "/readyz"])
def test_health_checks_only_answer_get(client, url):
    assert client.post(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED


@pytest.mark.parametrize("header", ["MS-RequestId", "MS-CorrelationId"])
def test_a_sane_trace_id_is_kept_and_an_odd_or_missing_one_replaced(client, header):
    kept = client.get("/livez", headers={header: "abc-123"})
    replaced = client.get("/livez", headers={header: "<script>"})
    missing = client.get("/livez")

    assert kept[header] == "abc-123"
    assert replaced[header] != "<script>"
    assert uuid.UUID(replaced[header])
    assert uuid.UUID(missing[header])


# --- The Django admin --------------------------------------------------------------------------------


@pytest.fixture
def superuser(db) -> Agent:
    return Agent.objects.create_superuser("root@partner.example", PASSWORD)


@pytest.fixture
def admin_site(client, superuser) -> Client:
    client.force_login(superuser)
    return client


@pytest.fixture
def entry(db) -> ActivityLogEntry:
    return ActivityLogEntry.objects.create(
        action=Action.CREATE_PURCHASE_PERMISSION, status=Status.SUCCEEDED,
        actor_email="admin@partner.example", customer_name="Contoso Ltd", source=Source.WEB,
        resource_type="self_serve_policy", resource_id="AzureSavingsPlan",
        new_value={"permissions": []},
    )


def test_a_superuser_lists_activity_entries_in_the_admin(admin_site, entry):
    response = admin_site.get(reverse("admin:activitylog_activitylogentry_changelist"))

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "admin@partner.example" in page
    assert "Contoso Ltd" in page
    assert "delete_selected" not in page
    assert reverse("admin:activitylog_activitylogentry_add") not in page


def test_the_admin_cannot_add_activity_entries(admin_site):
    response = admin_site.get(reverse("admin:activitylog_activitylogentry_add"))
    posted = admin_site.post(reverse("admin:activitylog_activitylogentry_add"), {
        "action": "add_customer", "status": "succeeded", "actor_email": "x@y.example", "source": "web"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert posted.status_code == HTTPStatus.FORBIDDEN
    assert not ActivityLogEntry.objects.exists()


def test_the_admin_shows_an_entry_read_only(admin_site, entry):
    url = reverse("admin:activitylog_activitylogentry_change", args=[entry.pk])

    response = admin_site.get(url)
    posted = admin_site.post(url, {"actor_email": "someone-else@partner.example", "status": "failed",
                                   "_save": "Save"})

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "AzureSavingsPlan" in page
    assert 'name="_save"' not in page
    assert 'name="actor_email"' not in page
    assert reverse("admin:activitylog_activitylogentry_delete", args=[entry.pk]) not in page
    assert posted.status_code == HTTPStatus.FORBIDDEN
    entry.refresh_from_db()
    assert (entry.actor_email, entry.status) == ("admin@partner.example", Status.SUCCEEDED)


def test_the_admin_cannot_delete_activity_entries(admin_site, entry):
    delete_url = reverse("admin:activitylog_activitylogentry_delete", args=[entry.pk])

    response = admin_site.post(delete_url, {"post": "yes"})
    action = admin_site.post(reverse("admin:activitylog_activitylogentry_changelist"), {
        "action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert action.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
    assert ActivityLogEntry.objects.filter(pk=entry.pk).exists()


def test_customer_data_is_read_only_in_the_admin(admin_site, customer):
    assert admin_site.get(reverse("admin:customers_customer_changelist")).status_code == HTTPStatus.OK
    assert admin_site.get(reverse("admin:customers_customer_add")).status_code == HTTPStatus.FORBIDDEN
    assert admin_site.post(reverse("admin:customers_customer_delete", args=[customer.pk]),
                           {"post": "yes"}).status_code == HTTPStatus.FORBIDDEN
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_a_superuser_adds_an_agent_in_the_admin(admin_site):
    assert admin_site.get(reverse("admin:portal_agent_add")).status_code == HTTPStatus.OK

    response = admin_site.post(reverse("admin:portal_agent_add"), {
        "email": "New.Agent@Partner.example", "full_name": "New Agent", "role": "operator",
        "usable_password": "true", "password1": "a long enough passphrase 42",
        "password2": "a long enough passphrase 42",
    })

    assert response.status_code == HTTPStatus.FOUND
    agent = Agent.objects.get(email="new.agent@partner.example")
    assert agent.role == Agent.Role.OPERATOR
    assert agent.check_password("a long enough passphrase 42")
    assert not agent.is_staff
    client = Client()
    signed_in = client.post(LOGIN_URL, {"username": "new.agent@partner.example",
                                        "password": "a long enough passphrase 42"})
    assert signed_in.status_code == HTTPStatus.FOUND


def test_the_admin_refuses_a_weak_password_for_a_new_agent(admin_site):
    response = admin_site.post(reverse("admin:portal_agent_add"), {
        "email": "weak@partner.example", "role": "operator", "usable_password": "true",
        "password1": "12345678", "password2": "12345678",
    })

    assert response.status_code == HTTPStatus.OK
    assert not Agent.objects.filter(email="weak@partner.example").exists()


def test_a_superuser_changes_an_agents_role_in_the_admin(admin_site, sales_agent):
    url = reverse("admin:portal_agent_change", args=[sales_agent.pk])
    assert admin_site.get(url).status_code == HTTPStatus.OK

    response = admin_site.post(url, {
        "email": "sales@partner.example", "full_name": "Sales", "role": "admin_agent",
        "is_active": "on", "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00",
    })

    assert response.status_code == HTTPStatus.FOUND
    sales_agent.refresh_from_db()
    assert sales_agent.role == Agent.Role.ADMIN_AGENT


def test_an_agent_who_is_not_staff_cannot_use_the_admin(client, admin_agent):
    client.force_login(admin_agent)

    response = client.get(reverse("admin:portal_agent_changelist"))

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/admin/login/")
