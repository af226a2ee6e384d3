"""Azure Resource Manager role assignments over HTTPS: list and paging, PUT, DELETE, token checks."""

import pytest

from .conftest import (
    ADMIN_AGENTS_GROUP,
    ARM,
    ARM_SUB_1,
    ARM_SUB_2,
    CONTOSO,
    CONTOSO_GROUP,
    CONTOSO_USER,
    OWNER,
    PARTNER,
    PC,
    READER,
    scenario,
    token,
)

API = "api-version=2022-04-01"


def url(sim, subscription=ARM_SUB_1, name=None):
    path = f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments"
    return sim.azure_management_url + path + (f"/{name}" if name else "") + f"?{API}"


def auth(sim, **kwargs):
    return {"Authorization": f"Bearer {token(sim, tenant=CONTOSO, resource=ARM, **kwargs)}"}


def test_list_role_assignments_in_arms_shape(sim, http):
    response = http.get(url(sim), headers=auth(sim))
    body = response.json()
    assert response.status_code == 200
    assert "nextLink" not in body
    assert len(body["value"]) == 3
    owner = next(a for a in body["value"] if a["properties"]["principalId"] == CONTOSO_USER)
    assert owner["type"] == "Microsoft.Authorization/roleAssignments"
    assert owner["id"] == f"/subscriptions/{ARM_SUB_1}/providers/Microsoft.Authorization/roleAssignments/" \
                          f"{owner['name']}"
    assert owner["properties"]["roleDefinitionId"] == (
        f"/subscriptions/{ARM_SUB_1}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}")
    assert owner["properties"]["principalType"] == "User"
    assert owner["properties"]["scope"] == f"/subscriptions/{ARM_SUB_1}"
    assert {a["properties"]["principalType"] for a in body["value"]} == {"User", "ForeignGroup",
                                                                         "ServicePrincipal"}
    assert int(response.headers["x-ms-ratelimit-remaining-subscription-reads"]) == 249


def test_role_assignments_page_with_next_link(sim, http):
    sim.control.settings(pageSize={"roleAssignments": 1})
    headers = auth(sim)
    names, link = [], url(sim)
    while link:
        body = http.get(link, headers=headers).json()
        names += [a["name"] for a in body["value"]]
        link = body.get("nextLink")
        if link:
            assert link.startswith(sim.azure_management_url + f"/subscriptions/{ARM_SUB_1}/")
            assert "$skipToken=" in link and API in link
    assert len(names) == len(set(names)) == 3


def test_filter_by_principal(sim, http):
    body = http.get(url(sim) + f"&$filter=principalId eq '{CONTOSO_USER}'", headers=auth(sim)).json()
    assert [a["properties"]["principalId"] for a in body["value"]] == [CONTOSO_USER]
    assert http.get(url(sim) + "&$filter=atScope()", headers=auth(sim)).status_code == 200


def test_api_version_is_required(sim, http):
    response = http.get(url(sim).replace(f"?{API}", ""), headers=auth(sim))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("partner-tenant", 401, "InvalidAuthenticationTokenTenant"),
    ("expired", 401, "ExpiredAuthenticationToken"),
    ("audience", 401, "InvalidAuthenticationTokenAudience"),
    ("missing", 401, "AuthenticationFailed"),
    ("app-only", 403, "AuthorizationFailed")])
def test_arm_refuses_tokens(sim, http, kind, status, code):
    headers = {
        "partner-tenant": {"Authorization": f"Bearer {token(sim, tenant=PARTNER, resource=ARM)}"},
        "expired": auth(sim, expiresIn=-60),
        "audience": {"Authorization": f"Bearer {token(sim, tenant=CONTOSO, resource=PC)}"},
        "missing": {},
        "app-only": auth(sim, app_only=True),
    }[kind]
    response = http.get(url(sim), headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_unknown_subscription_is_404(sim, http):
    response = http.get(url(sim, subscription="00000000-0000-4000-8000-000000000bad"), headers=auth(sim))
    assert response.status_code == 404 and response.json()["error"]["code"] == "SubscriptionNotFound"


def test_partner_agent_needs_the_admin_agents_owner_when_the_scenario_names_the_group(sim, http):
    doc = scenario()
    doc["partner"]["adminAgentsGroupId"] = ADMIN_AGENTS_GROUP
    sim.control.put_state(doc)
    assert http.get(url(sim), headers=auth(sim)).status_code == 200
    assert http.get(url(sim, subscription=ARM_SUB_2), headers=auth(sim)).status_code == 403


def test_put_creates_a_role_assignment_and_delete_removes_it(sim, http):
    name = "20000000-0000-4000-8000-000000000001"
    role = f"/subscriptions/{ARM_SUB_2}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"
    body = {"properties": {"roleDefinitionId": role, "principalId": CONTOSO_GROUP}}
    created = http.put(url(sim, ARM_SUB_2, name), json=body, headers=auth(sim))
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["principalType"] == "Group"
    assert "x-ms-ratelimit-remaining-subscription-writes" in created.headers
    again = http.put(url(sim, ARM_SUB_2, name), json=body, headers=auth(sim))
    assert again.status_code == 409 and again.json()["error"]["code"] == "RoleAssignmentExists"
    listed = http.get(url(sim, ARM_SUB_2), headers=auth(sim)).json()["value"]
    assert [a["name"] for a in listed] == [name]
    deleted = http.delete(url(sim, ARM_SUB_2, name), headers=auth(sim))
    assert deleted.status_code == 200 and deleted.json()["name"] == name
    assert http.delete(url(sim, ARM_SUB_2, name), headers=auth(sim)).status_code == 204
    assert http.get(url(sim, ARM_SUB_2), headers=auth(sim)).json()["value"] == []
    state = sim.control.get_state()
    assert state["customers"][0]["subscriptions"][0]["azureSubscriptions"][1]["roleAssignments"] == []


def test_put_for_a_principal_not_in_the_directory_is_principal_not_found(sim, http):
    body = {"properties": {"roleDefinitionId": OWNER, "principalId": "99999999-0000-4000-8000-000000000000"}}
    response = http.put(url(sim, ARM_SUB_2, "20000000-0000-4000-8000-000000000002"), json=body,
                        headers=auth(sim))
    assert response.status_code == 400 and response.json()["error"]["code"] == "PrincipalNotFound"
    assert http.get(url(sim, ARM_SUB_2), headers=auth(sim)).json()["value"] == []


def test_put_of_the_same_principal_and_role_under_another_name_is_a_conflict(sim, http):
    body = {"properties": {"roleDefinitionId": OWNER, "principalId": CONTOSO_USER}}
    response = http.put(url(sim, ARM_SUB_1, "20000000-0000-4000-8000-000000000003"), json=body,
                        headers=auth(sim))
    assert response.status_code == 409 and response.json()["error"]["code"] == "RoleAssignmentExists"


def test_writes_on_a_disabled_subscription_are_refused(sim, http):
    doc = scenario()
    doc["customers"][0]["subscriptions"][0]["azureSubscriptions"][1]["status"] = "suspended"
    sim.control.put_state(doc)
    body = {"properties": {"roleDefinitionId": READER, "principalId": CONTOSO_USER}}
    response = http.put(url(sim, ARM_SUB_2, "20000000-0000-4000-8000-000000000004"), json=body,
                        headers=auth(sim))
    assert response.status_code == 409 and response.json()["error"]["code"] == "ReadOnlyDisabledSubscription"


def test_token_bucket_throttles_reads_per_subscription(sim, http):
    sim.control.settings(throttleLimits={"armReads": 2, "armReadsPerSecond": 0.01})
    headers = auth(sim)
    first, second = (http.get(url(sim), headers=headers) for _ in range(2))
    third = http.get(url(sim), headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) >= 1
    assert third.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert http.get(url(sim, ARM_SUB_2), headers=headers).status_code == 200   # another subscription's bucket


def test_get_subscription(sim, http):
    body = http.get(f"{sim.azure_management_url}/subscriptions/{ARM_SUB_1}?api-version=2022-12-01",
                    headers=auth(sim)).json()
    assert (body["subscriptionId"], body["tenantId"], body["state"]) == (ARM_SUB_1, CONTOSO, "Enabled")
