"""Every page names itself in the browser's title, and the top bar marks the tab it belongs to."""

import html
import re

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def title(response) -> str:
    return html.unescape(re.search(r"<title>(.*?)</title>", response.content.decode(), re.S).group(1))


def current_tabs(response) -> list[str]:
    nav = re.search(r'<nav class="topnav".*?</nav>', response.content.decode(), re.S).group(0)
    return re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]*)</a>', nav)


@pytest.mark.parametrize("section, path", [
    ("Account", "account/"), ("Subscriptions", "subscriptions/"), ("Users", "users/"),
    ("Buy an Azure plan", "subscriptions/new/"), ("Add a user", "users/new/"), ("History", "history/"),
])
def test_a_customer_page_is_titled_with_the_customer_and_its_section(signed_in, admin_agent, customer,
                                                                     section, path):
    response = signed_in(admin_agent).get(f"/customers/{customer.tenant_id}/{path}")

    assert response.status_code == 200
    assert title(response) == f"Contoso Ltd | {section} · {settings.PARTNER_NAME}"
    assert current_tabs(response) == ["Customers"]


def test_the_customers_list_marks_its_tab(signed_in, admin_agent):
    response = signed_in(admin_agent).get("/customers/")

    assert title(response) == f"Customers · {settings.PARTNER_NAME}"
    assert current_tabs(response) == ["Customers"]


def test_the_activity_log_marks_its_tab(signed_in, operator):
    response = signed_in(operator).get("/activity-log/")

    assert title(response) == f"Activity log · {settings.PARTNER_NAME}"
    assert current_tabs(response) == ["Activity log"]


def test_the_access_review_marks_its_tab(signed_in, operator):
    response = signed_in(operator).get("/access-review/")

    assert title(response) == f"Access review · {settings.PARTNER_NAME}"
    assert current_tabs(response) == ["Access review"]


def test_the_api_pages_mark_their_tab(signed_in, operator):
    assert current_tabs(signed_in(operator).get("/api/tokens/")) == ["API"]


def test_the_current_tab_has_a_visible_style():
    css = (settings.BASE_DIR / "static" / "css" / "portal.css").read_text()

    assert re.search(r'\.topnav a\[aria-current="page"\] \{[^}]*font-weight: 600', css)
