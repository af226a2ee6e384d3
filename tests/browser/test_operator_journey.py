import csv
import io

import pytest
from playwright.sync_api import Page, expect

from activitylog.models import ActivityLogEntry
from activitylog.services import Origin
from customers.services import add_customer_user
from permissions.models import Resource
from permissions.services import set_purchase_permissions

from ..factories import ready_customer

pytestmark = pytest.mark.browser


def test_operator_filters_the_log_by_customer_and_exports_exactly_those_entries(
    page: Page, sign_in, operator, admin_agent, customer
):
    fabrikam = ready_customer(company_name="Fabrikam Inc", domain="fabrikam.onmicrosoft.com")
    origin = Origin.system("browser-test")
    set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                             allowed={Resource.AZURE_RESERVATIONS: True, Resource.AZURE_SAVINGS_PLAN: True})
    set_purchase_permissions(actor=admin_agent, customer=fabrikam, origin=origin,
                             allowed={Resource.AZURE_SAVINGS_PLAN: True})
    add_customer_user(actor=admin_agent, customer=fabrikam, origin=origin,
                      user_principal_name="ana@fabrikam.onmicrosoft.com", display_name="Ana")
    set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                             allowed={Resource.AZURE_SAVINGS_PLAN: False})
    contoso_entries = list(ActivityLogEntry.objects.filter(customer=customer).newest_first())
    assert len(contoso_entries) == 3
    assert ActivityLogEntry.objects.filter(customer=fabrikam).count() == 2

    sign_in(operator)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity log").click()
    entries = page.locator("tbody.log-entry")
    expect(entries).to_have_count(5)

    page.get_by_label("Customer", exact=True).fill("contoso")
    page.get_by_role("button", name="Apply").click()
    expect(entries).to_have_count(3)
    expect(entries.filter(has_text="Fabrikam")).to_have_count(0)
    expect(entries.get_by_role("link", name="Contoso Ltd")).to_have_count(3)
    # Each row's action, and under it the permission it was about, in words.
    expect(entries.locator("> tr:first-child > td:nth-child(3)")).to_have_text([
        "Delete Customer Purchase PermissionsAzure savings plans",
        "Create Customer Purchase PermissionsAzure savings plans",
        "Create Customer Purchase PermissionsAzure reservations",
    ])

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export log").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8-sig"))))

    assert [(row["Action code"], row["Customer tenant id"], row["Resource id"], row["Performed by"])
            for row in rows] == [
        (entry.action, str(customer.tenant_id), entry.resource_id, admin_agent.email)
        for entry in contoso_entries
    ]
    assert {row["Affected customer"] for row in rows} == {"Contoso Ltd"}
