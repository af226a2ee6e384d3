"""Sign in with Microsoft, against the simulator's identity platform over HTTPS: the browser's part
(the authorize page) is played with requests, the portal's part by the test client."""

from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.contrib.auth import BACKEND_SESSION_KEY
from django.test import Client
from django.urls import reverse

from activitylog.models import Action, ActivityLogEntry, Status
from activitylog.services import Origin
from agents.management.commands.entra_demo import DEMO_CLIENT_ID, merged
from agents.services import add_agent, deactivate_agent
from portal.models import Agent

pytestmark = pytest.mark.django_db

TENANT = "6e1f3e4c-1d0a-4a7b-9b8e-0000000000aa"
CLIENT_ID = "5ca1ab1e-0000-4000-8000-0000000000c1"
SECRET = "portal-sign-in-secret"
CALLBACK = "http://testserver/oidc/callback/"
STAFF = {
    "admin_agent": ("a1000000-0000-4000-8000-000000000001", "ada@northwind.example", ["AdminAgent"]),
    "sales_agent": ("a1000000-0000-4000-8000-000000000002", "sam@northwind.example", ["SalesAgent"]),
    "helpdesk_agent": ("a1000000-0000-4000-8000-000000000003", "hal@northwind.example", ["HelpdeskAgent"]),
    "operator": ("a1000000-0000-4000-8000-000000000004", "olu@northwind.example", ["Operator"]),
    None: ("a1000000-0000-4000-8000-000000000005", "nora@northwind.example", []),
}


def scenario(roles: dict | None = None) -> dict:
    staff = [{"oid": oid, "userPrincipalName": upn, "displayName": upn.split("@")[0].title(),
              "roles": (roles or {}).get(oid, app_roles), "groups": [], "mfa": True}
             for oid, upn, app_roles in STAFF.values()]
    return {"partner": {"tenantId": TENANT, "name": "Northwind CSP", "domain": "northwind.onmicrosoft.com",
                        "appId": "2f7b8c1e-5a6d-4e3f-8b9a-0000000000a1", "appSecret": "partner-app-secret",
                        "apps": [{"appId": CLIENT_ID, "appSecret": SECRET,
                                  "displayName": "CSP Partner Portal", "redirectUris": [CALLBACK]}],
                        "staff": staff},
            "customers": []}


@pytest.fixture
def entra(simulator, settings):
    simulator.control.put_state(scenario())
    settings.ENTRA_TENANT_ID = TENANT
    settings.ENTRA_CLIENT_ID = CLIENT_ID
    settings.ENTRA_CLIENT_SECRET = SECRET
    settings.REQUIRE_MFA = True
    return simulator


def start(client: Client, next_url: str = "") -> tuple[str, dict]:
    response = client.get(reverse("oidc_authentication_init") + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == HTTPStatus.FOUND
    parts = urlsplit(response["Location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}", dict(parse_qsl(parts.query))


def authorize(sim, endpoint: str, params: dict, oid: str, *, mfa: bool = True, action="sign_in") -> str:
    """What the user does on Microsoft's page: pick the account, say whether MFA was done."""
    form = {**params, "user": oid, "action": action, **({"mfa": "1"} if mfa else {})}
    answer = requests.post(endpoint, data=form, verify=str(sim.ca_path), allow_redirects=False, timeout=15)
    assert answer.status_code == HTTPStatus.FOUND, answer.text
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK)
    return location[len("http://testserver"):]


def sign_in(sim, role, *, mfa: bool = True, client: Client | None = None):
    client = client or Client()
    endpoint, params = start(client)
    oid = STAFF[role][0]
    return client, client.get(authorize(sim, endpoint, params, oid, mfa=mfa))


def entries(action=None):
    qs = ActivityLogEntry.objects.order_by("id")
    return list(qs.filter(action=action) if action else qs)


def test_the_sign_in_request_uses_pkce_state_and_nonce(entra):
    endpoint, params = start(Client())
    assert endpoint == f"{entra.login_url}/{TENANT}/oauth2/v2.0/authorize"
    assert params["response_type"] == "code" and params["client_id"] == CLIENT_ID
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"] and params["redirect_uri"] == CALLBACK
    assert set(params["scope"].split()) == {"openid", "profile", "email"}


@pytest.mark.parametrize("role", ["admin_agent", "sales_agent", "helpdesk_agent", "operator"])
def test_the_first_sign_in_adds_the_agent_with_the_app_roles_role(entra, role):
    client, response = sign_in(entra, role)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("customers:list")
    oid, upn, _roles = STAFF[role]
    agent = Agent.objects.get(entra_object_id=oid)
    assert (agent.email, agent.role, agent.is_active) == (upn, role, True)
    assert not agent.has_usable_password()
    assert client.session[BACKEND_SESSION_KEY] == "agents.entra.EntraBackend"
    # MFA is required, and Entra did it: no TOTP step.
    page = client.get(reverse("customers:list"))
    assert page.status_code == HTTPStatus.OK and upn in page.content.decode()
    [added] = entries()
    assert (added.action, added.status, added.actor, added.resource_id) == (
        Action.ADD_AGENT, Status.SUCCEEDED, None, upn)
    assert added.new_value["entra"] is True and added.new_value["role"] == role


def test_a_changed_app_role_applies_at_the_next_sign_in_and_is_logged(entra):
    sign_in(entra, "sales_agent")
    oid = STAFF["sales_agent"][0]
    entra.control.put_state(scenario(roles={oid: ["AdminAgent"]}))

    client, response = sign_in(entra, "sales_agent")

    assert response.status_code == HTTPStatus.FOUND
    agent = Agent.objects.get(entra_object_id=oid)
    assert agent.role == Agent.Role.ADMIN_AGENT
    assert Agent.objects.count() == 1
    assert [e.action for e in entries()] == [Action.ADD_AGENT, Action.UPDATE_AGENT_ROLE]
    changed = entries()[-1]
    assert (changed.old_value["role"], changed.new_value["role"], changed.actor) == (
        "sales_agent", "admin_agent", None)
    assert client.get(reverse("agents:list")).status_code == HTTPStatus.OK
    # The same role again: nothing logged.
    sign_in(entra, "sales_agent")
    assert len(entries()) == 2


def test_a_group_gives_the_role_when_the_tenant_uses_groups_and_app_roles_come_first(entra, settings):
    helpdesk_group = "9a000000-0000-4000-8000-0000000000f1"
    operators_group = "9a000000-0000-4000-8000-0000000000f2"
    settings.ENTRA_GROUP_ROLES = {helpdesk_group: "helpdesk_agent", operators_group: "operator"}
    doc = scenario()
    for person in doc["partner"]["staff"]:
        if person["oid"] == STAFF[None][0]:        # no app role: the group decides
            person["groups"] = [operators_group]
        if person["oid"] == STAFF["sales_agent"][0]:  # an app role and a group: the app role wins
            person["groups"] = [helpdesk_group]
    entra.control.put_state(doc)

    _client, response = sign_in(entra, None)
    assert response.status_code == HTTPStatus.FOUND and response["Location"] == reverse("customers:list")
    assert Agent.objects.get(entra_object_id=STAFF[None][0]).role == Agent.Role.OPERATOR
    sign_in(entra, "sales_agent")
    assert Agent.objects.get(entra_object_id=STAFF["sales_agent"][0]).role == Agent.Role.SALES_AGENT

    settings.ENTRA_GROUP_ROLES = {}                # without the mapping the group gives nothing
    client, response = sign_in(entra, None)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "no role in this portal" in response.content.decode() and "_auth_user_id" not in client.session


def test_an_account_without_a_portal_role_is_refused_with_a_page_that_says_so(entra):
    client, response = sign_in(entra, None)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "no role in this portal" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not Agent.objects.exists()
    [refused] = entries()
    assert (refused.action, refused.status, refused.resource_id) == (
        Action.SIGN_IN, Status.FAILED, "nora@northwind.example")


def test_a_sign_in_without_mfa_is_refused_while_mfa_is_required(entra, settings):
    client, response = sign_in(entra, "admin_agent", mfa=False)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "did not use multi-factor authentication" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not Agent.objects.exists()
    assert [(e.action, e.status) for e in entries()] == [(Action.SIGN_IN, Status.FAILED)]

    settings.REQUIRE_MFA = False
    _client, allowed = sign_in(entra, "admin_agent", mfa=False)
    assert allowed.status_code == HTTPStatus.FOUND


def test_a_tampered_state_is_refused(entra):
    client = Client()
    endpoint, params = start(client)
    callback = authorize(entra, endpoint, params, STAFF["admin_agent"][0])
    tampered = callback.replace(f"state={params['state']}", "state=forged-state")
    response = client.get(tampered)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "could not be verified" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not Agent.objects.exists()


def test_a_replayed_callback_is_refused(entra):
    client = Client()
    endpoint, params = start(client)
    callback = authorize(entra, endpoint, params, STAFF["admin_agent"][0])
    assert client.get(callback).status_code == HTTPStatus.FOUND
    client.post(reverse("logout"))
    # The same answer again (the state was used, the code redeemed): refused.
    replay = client.get(callback)
    assert replay.status_code == HTTPStatus.FORBIDDEN
    assert "_auth_user_id" not in client.session
    other = Client()
    assert other.get(callback).status_code == HTTPStatus.FORBIDDEN
    assert "_auth_user_id" not in other.session


def test_a_tampered_nonce_is_refused(entra):
    client = Client()
    endpoint, params = start(client)
    forged = {**params, "nonce": "nonce-of-another-sign-in"}
    response = client.get(authorize(entra, endpoint, forged, STAFF["admin_agent"][0]))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "_auth_user_id" not in client.session
    assert not Agent.objects.exists()
    assert [(e.action, e.status) for e in entries()] == [(Action.SIGN_IN, Status.FAILED)]


def test_a_code_injected_into_another_browsers_sign_in_is_refused(entra):
    attacker, victim = Client(), Client()
    endpoint, attacker_params = start(attacker)
    stolen = authorize(entra, endpoint, attacker_params, STAFF["admin_agent"][0])
    _endpoint, victim_params = start(victim)
    injected = stolen.replace(f"state={attacker_params['state']}", f"state={victim_params['state']}")
    response = victim.get(injected)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "_auth_user_id" not in victim.session
    assert not Agent.objects.exists()


def test_a_cancelled_sign_in_says_microsoft_did_not_sign_you_in(entra):
    client = Client()
    endpoint, params = start(client)
    response = client.get(authorize(entra, endpoint, params, STAFF["admin_agent"][0], action="cancel"))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "Microsoft did not sign you in." in response.content.decode()


def test_a_deactivated_agent_is_refused_and_their_session_ends(entra, admin_agent):
    client, _response = sign_in(entra, "sales_agent")
    agent = Agent.objects.get(entra_object_id=STAFF["sales_agent"][0])
    deactivate_agent(actor=admin_agent, agent=agent, origin=Origin.system("tests"))
    assert client.get(reverse("customers:list")).status_code == HTTPStatus.FOUND
    again, response = sign_in(entra, "sales_agent")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "deactivated" in response.content.decode()
    assert "_auth_user_id" not in again.session


def test_an_agent_added_in_the_portal_is_linked_at_their_first_microsoft_sign_in(entra, admin_agent):
    add_agent(actor=admin_agent, email="SAM@northwind.example", role="operator", origin=Origin.system("t"))
    _client, response = sign_in(entra, "sales_agent")
    assert response.status_code == HTTPStatus.FOUND
    agent = Agent.objects.get(email="sam@northwind.example")
    assert agent.entra_object_id == STAFF["sales_agent"][0] and agent.role == "sales_agent"
    assert Agent.objects.filter(email__iexact="sam@northwind.example").count() == 1


def test_sign_out_ends_the_session_and_offers_microsofts_sign_out(entra):
    client, _response = sign_in(entra, "operator")
    response = client.post(reverse("logout"), follow=True)
    assert response.status_code == HTTPStatus.OK
    body = response.content.decode()
    assert f"{entra.login_url}/{TENANT}/oauth2/v2.0/logout?post_logout_redirect_uri=" in body
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("customers:list")).status_code == HTTPStatus.FOUND
    # Microsoft's sign-out comes back to the sign-in page.
    link = response.context["microsoft_sign_out"]
    back = requests.get(link, verify=str(entra.ca_path), allow_redirects=False, timeout=15)
    assert back.headers["Location"] == "http://testserver/accounts/login/"


def test_the_sign_in_page_offers_microsoft_only_when_configured(client, entra, settings):
    assert "Sign in with Microsoft" in client.get(reverse("login")).content.decode()
    settings.ENTRA_CLIENT_ID = ""
    assert "Sign in with Microsoft" not in client.get(reverse("login")).content.decode()
    assert client.get(reverse("oidc_authentication_init")).status_code == HTTPStatus.NOT_FOUND


def test_a_failed_microsoft_sign_in_is_not_a_password_guess(entra):
    for _ in range(6):
        sign_in(entra, None)
    # Six refusals from one address: Microsoft sign-in has nothing to guess, so no lockout.
    _client, response = sign_in(entra, "admin_agent")
    assert response.status_code == HTTPStatus.FOUND
    assert len(entries(Action.SIGN_IN)) == 6


def test_microsoft_not_answering_is_a_clear_page(entra):
    client = Client()
    endpoint, params = start(client)
    callback = authorize(entra, endpoint, params, STAFF["admin_agent"][0])
    entra.control.faults([{"method": "POST", "path": "oauth2/v2.0/token", "fault": "drop", "times": 1}])
    response = client.get(callback)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "did not answer" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_make_runs_demo_staff_join_the_simulators_scenario_without_replacing_it(simulator, settings):
    settings.ENTRA_TENANT_ID = TENANT
    simulator.control.put_state(scenario())
    doc = merged(simulator.control.get_state(), callback=CALLBACK)
    simulator.control.put_state(doc)
    partner = simulator.control.get_state()["partner"]
    upns = {member["userPrincipalName"] for member in partner["staff"]}
    assert {"ada@northwind.example", "admin@partner.example", "no-role@partner.example"} <= upns
    assert {app["appId"] for app in partner["apps"]} == {CLIENT_ID, DEMO_CLIENT_ID}
    # Twice is the same as once.
    assert merged(simulator.control.get_state(), callback=CALLBACK)["partner"]["staff"] == partner["staff"]
