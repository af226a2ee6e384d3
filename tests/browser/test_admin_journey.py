import pytest
from playwright.sync_api import Page, expect

from activitylog.models import Action, ActivityLogEntry, Status
from permissions.models import PurchasePermission, Resource

from ..factories import ready_customer

pytestmark = pytest.mark.browser


def test_admin_agent_allows_reservations_and_finds_the_change_in_the_activity_log(
    page: Page, sign_in, admin_agent, customer
):
    other = ready_customer(company_name="Fabrikam Inc", domain="fabrikam.onmicrosoft.com")
    sign_in(admin_agent)

    page.get_by_role("searchbox").fill("Contoso")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Contoso Ltd")).to_be_visible()
    expect(page.get_by_role("link", name="Fabrikam Inc")).to_have_count(0)
    page.get_by_role("link", name="Contoso Ltd").click()
    expect(page.get_by_role("heading", name="Contoso Ltd | Account")).to_be_visible()

    permissions = page.locator("#customer-permissions")
    permissions.get_by_role("link", name="Edit").click()
    reservations = permissions.get_by_role("group", name="Azure reservations")
    expect(reservations.get_by_label("Don't allow customer to purchase")).to_be_checked()
    reservations.get_by_label("Allow customer to purchase", exact=True).check()
    permissions.get_by_role("button", name="Save").click()

    # Allowing states the liability first: nothing is allowed until the agent accepts it.
    expect(page.get_by_role("heading", name="Confirm: let the customer buy by itself")).to_be_visible()
    assert not PurchasePermission.objects.exists()
    page.get_by_role("button", name="I understand: allow").click()

    expect(page.get_by_role("status")).to_contain_text("Customer permissions saved for Contoso Ltd")
    expect(permissions.get_by_role("row", name="Azure reservations")).to_contain_text(
        "Allow customer to purchase")
    expect(permissions.get_by_role("row", name="Azure reservations")).to_contain_text(admin_agent.email)
    expect(permissions.get_by_role("row", name="Azure savings plans")).to_contain_text(
        "Don't allow customer to purchase")
    expect(permissions.get_by_role("radio")).to_have_count(0)
    assert list(PurchasePermission.objects.values_list("customer", "resource")) == [
        (customer.pk, Resource.AZURE_RESERVATIONS)]

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity log").click()
    entries = page.locator("tbody.log-entry")
    expect(entries).to_have_count(1)
    entry = entries.first
    expect(entry.get_by_role("row").first).to_contain_text("Create Customer Purchase Permissions")
    expect(entry.get_by_role("link", name="Contoso Ltd")).to_be_visible()
    expect(entry).to_contain_text(admin_agent.email)
    expect(entry).to_contain_text("Succeeded")
    expect(entry.get_by_text("New value")).not_to_be_visible()

    entry.get_by_text("Details").click()
    new_value = entry.locator("dt:text-is('New value') + dd")
    expect(new_value).to_be_visible()
    expect(new_value).to_contain_text("AzureReservedInstances")
    expect(entry.locator("dt:text-is('Old value') + dd")).not_to_contain_text("AzureReservedInstances")

    logged = ActivityLogEntry.objects.get()
    assert (logged.action, logged.status, logged.customer, logged.actor) == (
        Action.CREATE_PURCHASE_PERMISSION, Status.SUCCEEDED, customer, admin_agent)
    assert not ActivityLogEntry.objects.filter(customer=other).exists()
