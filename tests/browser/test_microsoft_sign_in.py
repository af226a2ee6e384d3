"""Sign in with Microsoft in a real browser: the portal's sign-in page, the simulator's Microsoft
sign-in page (pick an account, MFA done), back to the portal signed in with the app role's role;
then sign out, with Microsoft's sign-out offered."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from activitylog.models import Action, ActivityLogEntry
from portal.models import Agent
from tests.agents.test_entra import CLIENT_ID, SECRET, STAFF, TENANT, scenario

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_context_args(browser_context_args):
    # The simulator's certificate comes from its own local CA, which this browser does not know. The
    # portal's own calls to it (token, keys) do verify it, against the CA file (REQUESTS_CA_BUNDLE).
    return {**browser_context_args, "ignore_https_errors": True}


@pytest.fixture
def entra(simulator, settings, live_server):
    state = scenario()
    state["partner"]["apps"][0]["redirectUris"] = [f"{live_server.url}/oidc/callback/"]
    simulator.control.put_state(state)
    settings.ENTRA_TENANT_ID = TENANT
    settings.ENTRA_CLIENT_ID = CLIENT_ID
    settings.ENTRA_CLIENT_SECRET = SECRET
    settings.REQUIRE_MFA = True
    return simulator


def test_an_operator_signs_in_with_microsoft_and_out_again(page: Page, entra):
    page.goto(reverse("login"))
    page.get_by_role("link", name="Sign in with Microsoft").click()

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("olu@northwind.example", exact=False).check()
    expect(page.get_by_label("Multi-factor authentication done")).to_be_checked()
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator(".whoami-email")).to_have_text("olu@northwind.example")
    expect(page.locator(".role-badge")).to_have_text("Operator")
    expect(page.get_by_role("heading", name="Customers", level=1)).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity log").click()
    expect(page.locator("tbody.log-entry").first).to_contain_text("Add Agent")
    agent = Agent.objects.get(entra_object_id=STAFF["operator"][0])
    assert agent.role == Agent.Role.OPERATOR
    assert ActivityLogEntry.objects.filter(action=Action.ADD_AGENT, resource_id=agent.email).count() == 1

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Signed out")).to_be_visible()
    page.get_by_role("link", name="Sign out of Microsoft").click()
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    assert page.url.endswith("/accounts/login/")


def test_a_microsoft_sign_in_without_mfa_is_refused_with_a_page(page: Page, entra):
    page.goto(reverse("login"))
    page.get_by_role("link", name="Sign in with Microsoft").click()
    page.get_by_label("ada@northwind.example", exact=False).check()
    page.get_by_label("Multi-factor authentication done").uncheck()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Not signed in")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("multi-factor authentication")
    assert not Agent.objects.exists()
