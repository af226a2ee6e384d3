"""Partner Center's activity log: AuditRecord shape, 90-day and 30-day rules, filters, paging."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import CONTOSO, FABRIKAM, PARTNER, scenario, token


def record(n, when, customer=CONTOSO, name="Contoso Ltd", operation="create_order", resource="order"):
    return {"id": f"a{n:07d}-0000-4000-8000-000000000000", "partnerId": PARTNER, "customerId": customer,
            "customerName": name, "userPrincipalName": "buyer@contoso.example", "applicationId": None,
            "resourceType": resource, "resourceOldValue": None, "resourceNewValue": "{}",
            "operationType": operation, "originalCorrelationId": None,
            "operationDate": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "operationStatus": "succeeded",
            "customizedData": [{"key": "OrderId", "value": f"order-{n}"}],
            "attributes": {"objectType": "AuditRecord"}}


@pytest.fixture
def records(sim):
    now = datetime.now(UTC).replace(microsecond=0)
    doc = scenario()
    doc["auditRecords"] = [record(n, now - timedelta(days=n)) for n in range(1, 80)] + [
        record(100, now - timedelta(days=2, hours=1), customer=FABRIKAM, name="Fabrikam",
               operation="update_subscription", resource="subscription")]
    sim.control.put_state(doc)
    return now


def get(http, sim, params=None, path="/v1/auditrecords", headers=None):
    return http.get(sim.partner_center_url + path, params=params,
                    headers={"Authorization": f"Bearer {token(sim, app_only=True)}", **(headers or {})})


def day(moment):
    return moment.strftime("%Y-%m-%d")


def test_without_dates_the_last_30_days(sim, http, records):
    body = get(http, sim).json()
    assert body["attributes"] == {"objectType": "Collection"}
    ids = [r["id"] for r in body["items"]]
    assert len(ids) == 30   # days 1..29 and Fabrikam's
    assert body["items"][0]["attributes"] == {"objectType": "AuditRecord"}
    dates = [r["operationDate"] for r in body["items"]]
    assert dates == sorted(dates)


def test_one_day_window(sim, http, records):
    target = records - timedelta(days=2)
    body = get(http, sim, {"startDate": day(target), "endDate": day(target)}).json()
    assert {r["customerId"] for r in body["items"]} <= {CONTOSO, FABRIKAM}
    assert all(r["operationDate"].startswith(day(target)) for r in body["items"])


def test_start_more_than_90_days_ago_is_400(sim, http, records):
    response = get(http, sim, {"startDate": day(records - timedelta(days=91))})
    assert response.status_code == 400 and response.json()["source"] == "PartnerFD"


def test_a_window_over_30_days_is_400(sim, http, records):
    start = records - timedelta(days=60)
    response = get(http, sim, {"startDate": day(start), "endDate": day(start + timedelta(days=40))})
    assert response.status_code == 400


def test_filters_on_customer_company_and_resource_type(sim, http, records):
    start = day(records - timedelta(days=29))
    by_customer = get(http, sim, {"startDate": start, "filter": json.dumps(
        {"Field": "CustomerId", "Value": FABRIKAM, "Operator": "equals"})}).json()
    assert [r["customerId"] for r in by_customer["items"]] == [FABRIKAM]
    by_name = get(http, sim, {"startDate": start, "filter": json.dumps(
        {"Field": "CompanyName", "Value": "fabri", "Operator": "substring"})}).json()
    assert [r["customerName"] for r in by_name["items"]] == ["Fabrikam"]
    by_type = get(http, sim, {"startDate": start, "filter": json.dumps(
        {"Field": "ResourceType", "Value": "order", "Operator": "equals"})}).json()
    assert {r["resourceType"] for r in by_type["items"]} == {"order"}


def test_paging_with_the_continuation_token(sim, http, records):
    start = day(records - timedelta(days=29))
    seen, params, headers, path = [], {"startDate": start, "size": 7}, {}, "/v1/auditrecords"
    while True:
        body = get(http, sim, params, path=path, headers=headers).json()
        seen += [r["id"] for r in body["items"]]
        nxt = body["links"].get("next")
        if not nxt:
            break
        assert body["continuationToken"] == nxt["headers"][0]["value"]
        path, params = nxt["uri"], None
        headers = {h["key"]: h["value"] for h in nxt["headers"]}
    assert len(seen) == len(set(seen)) == 30


def test_the_auditactivity_path_answers_the_same(sim, http, records):
    assert get(http, sim, path="/auditactivity/v1/auditrecords").json()["totalCount"] == 30


def test_thirty_days_both_included_answer_and_thirty_one_are_400(sim, http, records):
    start = records - timedelta(days=60)
    thirty = get(http, sim, {"startDate": day(start), "endDate": day(start + timedelta(days=29))})
    assert thirty.status_code == 200
    assert all(day(start) <= r["operationDate"][:10] <= day(start + timedelta(days=29))
               for r in thirty.json()["items"])
    thirty_one = get(http, sim, {"startDate": day(start), "endDate": day(start + timedelta(days=30))})
    assert thirty_one.status_code == 400
    assert "30 days" in thirty_one.json()["description"]
