import datetime as dt
import json
from http import HTTPStatus

import pytest

from activitylog.models import Action, Source
from activitylog.services import Origin, record
from permissions.models import Resource
from permissions.services import set_purchase_permissions
from tests.factories import CustomerFactory

from .conftest import PARTNER, new_policy

URL = "/v1/auditrecords"


def test_admin_agents_and_operators_read_records_in_partner_centers_shape(api_as, admin_agent, operator,
                                                                        customer):
    api = api_as(admin_agent)
    api.post("/v1/SelfServePolicy", new_policy(customer, Resource.AZURE_RESERVATIONS),
             **{"MS-RequestId": "req-7"})
    for agent in (admin_agent, operator):
        response = api_as(agent).get(URL)
        assert response.status_code == HTTPStatus.OK
        body = response.json()
        assert body["totalCount"] == 1 and "continuationToken" not in body
        (item,) = body["items"]
        assert {key: item[key] for key in item if key not in ("operationDate", "customizedData")} == {
            "partnerId": PARTNER,
            "customerId": str(customer.tenant_id),
            "customerName": "Contoso Ltd",
            "userPrincipalName": "admin@partner.example",
            "applicationId": "",
            "resourceType": "self_serve_policy",
            "resourceOldValue": json.dumps({"permissions": []}),
            "resourceNewValue": json.dumps(
                {"permissions": [{"action": "Purchase", "resource": "AzureReservedInstances"}]}),
            "operationType": "create_self_serve_policy",
            "operationStatus": "succeeded",
            "attributes": {"objectType": "AuditRecord"},
        }
        assert item["operationDate"].endswith("Z")
        data = {pair["key"]: pair["value"] for pair in item["customizedData"]}
        assert (data["source"], data["requestId"], data["actionName"]) == (
            "api", "req-7", "Create Customer Purchase Permissions")


@pytest.mark.parametrize("role", ["sales_agent", "helpdesk_agent"])
def test_other_roles_cannot_read_records(api_as, agents, role):
    response = api_as(agents[role]).get(URL)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "forbidden"


def _log(customer, admin_agent, *, resource_type="customer"):
    return record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=Origin.system("tests"),
                  customer=customer, resource_type=resource_type)


@pytest.fixture
def two_customers(db):
    return CustomerFactory(company_name="PT Maju Jaya"), CustomerFactory(company_name="Fabrikam")


@pytest.mark.parametrize("given, expected", [
    ({"Field": "CompanyName", "Value": "maju", "Operator": "substring"}, ["PT Maju Jaya"]),
    ({"Field": "companyname", "Value": "FABRIKAM", "Operator": "equals"}, ["Fabrikam"]),
    ({"Field": "ResourceType", "Value": "SUBSCRIPTION", "Operator": "equals"}, ["Fabrikam"]),
])
def test_filters_ignore_case(api_as, operator, admin_agent, two_customers, given, expected):
    maju, fabrikam = two_customers
    _log(maju, admin_agent)
    _log(fabrikam, admin_agent, resource_type="subscription")
    body = api_as(operator).get(URL, {"filter": json.dumps(given)}).json()
    assert [item["customerName"] for item in body["items"]] == expected


def test_filter_by_customer_id_in_upper_case(api_as, operator, admin_agent, two_customers):
    maju, fabrikam = two_customers
    _log(maju, admin_agent)
    _log(fabrikam, admin_agent)
    given = {"Field": "CustomerId", "Value": str(fabrikam.tenant_id).upper(), "Operator": "equals"}
    body = api_as(operator).get(URL, {"filter": json.dumps(given)}).json()
    assert [item["customerName"] for item in body["items"]] == ["Fabrikam"]


@pytest.mark.parametrize("query", [
    {"filter": "{not json"},
    {"filter": json.dumps({"Field": "Action", "Value": "x", "Operator": "equals"})},
    {"filter": json.dumps({"Field": "CustomerId", "Value": "abc", "Operator": "equals"})},
    {"filter": json.dumps({"Field": "CustomerId", "Value": PARTNER, "Operator": "substring"})},
    {"filter": json.dumps(["CompanyName"])},
    {"startDate": "yesterday"},
    {"startDate": "2024-02-30"},
    {"startDate": "2025-01-02", "endDate": "2025-01-01"},
    {"size": "0"}, {"size": "501"}, {"size": "ten"}, {"size": "١٠"},
])
def test_bad_queries_get_400(api_as, operator, query):
    response = api_as(operator).get(URL, query)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["description"]


def test_dates_select_whole_days_and_there_is_no_90_day_window(api_as, operator, admin_agent, customer):
    entry = _log(customer, admin_agent)
    day = entry.occurred_at.date()
    api = api_as(operator)
    assert api.get(URL, {"startDate": str(day), "endDate": str(day)}).json()["totalCount"] == 1
    assert api.get(URL, {"startDate": "2001-01-01"}).json()["totalCount"] == 1
    before = day - dt.timedelta(days=1)
    assert api.get(URL, {"startDate": "2001-01-01", "endDate": str(before)}).json()["totalCount"] == 0


def test_a_forged_continuation_token_gets_400(api_as, operator, admin_agent, customer):
    for _ in range(3):
        _log(customer, admin_agent)
    api = api_as(operator)
    token = api.get(URL, {"size": 1}).json()["continuationToken"]
    for forged in (token[:-3] + "abc", "garbage", "x" * 3000):
        response = api.get(URL, **{"MS-ContinuationToken": forged})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response.json()["code"] == "invalid_continuation_token"
    # A customers token is not an audit records token.
    CustomerFactory()
    customers_token = api.get("/v1/customers", {"size": 1}).json()["continuationToken"]
    assert api.get(URL, **{"MS-ContinuationToken": customers_token}).status_code == HTTPStatus.BAD_REQUEST


def test_continuation_returns_each_record_exactly_once_while_new_ones_are_written(
        api_as, operator, admin_agent, customer, unready_customer):
    origin = Origin(source=Source.WEB, request_id="seed")
    for i in range(3000):
        record(action=Action.UPDATE_SUBSCRIPTION, actor=admin_agent, origin=origin, customer=customer,
               resource_type="subscription", resource_id=str(i))
    existing = set(customer_entries())
    api = api_as(operator)
    seen: list[str] = []
    headers: dict = {}
    pages = 0
    while True:
        body = api.get(URL, {"size": 450, "filter": json.dumps(
            {"Field": "CustomerId", "Value": str(customer.tenant_id)})}, **headers).json()
        seen += [pair["value"] for item in body["items"] for pair in item["customizedData"]
                 if pair["key"] == "resourceId"]
        pages += 1
        # Meanwhile the portal keeps writing, for this customer and others.
        for _ in range(5):
            record(action=Action.UPDATE_SUBSCRIPTION, actor=admin_agent, origin=origin, customer=customer,
                   resource_type="subscription", resource_id="new")
        set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                                 allowed={Resource.AZURE_SAVINGS_PLAN: pages % 2 == 1})
        if "continuationToken" not in body:
            break
        assert body["links"]["next"]["headers"] == [
            {"key": "MS-ContinuationToken", "value": body["continuationToken"]}]
        headers = {"MS-ContinuationToken": body["continuationToken"]}
    assert pages == 7
    assert len(seen) == len(set(seen)) == 3000
    assert set(seen) == existing


def customer_entries():
    from activitylog.models import ActivityLogEntry
    return ActivityLogEntry.objects.filter(resource_type="subscription").exclude(
        resource_id="new").values_list("resource_id", flat=True)


@pytest.mark.parametrize("query", [
    {"startDate": "0001-01-01T00:00:00+05:00"},  # before the year 1 in UTC
    {"endDate": "9999-12-31T23:59:59-05:00"},  # after the year 9999 in UTC
    {"startDate": "2024-01-01T25:00:00"},
    {"startDate": "2024-01-01T10:00:00+25:00"},
    {"filter": json.dumps({"Field": "CompanyName", "Value": "\x00", "Operator": "substring"})},
    {"filter": json.dumps({"Field": "ResourceType", "Value": "a\x00b"})},
])
def test_impossible_dates_and_nul_characters_get_400(api_as, operator, query):
    response = api_as(operator).get(URL, query)
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_the_widest_window_is_fine(api_as, operator, admin_agent, customer):
    _log(customer, admin_agent)
    body = api_as(operator).get(URL, {"startDate": "0001-01-01", "endDate": "9999-12-31"}).json()
    assert body["totalCount"] == 1


def test_a_refused_change_reads_as_a_failed_record_with_its_reason(api_as, sales_agent, operator, customer):
    api_as(sales_agent).post("/v1/SelfServePolicy", new_policy(customer, Resource.AZURE_SAVINGS_PLAN))
    (item,) = api_as(operator).get(URL).json()["items"]
    assert (item["operationStatus"], item["userPrincipalName"]) == ("failed", "sales@partner.example")
    data = {pair["key"]: pair["value"] for pair in item["customizedData"]}
    assert "Admin agents" in data["failureReason"]


@pytest.mark.parametrize("field, operator_", [("CompanyName", "substring"), ("CompanyName", "equals"),
                                             ("ResourceType", "equals"), ("CustomerId", "equals")])
def test_a_lone_surrogate_in_a_filter_gets_a_clear_400(api_as, operator, customer, field, operator_):
    # JSON's "\ud800" escape decodes to a lone surrogate, which UTF-8 (and so the database) cannot encode.
    query = {"filter": json.dumps({"Field": field, "Value": "Mü\ud800ller", "Operator": operator_})}

    response = api_as(operator).get(URL, query)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid_filter"
    assert "surrogate" in response.json()["description"]
