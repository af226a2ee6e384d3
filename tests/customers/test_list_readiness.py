"""The customer list says who may buy: readiness and each purchase permission, as columns and filters."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from permissions.services import set_purchase_permissions
from tests.factories import CustomerFactory

LIST_URL = reverse("customers:list")


@pytest.fixture
def customers(admin_agent, customer, unready_customer, origin):
    set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                             allowed={"AzureSavingsPlan": True})
    return {"ready": customer, "unready": unready_customer}


def names(response) -> list[str]:
    return [c.company_name for c in response.context["page"].object_list]


def test_every_role_sees_readiness_and_each_permission(signed_in, any_agent, customers):
    response = signed_in(any_agent).get(LIST_URL)
    assert response.status_code == HTTPStatus.OK
    rows = {c.company_name: c.permission_flags for c in response.context["page"].object_list}
    assert rows == {"Contoso Ltd": [False, True], "Fabrikam": [False, False]}
    page = response.content.decode()
    for header in ("Readiness", "Azure reservations", "Azure savings plans"):
        assert f">{header}</th>" in page
    assert page.count('<span class="status status-active">Ready</span>') == 1
    assert page.count('<span class="status status-cancelled">Not ready</span>') == 1


@pytest.mark.parametrize(("filters", "expected"), [
    ({"readiness": "ready"}, ["Contoso Ltd"]),
    ({"readiness": "not_ready"}, ["Fabrikam"]),
    ({"AzureSavingsPlan": "allow"}, ["Contoso Ltd"]),
    ({"AzureSavingsPlan": "deny"}, ["Fabrikam"]),
    ({"AzureReservedInstances": "allow"}, []),
    ({"readiness": "ready", "q": "fab"}, []),
])
def test_the_filters_narrow_the_list(signed_in, sales_agent, customers, filters, expected):
    response = signed_in(sales_agent).get(LIST_URL, filters)
    assert names(response) == expected
    if not expected:
        assert "No customer matches" in response.content.decode()


def test_paging_keeps_the_filters(signed_in, helpdesk_agent):
    for n in range(30):
        CustomerFactory(company_name=f"Unready {n:02}")
    page = signed_in(helpdesk_agent).get(LIST_URL, {"readiness": "not_ready"}).content.decode()
    assert "?readiness=not_ready&amp;page=2" in page
