"""Partner Center over HTTPS: shapes, seek paging, token checks, throttling."""

import pytest

from .conftest import (
    ARM,
    ARM_SUB_1,
    ARM_SUB_2,
    AZURE_PLAN,
    CONTOSO,
    FABRIKAM,
    M365,
    PARTNER,
    scenario,
    token,
)


def get(http, sim, path, bearer, **kwargs):
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json", **kwargs.pop("headers", {})}
    return http.get(sim.partner_center_url + path, headers=headers, **kwargs)


def test_customers_list_in_microsofts_shape(sim, http):
    response = get(http, sim, "/v1/customers?size=40", token(sim))
    body = response.json()
    assert response.status_code == 200
    assert body["attributes"] == {"objectType": "Collection"}
    assert body["totalCount"] == 2
    assert "next" not in body["links"]
    first = body["items"][0]
    assert first["id"] == CONTOSO
    assert first["companyProfile"]["tenantId"] == CONTOSO
    assert first["companyProfile"]["companyName"] == "Contoso Ltd"
    assert first["companyProfile"]["domain"] == "contoso.onmicrosoft.com"
    assert first["relationshipToPartner"] == "reseller"
    assert first["attributes"] == {"objectType": "Customer"}
    assert "allowDelegatedAccess" not in first   # only on get-by-id


def test_customers_seek_paging_follows_links_next_with_the_continuation_token(sim, http):
    doc = scenario()
    doc["customers"] += [{"tenantId": f"c1000000-0000-4000-8000-{n:012d}", "companyName": f"Extra {n}",
                          "domain": f"extra{n}.onmicrosoft.com"} for n in range(5)]
    sim.control.put_state(doc)
    bearer = token(sim)
    seen, pages = [], 0
    response = get(http, sim, "/v1/customers?size=3", bearer)
    while True:
        body = response.json()
        pages += 1
        seen += [c["id"] for c in body["items"]]
        nxt = body["links"].get("next")
        if not nxt:
            break
        assert "seekOperation=Next" in nxt["uri"]
        assert nxt["headers"][0]["key"] == "MS-ContinuationToken"
        response = get(http, sim, nxt["uri"], bearer, headers={h["key"]: h["value"] for h in nxt["headers"]})
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7


def test_page_size_setting_caps_a_page(sim, http):
    sim.control.settings(pageSize={"customers": 1})
    body = get(http, sim, "/v1/customers?size=500", token(sim)).json()
    assert len(body["items"]) == 1 and "next" in body["links"]


def test_seek_without_a_token_is_a_bad_request(sim, http):
    response = get(http, sim, "/v1/customers?size=3&seekOperation=Next", token(sim))
    assert response.status_code == 400 and response.json()["source"] == "PartnerFD"


def test_customer_by_id_has_allow_delegated_access(sim, http):
    body = get(http, sim, f"/v1/customers/{CONTOSO}", token(sim)).json()
    assert body["id"] == CONTOSO and body["allowDelegatedAccess"] is True


def test_unknown_customer_is_404_in_partner_center_shape(sim, http):
    response = get(http, sim, "/v1/customers/00000000-0000-4000-8000-00000000dead", token(sim))
    assert response.status_code == 404
    assert set(response.json()) == {"code", "description", "data", "source"}


def test_subscriptions_of_a_customer(sim, http):
    body = get(http, sim, f"/v1/customers/{CONTOSO}/subscriptions", token(sim, app_only=True)).json()
    assert body["totalCount"] == 2
    plan = next(s for s in body["items"] if s["id"] == AZURE_PLAN)
    assert plan["offerId"].startswith("DZH318Z0BPS6")
    assert plan["status"] == "active" and plan["billingType"] == "usage"
    assert plan["attributes"]["objectType"] == "Subscription"
    assert {s["id"] for s in body["items"]} == {AZURE_PLAN, M365}


def test_azure_entitlements_of_an_azure_plan(sim, http):
    body = get(http, sim, f"/v1/customers/{CONTOSO}/subscriptions/{AZURE_PLAN}/azureEntitlements",
               token(sim)).json()
    assert [(e["id"], e["subscriptionId"], e["status"]) for e in body["items"]] == [
        (ARM_SUB_1, AZURE_PLAN, "active"), (ARM_SUB_2, AZURE_PLAN, "active")]
    assert body["items"][0]["attributes"] == {"objectType": "AzureEntitlement"}


def test_azure_entitlements_of_a_license_subscription_are_refused(sim, http):
    response = get(http, sim, f"/v1/customers/{CONTOSO}/subscriptions/{M365}/azureEntitlements", token(sim))
    assert response.status_code == 400


@pytest.mark.parametrize("bearer", [
    None, "not-a-jwt", "expired", "wrong-audience", "customer-tenant", "no-mfa"])
def test_partner_center_refuses_tokens_it_would_not_accept(sim, http, bearer):
    tokens = {None: None, "not-a-jwt": "abc.def.ghi",
              "expired": token(sim, expiresIn=-120),
              "wrong-audience": token(sim, resource=ARM),
              "customer-tenant": token(sim, tenant=CONTOSO),
              "no-mfa": token(sim, mfa=False)}
    headers = {"Authorization": f"Bearer {tokens[bearer]}"} if tokens[bearer] else {}
    response = http.get(sim.partner_center_url + "/v1/customers", headers=headers)
    assert response.status_code == 401
    assert response.json()["source"] == "PartnerFD"


def test_throttling_answers_429_with_retry_after_over_the_per_minute_limit(sim, http):
    sim.control.settings(throttleLimits={"partnerCenterPerMinute": 3})
    bearer = token(sim)
    statuses = [get(http, sim, f"/v1/customers/{CONTOSO}", bearer).status_code for _ in range(3)]
    throttled = get(http, sim, f"/v1/customers/{CONTOSO}", bearer)
    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    retry_after = int(throttled.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert throttled.json() == {"statusCode": 429,
                                "message": f"Rate limit is exceeded. Try again in {retry_after} seconds."}
    # the Subscription resource has its own limit
    assert get(http, sim, f"/v1/customers/{CONTOSO}/subscriptions", bearer).status_code == 200


def test_throttling_can_be_turned_off(sim, http):
    sim.control.settings(throttling=False, throttleLimits={"partnerCenterPerMinute": 1})
    bearer = token(sim)
    assert [get(http, sim, "/v1/customers", bearer).status_code for _ in range(3)] == [200, 200, 200]


def test_journal_records_each_request(sim, http):
    sim.control.clear_requests()
    get(http, sim, f"/v1/customers/{FABRIKAM}", token(sim),
        headers={"MS-RequestId": "r-1", "MS-CorrelationId": "c-1"})
    [entry] = sim.control.requests()
    assert entry["method"] == "GET" and entry["path"] == f"/partnercenter/v1/customers/{FABRIKAM}"
    assert entry["status"] == 200 and entry["tenant"] == PARTNER
    assert (entry["msRequestId"], entry["msCorrelationId"], entry["fault"]) == ("r-1", "c-1", None)
    assert sim.control.requests(since=entry["seq"]) == []


def test_pc_urls_are_case_insensitive(sim, http):
    assert get(http, sim, f"/v1/Customers/{CONTOSO}/Subscriptions", token(sim)).status_code == 200
