"""SelfServePolicy: every verb, etags, the documented error codes, App+User only, MS-RequestId."""

import pytest

from .conftest import CONTOSO, FABRIKAM, PARTNER, token

RI = {"resource": "AzureReservedInstances", "action": "Purchase"}
SP = {"resource": "AzureSavingsPlan", "action": "Purchase"}


@pytest.fixture
def pc(sim, http):
    bearer = token(sim)
    counter = iter(range(1, 1000))

    def call(method, path, *, json=None, request_id=None, app_only=False, **headers):
        auth = token(sim, app_only=True) if app_only else bearer
        return http.request(method, sim.partner_center_url + path, json=json, headers={
            "Authorization": f"Bearer {auth}", "MS-CorrelationId": "corr-ssp",
            "MS-RequestId": request_id or f"req-{next(counter)}", **headers})
    return call


def new_policy(customer=CONTOSO, permissions=(RI,)):
    return {"selfServeEntity": {"selfServeEntityType": "customer", "tenantID": customer},
            "grantor": {"grantorType": "billToPartner", "tenantID": PARTNER},
            "permissions": list(permissions)}


def test_create_read_update_delete(pc):
    created = pc("POST", "/v1/SelfServePolicy", json=new_policy())
    assert created.status_code == 201
    policy = created.json()
    assert policy["id"] == f"{PARTNER}_{CONTOSO}"
    assert policy["selfServeEntity"] == {"selfServeEntityType": "customer", "tenantID": CONTOSO}
    assert policy["grantor"] == {"grantorType": "billToPartner", "tenantID": PARTNER}
    assert policy["permissions"] == [RI]
    assert policy["attributes"]["objectType"] == "SelfServePolicy" and policy["attributes"]["etag"]

    listed = pc("GET", f"/v1/SelfServePolicy?entity_id={CONTOSO}").json()
    assert listed["totalCount"] == 1 and listed["items"] == [policy]
    assert pc("GET", f"/v1/SelfServePolicy/{policy['id']}").json() == policy

    policy["permissions"] = [RI, SP]
    updated = pc("PUT", f"/v1/SelfServePolicy/{policy['id']}", json=policy)
    assert updated.status_code == 200
    assert updated.json()["permissions"] == [RI, SP]
    assert updated.json()["attributes"]["etag"] != policy["attributes"]["etag"]

    assert pc("DELETE", f"/v1/SelfServePolicy/{policy['id']}").status_code == 204
    assert pc("GET", f"/v1/SelfServePolicy?entity_id={CONTOSO}").json()["items"] == []
    gone = pc("GET", f"/v1/SelfServePolicy/{policy['id']}")
    assert gone.status_code == 404 and gone.json()["code"] == "600039"


def test_a_seeded_policy_is_read_back(pc):
    body = pc("GET", f"/v1/SelfServePolicy?entity_id={FABRIKAM}").json()
    assert [p["permissions"] for p in body["items"]] == [[RI]]


def test_create_when_one_exists_is_600041(pc):
    response = pc("POST", "/v1/SelfServePolicy", json=new_policy(FABRIKAM))
    assert response.status_code == 409 and response.json()["code"] == "600041"
    assert response.json()["description"] == "Self-serve policy already exists."


def test_update_of_a_missing_policy_is_600039(pc):
    policy = {**new_policy(), "id": f"{PARTNER}_{CONTOSO}", "attributes": {"etag": '"x"'}}
    response = pc("PUT", f"/v1/SelfServePolicy/{PARTNER}_{CONTOSO}", json=policy)
    assert response.status_code == 404 and response.json()["code"] == "600039"


def test_update_with_an_incorrect_identifier_is_600040(pc):
    current = pc("GET", f"/v1/SelfServePolicy/{PARTNER}_{FABRIKAM}").json()
    response = pc("PUT", "/v1/SelfServePolicy/not-a-policy-id", json=current)
    assert response.status_code == 404 and response.json()["code"] == "600040"


def test_update_with_a_stale_etag_is_412_and_changes_nothing(pc):
    current = pc("GET", f"/v1/SelfServePolicy/{PARTNER}_{FABRIKAM}").json()
    stale = {**current, "permissions": [SP], "attributes": {**current["attributes"], "etag": '"stale"'}}
    response = pc("PUT", f"/v1/SelfServePolicy/{current['id']}", json=stale)
    assert response.status_code == 412
    assert pc("GET", f"/v1/SelfServePolicy/{current['id']}").json() == current


def test_app_only_tokens_are_refused_on_every_verb(pc):
    policy_id = f"{PARTNER}_{FABRIKAM}"
    for method, path, body in [("GET", f"/v1/SelfServePolicy?entity_id={FABRIKAM}", None),
                               ("GET", f"/v1/SelfServePolicy/{policy_id}", None),
                               ("POST", "/v1/SelfServePolicy", new_policy()),
                               ("PUT", f"/v1/SelfServePolicy/{policy_id}", new_policy()),
                               ("DELETE", f"/v1/SelfServePolicy/{policy_id}", None)]:
        assert pc(method, path, json=body, app_only=True).status_code == 403, (method, path)
    assert pc("GET", f"/v1/SelfServePolicy/{policy_id}").status_code == 200


def test_a_repeated_request_id_returns_the_first_answer_and_changes_nothing(pc, sim):
    first = pc("POST", "/v1/SelfServePolicy", json=new_policy(), request_id="same")
    repeat = pc("POST", "/v1/SelfServePolicy", json=new_policy(permissions=[SP]), request_id="same")
    assert (first.status_code, repeat.status_code) == (201, 201)
    assert repeat.json() == first.json()
    assert pc("GET", f"/v1/SelfServePolicy/{PARTNER}_{CONTOSO}").json()["permissions"] == [RI]
    records = [r for r in sim.control.get_state()["auditRecords"] if r["customerId"] == CONTOSO]
    assert [r["operationType"] for r in records] == ["create_self_serve_policy"]


def test_post_needs_request_and_correlation_ids(sim, http):
    response = http.post(sim.partner_center_url + "/v1/SelfServePolicy", json=new_policy(),
                         headers={"Authorization": f"Bearer {token(sim)}"})
    assert response.status_code == 400
    assert sim.control.get_state()["customers"][0]["selfServePolicy"] is None


def test_unknown_permissions_are_refused(pc):
    response = pc("POST", "/v1/SelfServePolicy", json=new_policy(permissions=[{"resource": "AzureVMs",
                                                                               "action": "Purchase"}]))
    assert response.status_code == 400


def test_writes_leave_audit_records(pc, sim):
    policy = pc("POST", "/v1/SelfServePolicy", json=new_policy()).json()
    policy["permissions"] = [SP]
    pc("PUT", f"/v1/SelfServePolicy/{policy['id']}", json=policy)
    pc("DELETE", f"/v1/SelfServePolicy/{policy['id']}")
    records = [r for r in sim.control.get_state()["auditRecords"] if r["customerId"] == CONTOSO]
    assert [r["operationType"] for r in records] == [
        "create_self_serve_policy", "update_self_serve_policy", "delete_self_serve_policy"]
    assert {r["resourceType"] for r in records} == {"self_serve_policy"}
    assert records[0]["userPrincipalName"] == "admin@northwind.example"
    assert records[0]["originalCorrelationId"] == "corr-ssp"
    assert records[0]["resourceOldValue"] is None
    assert '"AzureReservedInstances"' in records[0]["resourceNewValue"]
    assert records[2]["resourceNewValue"] is None


def test_a_refused_write_can_be_retried_with_the_same_request_id(pc):
    current = pc("GET", f"/v1/SelfServePolicy/{PARTNER}_{FABRIKAM}").json()
    change = {**current, "permissions": [RI, SP]}
    stale = {**change, "attributes": {**current["attributes"], "etag": '"stale"'}}
    refused = pc("PUT", f"/v1/SelfServePolicy/{current['id']}", json=stale, request_id="change-1")
    assert refused.status_code == 412
    retried = pc("PUT", f"/v1/SelfServePolicy/{current['id']}", json=change, request_id="change-1")
    assert retried.status_code == 200 and retried.json()["permissions"] == [RI, SP]
