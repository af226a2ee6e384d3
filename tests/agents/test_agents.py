"""Agents managed in the portal: the services, the Agents page for every role, the Django admin and
manage.py create_agent. Every change and every refusal is one activity log entry."""

import io
from http import HTTPStatus

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from activitylog.models import Action, ActivityLogEntry, Source, Status
from agents import services
from portal.models import Agent
from tests.factories import PASSWORD, AgentFactory

pytestmark = pytest.mark.django_db

ADMIN = Agent.Role.ADMIN_AGENT.value
SALES = Agent.Role.SALES_AGENT.value
OTHERS = [Agent.Role.SALES_AGENT.value, Agent.Role.HELPDESK_AGENT.value, Agent.Role.OPERATOR.value]


def signs_in(email: str) -> bool:
    response = Client().post(reverse("login"), {"username": email, "password": PASSWORD})
    return response.status_code == HTTPStatus.FOUND


def entries(action=None):
    qs = ActivityLogEntry.objects.order_by("id")
    return list(qs.filter(action=action) if action else qs)


# --- Services ------------------------------------------------------------------------------------


def test_add_agent_creates_the_agent_and_one_entry(admin_agent, origin):
    agent = services.add_agent(actor=admin_agent, email=" New.Agent@Partner.Example ", role=SALES,
                               full_name="Nia", origin=origin)
    assert agent.email == "new.agent@partner.example"
    assert agent.role == SALES and agent.is_active and not agent.has_usable_password()
    [entry] = entries()
    assert (entry.action, entry.status, entry.actor, entry.resource_type, entry.resource_id) == (
        Action.ADD_AGENT, Status.SUCCEEDED, admin_agent, "agent", "new.agent@partner.example")
    assert entry.new_value == {"email": "new.agent@partner.example", "full_name": "Nia", "role": SALES,
                               "is_active": True, "entra": False}


def test_add_agent_refuses_a_taken_address_without_a_second_agent(admin_agent, sales_agent, origin):
    with pytest.raises(ValidationError):
        services.add_agent(actor=admin_agent, email="SALES@partner.example", role=ADMIN, origin=origin)
    assert Agent.objects.filter(email__iexact="sales@partner.example").count() == 1
    [entry] = entries()
    assert entry.status == Status.FAILED and entry.action == Action.ADD_AGENT
    assert "already uses" in entry.failure_reason
    sales_agent.refresh_from_db()
    assert sales_agent.role == SALES


@pytest.mark.parametrize("role", OTHERS)
def test_only_admins_add_agents_and_the_refusal_is_logged(agents, role, origin):
    with pytest.raises(PermissionDenied):
        services.add_agent(actor=agents[role], email="x@partner.example", role=ADMIN, origin=origin)
    assert not Agent.objects.filter(email="x@partner.example").exists()
    [entry] = entries()
    assert (entry.action, entry.status, entry.actor) == (Action.ADD_AGENT, Status.FAILED, agents[role])


def test_change_role_logs_old_and_new(admin_agent, sales_agent, origin):
    assert services.change_role(actor=admin_agent, agent=sales_agent, role=ADMIN, origin=origin)
    sales_agent.refresh_from_db()
    assert sales_agent.role == ADMIN
    [entry] = entries()
    assert entry.action == Action.UPDATE_AGENT_ROLE and entry.status == Status.SUCCEEDED
    assert (entry.old_value["role"], entry.new_value["role"]) == (SALES, ADMIN)
    # The same role again changes nothing and logs nothing.
    assert not services.change_role(actor=admin_agent, agent=sales_agent, role=ADMIN, origin=origin)
    assert len(entries()) == 1


def test_an_admin_cannot_demote_or_deactivate_themselves(admin_agent, origin):
    with pytest.raises(PermissionDenied):
        services.change_role(actor=admin_agent, agent=admin_agent, role=SALES, origin=origin)
    with pytest.raises(PermissionDenied):
        services.deactivate_agent(actor=admin_agent, agent=admin_agent, origin=origin)
    admin_agent.refresh_from_db()
    assert admin_agent.role == ADMIN and admin_agent.is_active
    assert [(e.action, e.status) for e in entries()] == [
        (Action.UPDATE_AGENT_ROLE, Status.FAILED), (Action.DEACTIVATE_AGENT, Status.FAILED)]
    assert all("your own role" in e.failure_reason for e in entries())


def test_an_unknown_role_is_refused_and_logged(admin_agent, sales_agent, origin):
    with pytest.raises(ValidationError):
        services.change_role(actor=admin_agent, agent=sales_agent, role="superhero", origin=origin)
    sales_agent.refresh_from_db()
    assert sales_agent.role == SALES
    [entry] = entries()
    assert entry.status == Status.FAILED and entry.new_value == {"role": "superhero"}


def test_deactivate_and_reactivate(admin_agent, sales_agent, origin, client):
    client.force_login(sales_agent)
    assert services.deactivate_agent(actor=admin_agent, agent=sales_agent, origin=origin)
    # The deactivated agent's session ends and their password no longer signs in.
    assert client.get(reverse("customers:list")).status_code == HTTPStatus.FOUND
    assert not signs_in(sales_agent.email)
    assert not services.deactivate_agent(actor=admin_agent, agent=sales_agent, origin=origin)
    assert services.reactivate_agent(actor=admin_agent, agent=sales_agent, origin=origin)
    assert signs_in(sales_agent.email)
    assert [(e.action, e.status) for e in entries()] == [
        (Action.DEACTIVATE_AGENT, Status.SUCCEEDED), (Action.SIGN_IN, Status.FAILED),
        (Action.REACTIVATE_AGENT, Status.SUCCEEDED)]
    assert entries()[0].new_value["is_active"] is False


def test_an_entra_agents_role_is_changed_only_by_their_sign_in(admin_agent, origin):
    agent = services.add_agent(actor=None, email="entra@partner.example", role=SALES, origin=origin,
                               entra_object_id="00000000-0000-0000-0000-000000000001")
    with pytest.raises(PermissionDenied):
        services.change_role(actor=admin_agent, agent=agent, role=ADMIN, origin=origin)
    assert services.change_role(actor=None, agent=agent, role=ADMIN, origin=origin)
    agent.refresh_from_db()
    assert agent.role == ADMIN
    assert [(e.action, e.status) for e in entries()] == [
        (Action.ADD_AGENT, Status.SUCCEEDED), (Action.UPDATE_AGENT_ROLE, Status.FAILED),
        (Action.UPDATE_AGENT_ROLE, Status.SUCCEEDED)]


# --- The Agents page, every role ---------------------------------------------------------------------


def pages(target: Agent) -> list[tuple[str, str, dict]]:
    return [
        ("get", reverse("agents:list"), {}),
        ("get", reverse("agents:add"), {}),
        ("post", reverse("agents:add"), {"email": "new@partner.example", "role": ADMIN}),
        ("post", reverse("agents:role", args=[target.pk]), {"role": ADMIN}),
        ("post", reverse("agents:active", args=[target.pk]), {}),
    ]


@pytest.mark.parametrize("role", OTHERS)
def test_other_roles_get_403_on_every_agents_page_and_change_nothing(signed_in, agents, role):
    client = signed_in(agents[role])
    target = agents[Agent.Role.HELPDESK_AGENT] if role != Agent.Role.HELPDESK_AGENT else agents[SALES]
    before = target.role
    for method, url, data in pages(target):
        assert getattr(client, method)(url, data).status_code == HTTPStatus.FORBIDDEN, url
    target.refresh_from_db()
    assert target.role == before and target.is_active
    assert not Agent.objects.filter(email="new@partner.example").exists()
    # Each refused write is one Failed entry by the agent who tried; the pages log nothing.
    assert [(e.action, e.status, e.actor) for e in entries()] == [
        (Action.ADD_AGENT, Status.FAILED, agents[role]),
        (Action.UPDATE_AGENT_ROLE, Status.FAILED, agents[role]),
        (Action.DEACTIVATE_AGENT, Status.FAILED, agents[role])]
    assert "Agents" not in client.get(reverse("customers:list")).content.decode()


@pytest.mark.parametrize("role", OTHERS)
def test_a_forged_add_with_invalid_data_is_refused_and_logged(signed_in, agents, role):
    response = signed_in(agents[role]).post(reverse("agents:add"), {"email": "not an address", "role": "x"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert Agent.objects.count() == 4
    [entry] = entries()
    assert (entry.action, entry.status, entry.actor) == (Action.ADD_AGENT, Status.FAILED, agents[role])


def test_an_admin_manages_agents_on_the_page(signed_in, agents):
    admin = agents[ADMIN]
    client = signed_in(admin)
    page = client.get(reverse("agents:list"))
    assert page.status_code == HTTPStatus.OK
    body = page.content.decode()
    for agent in agents.values():
        assert agent.email in body
    assert reverse("agents:role", args=[admin.pk]) not in body  # no controls for oneself
    assert reverse("agents:role", args=[agents[SALES].pk]) in body
    assert 'href="/agents/"' in client.get(reverse("customers:list")).content.decode()

    response = client.post(reverse("agents:add"), {"email": "new@partner.example", "role": SALES})
    assert response.status_code == HTTPStatus.FOUND
    new = Agent.objects.get(email="new@partner.example")
    client.post(reverse("agents:role", args=[new.pk]), {"role": Agent.Role.OPERATOR})
    client.post(reverse("agents:active", args=[new.pk]), {})
    client.post(reverse("agents:active", args=[new.pk]), {"active": "true"})
    new.refresh_from_db()
    assert new.role == Agent.Role.OPERATOR and new.is_active
    assert [e.action for e in entries()] == [Action.ADD_AGENT, Action.UPDATE_AGENT_ROLE,
                                            Action.DEACTIVATE_AGENT, Action.REACTIVATE_AGENT]
    assert {e.source for e in entries()} == {Source.WEB}


def test_the_page_refuses_self_demotion_with_a_message(signed_in, admin_agent):
    client = signed_in(admin_agent)
    response = client.post(reverse("agents:role", args=[admin_agent.pk]), {"role": SALES}, follow=True)
    assert response.status_code == HTTPStatus.OK
    assert "cannot change your own role" in response.content.decode()
    response = client.post(reverse("agents:active", args=[admin_agent.pk]), {}, follow=True)
    admin_agent.refresh_from_db()
    assert admin_agent.role == ADMIN and admin_agent.is_active
    assert [e.status for e in entries()] == [Status.FAILED, Status.FAILED]


def test_a_bad_add_form_says_why_and_adds_nothing(signed_in, admin_agent):
    response = signed_in(admin_agent).post(reverse("agents:add"), {"email": "not-an-address", "role": "x"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.context["form"].errors
    assert Agent.objects.count() == 1
    response = signed_in(admin_agent).post(reverse("agents:add"), {"email": "ADMIN@partner.example",
                                                                   "role": SALES})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "already uses" in response.content.decode()
    assert Agent.objects.count() == 1


# --- The Django admin goes through the same services --------------------------------------------------


@pytest.fixture
def superuser(db):
    return Agent.objects.create_superuser("root@partner.example", PASSWORD)


def admin_form(agent: Agent, **changes) -> dict:
    data = {"email": agent.email, "full_name": agent.full_name, "role": agent.role, "language": "",
            "is_active": "on" if agent.is_active else ""}
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_a_role_change_in_the_django_admin_is_logged(client, superuser, sales_agent):
    client.force_login(superuser)
    url = reverse("admin:portal_agent_change", args=[sales_agent.pk])
    response = client.post(url, admin_form(sales_agent, role=ADMIN, is_active=""))
    assert response.status_code == HTTPStatus.FOUND
    sales_agent.refresh_from_db()
    assert sales_agent.role == ADMIN and not sales_agent.is_active
    assert [(e.action, e.actor) for e in entries()] == [(Action.UPDATE_AGENT_ROLE, superuser),
                                                       (Action.DEACTIVATE_AGENT, superuser)]


def test_an_agent_added_in_the_django_admin_is_logged(client, superuser):
    client.force_login(superuser)
    response = client.post(reverse("admin:portal_agent_add"), {
        "email": "added@partner.example", "role": "sales_agent", "usable_password": "true",
        "password1": "a long enough passphrase 42", "password2": "a long enough passphrase 42"})
    assert response.status_code == HTTPStatus.FOUND
    agent = Agent.objects.get(email="added@partner.example")
    assert agent.check_password("a long enough passphrase 42")
    [entry] = entries()
    assert (entry.action, entry.actor, entry.resource_id) == (Action.ADD_AGENT, superuser, agent.email)


def test_the_django_admin_cannot_grant_admin_rights(client, superuser, sales_agent):
    client.force_login(superuser)
    client.post(reverse("admin:portal_agent_change", args=[sales_agent.pk]),
                admin_form(sales_agent, is_staff="on", is_superuser="on"))
    sales_agent.refresh_from_db()
    assert not sales_agent.is_staff and not sales_agent.is_superuser
    # A superuser deactivating themselves in the admin is refused and logged.
    client.post(reverse("admin:portal_agent_change", args=[superuser.pk]), admin_form(superuser,
                                                                                      is_active=""))
    superuser.refresh_from_db()
    assert superuser.is_active
    assert [(e.action, e.status) for e in entries()] == [(Action.DEACTIVATE_AGENT, Status.FAILED)]


# --- manage.py create_agent ---------------------------------------------------------------------------


def test_create_agent_adds_and_logs(monkeypatch):
    out = io.StringIO()
    call_command("create_agent", "Ops@Partner.Example", "--role", "operator", "--name", "Ops", stdout=out)
    agent = Agent.objects.get(email="ops@partner.example")
    assert agent.role == Agent.Role.OPERATOR and not agent.has_usable_password()
    assert "ops@partner.example" in out.getvalue()
    [entry] = entries()
    assert (entry.action, entry.actor, entry.source) == (Action.ADD_AGENT, None, Source.SYSTEM)

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password 123\n"))
    call_command("create_agent", "pw@partner.example", "--role", "sales_agent", "--password-stdin",
                 stdout=io.StringIO())
    assert Agent.objects.get(email="pw@partner.example").check_password("a long enough password 123")


def test_create_agent_refuses_a_duplicate_and_an_unknown_role():
    AgentFactory(email="taken@partner.example")
    with pytest.raises(CommandError, match="already uses"):
        call_command("create_agent", "taken@partner.example", "--role", "operator")
    with pytest.raises(CommandError):
        call_command("create_agent", "new@partner.example", "--role", "boss")
    assert not Agent.objects.filter(email="new@partner.example").exists()
    assert [e.status for e in entries()] == [Status.FAILED]



def test_an_admin_resets_a_lost_second_factor(signed_in, admin_agent, sales_agent, origin):
    TOTPDevice.objects.create(user=sales_agent, name="phone", confirmed=True)
    StaticDevice.objects.create(user=sales_agent, name="Recovery codes")
    client = signed_in(admin_agent)
    page = client.get(reverse("agents:list")).content.decode()
    assert reverse("agents:reset_mfa", args=[sales_agent.pk]) in page
    response = client.post(reverse("agents:reset_mfa", args=[sales_agent.pk]), follow=True)
    assert "sets up two-step sign-in again" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=sales_agent).exists()
    assert not StaticDevice.objects.filter(user=sales_agent).exists()
    [entry] = entries()
    assert (entry.action, entry.status, entry.resource_id) == (
        Action.RESET_AGENT_MFA, Status.SUCCEEDED, sales_agent.email)
    # Nothing left to reset: nothing logged.
    assert not services.reset_second_factor(actor=admin_agent, agent=sales_agent, origin=origin)
    assert len(entries()) == 1


@pytest.mark.parametrize("role", OTHERS)
def test_only_admins_reset_a_second_factor(signed_in, agents, role):
    target = agents[ADMIN]
    TOTPDevice.objects.create(user=target, name="phone", confirmed=True)
    response = signed_in(agents[role]).post(reverse("agents:reset_mfa", args=[target.pk]))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert TOTPDevice.objects.filter(user=target).exists()
    assert [(e.action, e.status) for e in entries()] == [(Action.RESET_AGENT_MFA, Status.FAILED)]
