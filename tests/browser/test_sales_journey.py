from http import HTTPStatus

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from activitylog.models import ActivityLogEntry
from permissions.models import PurchasePermission

pytestmark = pytest.mark.browser


def test_sales_agent_sees_the_account_page_read_only(page: Page, sign_in, sales_agent, customer):
    sign_in(sales_agent)

    page.get_by_role("link", name="Contoso Ltd").click()
    expect(page.get_by_role("heading", name="Contoso Ltd | Account")).to_be_visible()
    permissions = page.locator("#customer-permissions")
    expect(permissions.get_by_role("heading", name="Customer Permissions")).to_be_visible()
    expect(permissions.get_by_text(
        "You have read-only access. Only Admin agents can change customer permissions.")).to_be_visible()
    expect(permissions.get_by_role("row", name="Azure reservations")).to_contain_text(
        "Don't allow customer to purchase")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.locator("input[type=radio]")).to_have_count(0)
    expect(page.get_by_role("button", name="Save")).to_have_count(0)

    top_bar = page.get_by_role("navigation", name="Main")
    expect(top_bar.get_by_role("link", name="Customers")).to_be_visible()
    expect(top_bar.get_by_role("link", name="Activity log")).to_have_count(0)

    response = page.goto(reverse("customers:permissions", args=[customer.tenant_id]))
    assert response is not None and response.status == HTTPStatus.FORBIDDEN
    expect(page.locator("input[type=radio]")).to_have_count(0)
    assert not PurchasePermission.objects.exists()
    assert not ActivityLogEntry.objects.exists()
