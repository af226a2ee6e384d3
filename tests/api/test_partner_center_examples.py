"""Partner Center's documented requests (shared/DOMAIN.md), replayed: same bodies, same status codes."""

import copy
from http import HTTPStatus

from activitylog.models import ActivityLogEntry

from .conftest import PARTNER

# DOMAIN.md's SelfServePolicy body; its elided ids ("634f6379-…", "0431a72c-…") are filled in per test.
DOCUMENTED_POLICY = {
    "id": "{partner}_{customer}",
    "selfServeEntity": {"selfServeEntityType": "customer", "tenantID": "{customer}"},
    "grantor": {"grantorType": "billToPartner", "tenantID": "{partner}"},
    "permissions": [
        {"resource": "AzureReservedInstances", "action": "Purchase"},
        {"resource": "AzureSavingsPlan", "action": "Purchase"},
    ],
    "attributes": {"etag": "…", "objectType": "SelfServePolicy"},
}


def documented(customer) -> dict:
    body = copy.deepcopy(DOCUMENTED_POLICY)
    ids = {"partner": PARTNER, "customer": str(customer.tenant_id)}
    body["id"] = body["id"].format(**ids)
    body["selfServeEntity"]["tenantID"] = ids["customer"]
    body["grantor"]["tenantID"] = ids["partner"]
    return body


def test_the_documented_requests_get_the_documented_status_codes(api_as, admin_agent, customer):
    api = api_as(admin_agent)
    body = documented(customer)
    url = f"/v1/SelfServePolicy/{body['id']}"

    # GET of a customer without a policy: 404 with 600039; a malformed id: 404 with 600040.
    assert api.get(url).json()["code"] == 600039
    assert api.get("/v1/SelfServePolicy/634f6379-…_0431a72c-…").json()["code"] == 600040

    # POST creates (201, the policy); the same POST again: 409 with 600041.
    created = api.post("/v1/SelfServePolicy", body)
    assert created.status_code == HTTPStatus.CREATED
    assert created.json()["id"] == body["id"]
    assert created.json()["permissions"] == body["permissions"]
    again = api.post("/v1/SelfServePolicy", body)
    assert (again.status_code, again.json()["code"]) == (HTTPStatus.CONFLICT, 600041)

    # GET ?entity_id=: {"totalCount": n, "items": [...]}.
    listed = api.get("/v1/SelfServePolicy", {"entity_id": str(customer.tenant_id)}).json()
    assert (listed["totalCount"], listed["items"]) == (1, [created.json()])

    # PUT: the body carries id and attributes.etag. The documented placeholder etag is stale: 412.
    assert api.put(url, body).status_code == HTTPStatus.PRECONDITION_FAILED
    current = api.get(url).json()
    body["attributes"]["etag"] = current["attributes"]["etag"]
    body["permissions"] = body["permissions"][:1]
    replaced = api.put(url, body)
    assert replaced.status_code == HTTPStatus.OK
    assert replaced.json()["permissions"] == [{"resource": "AzureReservedInstances", "action": "Purchase"}]

    # DELETE: 204, then the policy is gone.
    assert api.delete(url).status_code == HTTPStatus.NO_CONTENT
    assert api.get(url).json()["code"] == 600039
    assert ActivityLogEntry.objects.count() == 2 + 1 + 1  # create both, delete one, delete the last
