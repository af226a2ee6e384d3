import datetime as dt
from http import HTTPStatus

import pytest
from django.utils import timezone

from activitylog.models import Action, ActivityLogEntry, Source, Status
from activitylog.services import Origin
from api.models import ApiToken
from api.services import issue_token
from permissions.models import PurchasePermission, Resource
from portal.models import Agent
from tests.factories import PurchasePermissionFactory

from .conftest import PARTNER, Api, new_policy, policy_id, policy_url

RI, SP = Resource.AZURE_RESERVATIONS.value, Resource.AZURE_SAVINGS_PLAN.value


def allowed(customer) -> set[str]:
    return set(PurchasePermission.objects.filter(customer=customer).values_list("resource", flat=True))


def allow(customer, *resources, by=None):
    for resource in resources:
        PurchasePermissionFactory(customer=customer, resource=resource,
                                  **({"granted_by": by} if by else {}))


@pytest.fixture
def admin_api(api_as, admin_agent) -> Api:
    return api_as(admin_agent)


# Sign-in -------------------------------------------------------------------------------------------

def test_a_request_without_a_token_gets_401_in_json_not_the_login_page(client, customer):
    response = client.get(policy_url(customer))
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_browser_session_is_not_enough(signed_in, admin_agent, customer):
    response = signed_in(admin_agent).get(policy_url(customer))
    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("spoil", ["unknown", "revoked", "expired", "inactive_owner", "wrong_secret"])
def test_unusable_tokens_get_401(client, admin_agent, customer, spoil):
    token, raw = issue_token(actor=admin_agent, owner=admin_agent, name="script",
                             origin=Origin.system("tests"))
    if spoil == "unknown":
        raw = "csp_00000000_" + "x" * 43
    elif spoil == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    elif spoil == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    elif spoil == "inactive_owner":
        Agent.objects.filter(pk=admin_agent.pk).update(is_active=False)
    else:
        raw = raw[:-2] + ("AA" if not raw.endswith("AA") else "BB")
    response = client.get("/v1/SelfServePolicy", {"entity_id": str(customer.tenant_id)},
                          headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "unauthorized"


def test_a_used_token_records_when_it_was_last_used(admin_api, customer):
    token = ApiToken.objects.get(owner=admin_api.agent)
    assert token.last_used_at is None
    admin_api.get("/v1/SelfServePolicy", {"entity_id": str(customer.tenant_id)})
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_database_keeps_only_a_hash_of_the_secret(admin_agent):
    token, raw = issue_token(actor=admin_agent, owner=admin_agent, name="script",
                             origin=Origin.system("tests"))
    secret = raw.split("_", 2)[2]
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(secret not in str(value) for value in stored.values())


def test_requests_over_the_limit_get_429_with_retry_after(settings, api_as, admin_agent, sales_agent,
                                                         customer):
    settings.API_RATE_LIMIT = 2
    admin, sales = api_as(admin_agent), api_as(sales_agent)
    url = "/v1/SelfServePolicy"
    statuses = [admin.get(url, {"entity_id": str(customer.tenant_id)}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = admin.get(url, {"entity_id": str(customer.tenant_id)})
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= settings.API_RATE_LIMIT_WINDOW
    # The limit is per token: another token still gets through.
    assert sales.get(url, {"entity_id": str(customer.tenant_id)}).status_code == HTTPStatus.OK


def test_an_unsupported_method_gets_405_with_allow(admin_api, customer):
    response = admin_api.send("patch", policy_url(customer), {})
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "DELETE, GET, PUT"
    assert response.json()["code"] == "method_not_allowed"


# Reading -------------------------------------------------------------------------------------------

def test_every_role_reads_a_policy_in_partner_centers_shape(api_as, any_agent, customer):
    allow(customer, RI)
    response = api_as(any_agent).get(policy_url(customer))
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body == {
        "id": policy_id(customer),
        "selfServeEntity": {"selfServeEntityType": "customer", "tenantID": str(customer.tenant_id)},
        "grantor": {"grantorType": "billToPartner", "tenantID": PARTNER},
        "permissions": [{"resource": RI, "action": "Purchase"}],
        "attributes": {"etag": body["attributes"]["etag"], "objectType": "SelfServePolicy"},
    }
    assert response["ETag"] == f'"{body["attributes"]["etag"]}"'
    assert not ActivityLogEntry.objects.exists()  # reading writes nothing


def test_ids_in_upper_case_are_accepted(admin_api, customer):
    allow(customer, SP)
    response = admin_api.get(f"/v1/SelfServePolicy/{policy_id(customer).upper()}")
    assert response.status_code == HTTPStatus.OK
    listed = admin_api.get("/v1/SelfServePolicy", {"entity_id": str(customer.tenant_id).upper()})
    assert listed.json()["totalCount"] == 1


def test_list_by_entity_id(api_as, any_agent, customer, unready_customer):
    allow(customer, RI, SP)
    api = api_as(any_agent)
    body = api.get("/v1/SelfServePolicy", {"entity_id": str(customer.tenant_id)}).json()
    assert body["totalCount"] == 1
    assert [p["resource"] for p in body["items"][0]["permissions"]] == [RI, SP]
    empty = api.get("/v1/SelfServePolicy", {"entity_id": str(unready_customer.tenant_id)}).json()
    assert empty == {"totalCount": 0, "items": [], "attributes": {"objectType": "Collection"}}


@pytest.mark.parametrize("query, code", [
    ({}, "entity_id_required"), ({"entity_id": "nope"}, "invalid_entity_id")])
def test_list_needs_a_valid_entity_id(admin_api, query, code):
    response = admin_api.get("/v1/SelfServePolicy", query)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == code


def test_a_customer_without_permissions_has_no_policy_600039(admin_api, customer):
    response = admin_api.get(policy_url(customer))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == 600039


def test_an_unknown_customer_has_no_policy_600039(admin_api):
    response = admin_api.get(f"/v1/SelfServePolicy/{PARTNER}_0431a72c-7d8e-4b4f-9f5e-2f4c8e1d9b3a")
    assert response.json()["code"] == 600039


@pytest.mark.parametrize("bad_id", [
    "not-a-policy",
    PARTNER,
    f"{PARTNER}_",
    f"{PARTNER}_not-a-uuid",
    "11111111-2222-4333-8444-555555555555_0431a72c-7d8e-4b4f-9f5e-2f4c8e1d9b3a",  # another partner
    f"{PARTNER}_0431a72c7d8e4b4f9f5e2f4c8e1d9b3a",  # not the canonical form
    f"{PARTNER}_0431a72c-7d8e-4b4f-9f5e-2f4c8e1d9b3a_extra",
])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_a_malformed_id_gets_404_600040(admin_api, bad_id, method):
    if method == "put":
        response = admin_api.put(f"/v1/SelfServePolicy/{bad_id}",
                                 {"permissions": [], "attributes": {"etag": "x"}})
    else:
        response = getattr(admin_api, method)(f"/v1/SelfServePolicy/{bad_id}")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == 600040
    assert not ActivityLogEntry.objects.exists()


# Creating ------------------------------------------------------------------------------------------

def test_admin_agent_creates_a_policy_and_each_permission_is_logged(admin_api, admin_agent, customer):
    response = admin_api.post("/v1/SelfServePolicy", new_policy(customer, RI, SP),
                              **{"MS-RequestId": "req-1", "MS-CorrelationId": "corr-1"})
    assert response.status_code == HTTPStatus.CREATED
    assert response["Location"] == policy_url(customer)
    assert (response["MS-RequestId"], response["MS-CorrelationId"]) == ("req-1", "corr-1")
    assert [p["resource"] for p in response.json()["permissions"]] == [RI, SP]
    assert allowed(customer) == {RI, SP}
    entries = ActivityLogEntry.objects.order_by("id")
    assert [(e.action, e.resource_id, e.status) for e in entries] == [
        (Action.CREATE_PURCHASE_PERMISSION, RI, Status.SUCCEEDED),
        (Action.CREATE_PURCHASE_PERMISSION, SP, Status.SUCCEEDED),
    ]
    for entry in entries:
        assert (entry.source, entry.actor, entry.request_id, entry.correlation_id) == (
            Source.API, admin_agent, "req-1", "corr-1")


def test_a_request_id_is_made_up_when_absent_and_stored(admin_api, customer):
    response = admin_api.post("/v1/SelfServePolicy", new_policy(customer, RI))
    assert response["MS-RequestId"]
    assert ActivityLogEntry.objects.get().request_id == response["MS-RequestId"]


def test_a_second_post_gets_409_600041_and_changes_nothing(admin_api, customer):
    allow(customer, RI)
    response = admin_api.post("/v1/SelfServePolicy", new_policy(customer, SP))
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == 600041
    assert allowed(customer) == {RI}
    assert not ActivityLogEntry.objects.exists()


def test_read_only_roles_cannot_create_and_the_refusal_is_logged(api_as, non_admin_agent, customer):
    response = api_as(non_admin_agent).post("/v1/SelfServePolicy", new_policy(customer, RI))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "forbidden"
    assert "Admin agents" in response.json()["description"]
    assert allowed(customer) == set()
    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.status, entry.actor, entry.source) == (
        Action.CREATE_PURCHASE_PERMISSION, Status.FAILED, non_admin_agent, Source.API)


def test_an_unready_customer_is_refused_with_the_missing_step(admin_api, unready_customer):
    response = admin_api.post("/v1/SelfServePolicy", new_policy(unready_customer, RI))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["code"] == "customer_not_ready"
    assert "Azure plan" in body["description"] and "Owner" in body["description"]
    assert len(body["data"]) == 2
    assert allowed(unready_customer) == set()
    entry = ActivityLogEntry.objects.get()
    assert (entry.status, entry.resource_id) == (Status.FAILED, RI)


def test_an_unknown_customer_gets_404(admin_api, customer):
    body = new_policy(customer, RI)
    body["selfServeEntity"]["tenantID"] = "0431a72c-7d8e-4b4f-9f5e-2f4c8e1d9b3a"
    response = admin_api.post("/v1/SelfServePolicy", body)
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "customer_not_found"


def _spoiled(customer, how):
    body = new_policy(customer, RI)
    match how:
        case "resource":
            body["permissions"][0]["resource"] = "AzureSpotVMs"
        case "action":
            body["permissions"][0]["action"] = "Refund"
        case "permissions_type":
            body["permissions"] = "AzureReservedInstances"
        case "permission_type":
            body["permissions"] = ["AzureReservedInstances"]
        case "resource_type":
            body["permissions"][0]["resource"] = 1
        case "empty":
            body["permissions"] = []
        case "duplicate":
            body["permissions"] *= 2
        case "entity_type":
            body["selfServeEntity"]["selfServeEntityType"] = "reseller"
        case "tenant":
            body["selfServeEntity"]["tenantID"] = 42
        case "grantor":
            body["grantor"]["tenantID"] = "11111111-2222-4333-8444-555555555555"
        case "grantor_type":
            body["grantor"]["grantorType"] = "partner"
        case "no_grantor":
            del body["grantor"]
        case "entity_not_object":
            body["selfServeEntity"] = None
    return body


@pytest.mark.parametrize("how", ["resource", "action", "permissions_type", "permission_type", "resource_type",
                                 "empty", "duplicate", "entity_type", "tenant", "grantor", "grantor_type",
                                 "no_grantor", "entity_not_object"])
def test_a_wrong_body_gets_400_and_writes_nothing(admin_api, customer, how):
    response = admin_api.post("/v1/SelfServePolicy", _spoiled(customer, how))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert isinstance(body["code"], str) and body["description"]
    assert allowed(customer) == set()
    assert not ActivityLogEntry.objects.exists()


@pytest.mark.parametrize("raw", ["{", "[]", "null", '"text"', "[" * 5000 + "]" * 5000, b"\xff\xfe", "NaN"])
def test_malformed_json_gets_400(admin_api, raw):
    response = admin_api.post("/v1/SelfServePolicy", raw)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] in {"malformed_json", "invalid_field"}
    assert not ActivityLogEntry.objects.exists()


def test_a_body_that_is_not_json_gets_415(admin_api, customer):
    response = admin_api.post("/v1/SelfServePolicy", "resource=AzureReservedInstances",
                              content_type="application/x-www-form-urlencoded")
    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json()["code"] == "unsupported_media_type"


def test_an_oversized_body_gets_413(settings, admin_api, customer):
    body = new_policy(customer, RI)
    body["padding"] = "x" * settings.API_MAX_BODY_BYTES
    response = admin_api.post("/v1/SelfServePolicy", body)
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json()["code"] == "payload_too_large"
    assert allowed(customer) == set()


# Replacing -----------------------------------------------------------------------------------------

def _current(api: Api, customer) -> dict:
    return api.get(policy_url(customer)).json()


def test_admin_agent_replaces_the_permission_list_with_the_etag_in_the_body(admin_api, customer):
    allow(customer, RI)
    policy = _current(admin_api, customer)
    policy["permissions"] = [{"resource": SP, "action": "Purchase"}]
    response = admin_api.put(policy_url(customer), policy)
    assert response.status_code == HTTPStatus.OK
    assert response.json()["permissions"] == [{"resource": SP, "action": "Purchase"}]
    assert response.json()["attributes"]["etag"] != policy["attributes"]["etag"]
    assert allowed(customer) == {SP}
    assert sorted((e.action, e.resource_id) for e in ActivityLogEntry.objects.all()) == [
        (Action.CREATE_PURCHASE_PERMISSION, SP), (Action.DELETE_PURCHASE_PERMISSION, RI)]
    assert {e.source for e in ActivityLogEntry.objects.all()} == {Source.API}


def test_put_takes_the_etag_from_if_match(admin_api, customer):
    allow(customer, RI)
    etag = admin_api.get(policy_url(customer))["ETag"]
    response = admin_api.put(policy_url(customer), {"permissions": [{"resource": RI, "action": "Purchase"},
                                                                    {"resource": SP, "action": "Purchase"}]},
                             **{"If-Match": etag})
    assert response.status_code == HTTPStatus.OK
    assert allowed(customer) == {RI, SP}


def test_a_stale_etag_gets_412_and_changes_nothing(admin_api, customer):
    allow(customer, RI)
    stale = _current(admin_api, customer)
    # Someone else changes the policy in between: delete and re-create reservations.
    PurchasePermission.objects.filter(customer=customer).delete()
    allow(customer, RI)
    stale["permissions"] = []
    response = admin_api.put(policy_url(customer), stale)
    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    assert response.json()["code"] == "etag_mismatch"
    assert allowed(customer) == {RI}
    assert not ActivityLogEntry.objects.exists()


def test_put_without_an_etag_gets_428(admin_api, customer):
    allow(customer, RI)
    response = admin_api.put(policy_url(customer), {"permissions": []})
    assert response.status_code == HTTPStatus.PRECONDITION_REQUIRED
    assert allowed(customer) == {RI}


def test_a_put_that_changes_nothing_logs_nothing(admin_api, customer):
    allow(customer, RI)
    policy = _current(admin_api, customer)
    response = admin_api.put(policy_url(customer), policy)
    assert response.status_code == HTTPStatus.OK
    assert response.json() == policy
    assert not ActivityLogEntry.objects.exists()


def test_read_only_roles_cannot_replace_and_the_refusal_is_logged(api_as, non_admin_agent, customer):
    allow(customer, RI)
    api = api_as(non_admin_agent)
    policy = _current(api, customer)
    policy["permissions"] = [{"resource": SP, "action": "Purchase"}]
    response = api.put(policy_url(customer), policy)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert allowed(customer) == {RI}
    assert sorted((e.action, e.resource_id, e.status) for e in ActivityLogEntry.objects.all()) == [
        (Action.CREATE_PURCHASE_PERMISSION, SP, Status.FAILED),
        (Action.DELETE_PURCHASE_PERMISSION, RI, Status.FAILED)]


def test_allowing_more_for_a_customer_no_longer_ready_names_the_missing_step(admin_api, unready_customer):
    allow(unready_customer, RI)
    policy = _current(admin_api, unready_customer)
    policy["permissions"].append({"resource": SP, "action": "Purchase"})
    response = admin_api.put(policy_url(unready_customer), policy)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "customer_not_ready"
    assert "Subscriptions page" in response.json()["description"]
    assert allowed(unready_customer) == {RI}
    assert [(e.resource_id, e.status) for e in ActivityLogEntry.objects.all()] == [(SP, Status.FAILED)]


def test_put_on_a_missing_policy_gets_404_600039(admin_api, customer):
    response = admin_api.put(policy_url(customer), {"permissions": [], "attributes": {"etag": "x"}})
    assert response.json()["code"] == 600039
    assert not ActivityLogEntry.objects.exists()


def test_put_with_another_id_in_the_body_gets_400(admin_api, customer, unready_customer):
    allow(customer, RI)
    policy = _current(admin_api, customer)
    policy["id"] = policy_id(unready_customer)
    response = admin_api.put(policy_url(customer), policy)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "id_mismatch"


# Deleting ------------------------------------------------------------------------------------------

def test_admin_agent_deletes_every_permission(admin_api, customer):
    allow(customer, RI, SP)
    response = admin_api.delete(policy_url(customer))
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert allowed(customer) == set()
    assert sorted((e.action, e.resource_id, e.status) for e in ActivityLogEntry.objects.all()) == [
        (Action.DELETE_PURCHASE_PERMISSION, RI, Status.SUCCEEDED),
        (Action.DELETE_PURCHASE_PERMISSION, SP, Status.SUCCEEDED)]
    assert admin_api.get(policy_url(customer)).status_code == HTTPStatus.NOT_FOUND


def test_deleting_a_missing_policy_gets_404_600039_and_logs_nothing(api_as, any_agent, customer):
    response = api_as(any_agent).delete(policy_url(customer))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == 600039
    assert not ActivityLogEntry.objects.exists()


def test_read_only_roles_cannot_delete_and_the_refusal_is_logged(api_as, non_admin_agent, customer):
    allow(customer, SP)
    response = api_as(non_admin_agent).delete(policy_url(customer))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert allowed(customer) == {SP}
    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.resource_id, entry.status) == (
        Action.DELETE_PURCHASE_PERMISSION, SP, Status.FAILED)


def test_delete_with_a_stale_if_match_gets_412(admin_api, customer):
    allow(customer, SP)
    response = admin_api.delete(policy_url(customer), **{"If-Match": '"stale"'})
    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    assert allowed(customer) == {SP}


@pytest.mark.parametrize("path", ["/v1/", "/v1/SelfServePolicy/", "/v1/SelfServePolicy/a/b", "/v1/nothing"])
def test_an_unknown_api_address_gets_a_json_404_without_sign_in(client, path):
    response = client.post(path, "{}", content_type="application/json")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


def test_a_token_with_a_nul_character_gets_401_not_a_database_error(client):
    token = "csp_" + "\x00" * 8 + "_x"
    response = client.get("/v1/customers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == HTTPStatus.UNAUTHORIZED
