"""axe-core, from its npm package (package.json; `npm ci` in the Makefile's install step), checks every
page for each role in both languages: any serious or critical violation fails the test.

The script is injected from node_modules into each page after it has loaded; the portal never serves it.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Browser, Page

from activitylog.services import Origin
from api.services import issue_token
from customers.services import set_subscription_status
from permissions.services import set_purchase_permissions
from portal.models import Agent

from ..factories import CustomerFactory, CustomerUserFactory, ready_customer
from .conftest import in_ci

pytestmark = pytest.mark.browser

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = {"serious", "critical"}
LANGUAGES = ["en", "id"]


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE.exists():
        reason = f"{AXE} is missing: run `npm ci` (the Makefile's install step does)"
        if in_ci():
            pytest.fail(f"{reason}; under CI=true the accessibility checks must run", pytrace=False)
        pytest.skip(reason)
    return AXE


def violations(page: Page, axe_script: Path) -> list[str]:
    """The serious and critical violations axe-core finds on the page, one line per element."""
    page.add_script_tag(path=str(axe_script))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      targets: v.nodes.map(n => n.target.join(" "))}));
    }""")
    return [f"{v['impact']} {v['id']} ({v['help']}): {', '.join(v['targets'][:5])}"
            for v in result if v["impact"] in FAILING_IMPACTS]


@pytest.fixture
def portal_data(admin_agent):
    """A customer in each state the pages distinguish, with log entries and a token to show."""
    origin = Origin(source="web", request_id="axe", client_ip="203.0.113.7")
    ready = ready_customer(company_name="Contoso Ltd", domain="contoso.onmicrosoft.com")
    set_purchase_permissions(actor=admin_agent, customer=ready, origin=origin,
                             allowed={"AzureReservedInstances": True, "AzureSavingsPlan": True})
    suspended = ready_customer(company_name="Café Øresund", domain="cafeoresund.onmicrosoft.com")
    set_purchase_permissions(actor=admin_agent, customer=suspended, origin=origin,
                             allowed={"AzureReservedInstances": True})
    set_subscription_status(actor=admin_agent, subscription=suspended.subscriptions.get(),
                            status="suspended", origin=origin)
    unready = CustomerFactory(company_name="PT Nusantara Digital", domain="nusantara.onmicrosoft.com")
    CustomerUserFactory(customer=unready,
                        user_principal_name="a.very.long.name.for.a.person@nusantara.onmicrosoft.com")
    return {"ready": ready, "suspended": suspended, "unready": unready, "origin": origin}


def pages_to_check(data) -> list[str]:
    ready = data["ready"]
    subscription = ready.subscriptions.get()
    tenant = [ready.tenant_id]
    urls = [
        reverse("customers:list"),
        reverse("customers:list") + "?q=zzz-nothing",
        reverse("customers:add"),
        reverse("customers:account", args=tenant),
        reverse("customers:account", args=[data["suspended"].tenant_id]),
        reverse("customers:account", args=[data["unready"].tenant_id]),
        reverse("customers:permissions", args=tenant),
        reverse("customers:permissions", args=[data["unready"].tenant_id]),  # Allow shown unavailable
        reverse("customers:subscriptions", args=tenant),
        reverse("customers:subscription_buy", args=tenant),
        reverse("customers:role_grant", args=[ready.tenant_id, subscription.subscription_id]),
        reverse("customers:users", args=tenant),
        reverse("customers:users", args=[data["unready"].tenant_id]),
        reverse("customers:user_add", args=tenant),
        reverse("customers:history", args=tenant),
        reverse("customers:history", args=[data["unready"].tenant_id]),
        reverse("activitylog:list"),
        reverse("permissions:access_review"),
        reverse("permissions:access_review") + "?readiness=not_ready&not_reviewed_since=2000-01-01",
        reverse("api:tokens"),
        reverse("api:reference"),
        "/customers/00000000-0000-0000-0000-000000000000/account/",  # the 404 page
    ]
    return urls


def signed_in_page(browser: Browser, live_server, agent: Agent, language: str) -> Page:
    client = Client()
    client.force_login(agent)
    # axe-core is injected inline by the test, which the portal's CSP (rightly) blocks.
    context = browser.new_context(base_url=live_server.url, locale=language, bypass_csp=True)
    context.add_cookies([
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
    ])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", [role.value for role in Agent.Role])
def test_every_page_has_no_serious_accessibility_violation(
    browser: Browser, live_server, axe_script, agents, portal_data, role, language
):
    agent = agents[role]
    agent.language = language
    agent.save(update_fields=["language"])
    issue_token(actor=agent, owner=agent, name="Reporting", origin=portal_data["origin"])
    page = signed_in_page(browser, live_server, agent, language)
    found = {}
    for url in pages_to_check(portal_data):
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == language, url
        if problems := violations(page, axe_script):
            found[url] = problems
    page.context.close()
    assert found == {}, "\n".join(f"{url}:\n  " + "\n  ".join(p) for url, p in found.items())


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sign_in_page_has_no_serious_accessibility_violation(browser: Browser, live_server, axe_script,
                                                                  db, language):
    context = browser.new_context(base_url=live_server.url, locale=language)
    page = context.new_page()
    page.goto(reverse("login"))
    page.locator("main button[type=submit]").click()  # submitted empty: the page with its errors
    problems = violations(page, axe_script)
    context.close()
    assert problems == []


def test_long_e_mail_addresses_wrap_on_a_phone(browser: Browser, live_server, admin_agent, portal_data):
    page = signed_in_page(browser, live_server, admin_agent, "en")
    page.set_viewport_size({"width": 360, "height": 740})
    for url in (reverse("customers:users", args=[portal_data["unready"].tenant_id]),
                reverse("customers:list")):
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url} is {overflow}px wider than the phone's screen"
    page.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_confirmation_steps_have_no_serious_accessibility_violation(
    browser: Browser, live_server, axe_script, admin_agent, portal_data, language
):
    admin_agent.language = language
    admin_agent.save(update_fields=["language"])
    page = signed_in_page(browser, live_server, admin_agent, language)
    page.goto(reverse("customers:subscriptions", args=[portal_data["ready"].tenant_id]))
    page.locator("form[action*='/status/'] button[type=submit]").click()
    page.wait_for_selector(".confirm-card")
    suspend = violations(page, axe_script)
    page.goto(reverse("customers:subscriptions", args=[portal_data["ready"].tenant_id]))
    page.locator("form[action*='/remove/'] button[type=submit]").first.click()
    page.wait_for_selector(".confirm-card")
    remove = violations(page, axe_script)
    page.context.close()
    assert (suspend, remove) == ([], [])
