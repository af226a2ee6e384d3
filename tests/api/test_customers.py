from http import HTTPStatus

from customers.models import Subscription
from permissions.models import Resource
from tests.factories import CustomerFactory, PurchasePermissionFactory, SubscriptionFactory

from .conftest import new_policy


def test_every_role_reads_a_customer_with_its_readiness(api_as, any_agent, admin_agent, customer):
    api_as(admin_agent).post("/v1/SelfServePolicy", new_policy(customer, Resource.AZURE_SAVINGS_PLAN))
    response = api_as(any_agent).get(f"/v1/customers/{str(customer.tenant_id).upper()}")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["id"] == str(customer.tenant_id)
    assert body["companyProfile"] == {"tenantId": str(customer.tenant_id),
                                      "domain": "contoso.onmicrosoft.com", "companyName": "Contoso Ltd"}
    assert body["readiness"] == {"ready": True, "hasAzureSubscription": True, "hasOwner": True,
                                 "missingSteps": []}
    permissions = {p["resource"]: p for p in body["permissions"]}
    assert permissions["AzureSavingsPlan"]["allowed"] and permissions["AzureSavingsPlan"]["usable"]
    assert permissions["AzureSavingsPlan"]["lastChangedBy"] == "admin@partner.example"
    assert permissions["AzureSavingsPlan"]["lastChangedAt"].endswith("Z")
    assert not permissions["AzureReservedInstances"]["allowed"]
    assert permissions["AzureReservedInstances"]["lastChangedBy"] is None
    (subscription,) = body["subscriptions"]
    assert subscription["isAzure"] and subscription["status"] == "active"
    assert len(subscription["owners"]) == 1


def test_an_unready_customer_lists_the_missing_steps_and_unusable_permissions(api_as, sales_agent,
                                                                            unready_customer):
    SubscriptionFactory(customer=unready_customer, offer=Subscription.Offer.AZURE_PLAN)
    PurchasePermissionFactory(customer=unready_customer, resource=Resource.AZURE_RESERVATIONS)
    body = api_as(sales_agent).get(f"/v1/customers/{unready_customer.tenant_id}").json()
    assert body["readiness"]["ready"] is False
    assert body["readiness"]["hasAzureSubscription"] is True
    assert len(body["readiness"]["missingSteps"]) == 1 and "Owner" in body["readiness"]["missingSteps"][0]
    reservations = next(p for p in body["permissions"] if p["resource"] == "AzureReservedInstances")
    assert reservations["allowed"] and not reservations["usable"]


def test_an_unknown_or_malformed_tenant_id_gets_404(api_as, helpdesk_agent):
    api = api_as(helpdesk_agent)
    for tenant in ("0431a72c-7d8e-4b4f-9f5e-2f4c8e1d9b3a", "not-a-uuid"):
        response = api.get(f"/v1/customers/{tenant}")
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert response.json()["code"] == "customer_not_found"


def test_customers_are_searched_and_paged_by_name(api_as, any_agent):
    for name in ["Delta", "alpha", "Charlie", "Bravo", "Echo", "Alpha"]:
        CustomerFactory(company_name=name)
    api = api_as(any_agent)
    names, headers = [], {}
    while True:
        body = api.get("/v1/customers", {"size": 2}, **headers).json()
        names += [c["companyProfile"]["companyName"] for c in body["items"]]
        if "continuationToken" not in body:
            break
        headers = {"MS-ContinuationToken": body["continuationToken"]}
    assert sorted(names) == sorted(["Delta", "alpha", "Charlie", "Bravo", "Echo", "Alpha"])
    assert len(names) == 6
    found = api.get("/v1/customers", {"q": "ALPH"}).json()
    assert sorted(c["companyProfile"]["companyName"] for c in found["items"]) == ["Alpha", "alpha"]
    assert found["items"][0]["links"]["self"]["uri"].startswith("/v1/customers/")


def test_a_search_with_a_nul_character_gets_400(api_as, helpdesk_agent):
    response = api_as(helpdesk_agent).get("/v1/customers", {"q": "Contoso\x00"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid_query"


def test_too_many_query_parameters_get_400(api_as, helpdesk_agent):
    query = "&".join(f"p{i}=1" for i in range(1500))
    response = api_as(helpdesk_agent).get(f"/v1/customers?{query}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid_request"
