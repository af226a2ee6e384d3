"""The JSON API's reads of a customer's orders, reservations and savings plans (issue 12 item 9), from a
purchase made in the simulator and seen by one poll."""

from http import HTTPStatus

from django.test import Client

from activitylog.models import ActivityLogEntry
from purchases.poll import poll
from tests.api.conftest import token_for


def _api(agent):
    client, token = Client(), token_for(agent)

    def get(path, **headers):
        return client.get(path, headers={"Authorization": f"Bearer {token}", **headers})
    return get


def test_every_role_reads_what_the_customer_bought(shop, any_agent):
    assert shop.buy("reservation", quantity=2, amount=2400.0, term="P3Y", scope="Single").status_code == 201
    assert shop.buy("savingsPlan", hourlyCommitment=1.5).status_code == 201
    poll()
    entries = ActivityLogEntry.objects.count()
    get = _api(any_agent)

    orders = get(f"/v1/customers/{shop.tenant}/orders")
    assert orders.status_code == HTTPStatus.OK, orders.content
    [order] = orders.json()["items"]   # the savings plan never reaches Partner Center
    assert order["transactionType"] == "UserPurchase" and order["referenceCustomerId"] == shop.tenant
    assert order["placedBy"] == shop.buyer and order["attributes"] == {"objectType": "Order"}
    assert order["lineItems"][0]["quantity"] == 2

    [reservation] = get(f"/v1/customers/{shop.tenant}/reservations").json()["items"]
    assert reservation["type"] == "Microsoft.Capacity/reservationOrders/reservations"
    assert reservation["properties"]["quantity"] == 2 and reservation["properties"]["term"] == "P3Y"
    assert reservation["properties"]["appliedScopeType"] == "Single"
    assert reservation["properties"]["appliedScopes"] == [f"/subscriptions/{shop.azure}"]
    assert reservation["reservationOrder"]["total"] == {"amount": 2400.0, "currencyCode": "USD"}
    assert reservation["boughtBy"] == shop.buyer

    [plan] = get(f"/v1/customers/{shop.tenant}/savingsplans").json()["items"]
    assert plan["properties"]["commitment"] == {"grain": "Hourly", "currencyCode": "USD", "amount": 1.5}
    assert plan["boughtBy"] == shop.buyer and plan["id"].startswith(
        "/providers/Microsoft.BillingBenefits/savingsPlanOrders/")
    assert ActivityLogEntry.objects.count() == entries   # reads log nothing


def test_pages_seek_newest_first_and_a_token_stays_with_its_customer(shop, admin_agent):
    for quantity in (1, 2, 3):
        assert shop.buy("reservation", quantity=quantity).status_code == 201
    poll()
    get = _api(admin_agent)
    first = get(f"/v1/customers/{shop.tenant}/reservations?size=2").json()
    assert [r["properties"]["quantity"] for r in first["items"]] == [3, 2]
    token = first["continuationToken"]
    second = get(f"/v1/customers/{shop.tenant}/reservations", **{"MS-ContinuationToken": token}).json()
    assert [r["properties"]["quantity"] for r in second["items"]] == [1]
    assert "continuationToken" not in second
    other = get("/v1/customers/0431a72c-7d8e-4b4f-9f5e-2f4c8e1d9b3a/reservations",
                **{"MS-ContinuationToken": token})
    assert other.status_code == HTTPStatus.NOT_FOUND   # no such customer
    from tests.factories import CustomerFactory

    elsewhere = CustomerFactory()
    refused = get(f"/v1/customers/{elsewhere.tenant_id}/reservations", **{"MS-ContinuationToken": token})
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert refused.json()["code"] == "invalid_continuation_token"
    wrong_kind = get(f"/v1/customers/{shop.tenant}/orders", **{"MS-ContinuationToken": token})
    assert wrong_kind.status_code == HTTPStatus.BAD_REQUEST


def test_unknown_customers_bad_sizes_and_no_token_are_clear_errors(db, helpdesk_agent):
    get = _api(helpdesk_agent)
    for segment in ("orders", "reservations", "savingsplans"):
        assert get(f"/v1/customers/not-a-uuid/{segment}").json()["code"] == "customer_not_found"
        assert get(f"/v1/customers/0431a72c-7d8e-4b4f-9f5e-2f4c8e1d9b3a/{segment}").status_code == 404
        assert Client().get(f"/v1/customers/0431a72c-7d8e-4b4f-9f5e-2f4c8e1d9b3a/{segment}") \
            .status_code == HTTPStatus.UNAUTHORIZED
    from tests.factories import CustomerFactory

    customer = CustomerFactory()
    for size in ("0", "501", "x"):
        answer = get(f"/v1/customers/{customer.tenant_id}/orders?size={size}")
        assert answer.status_code == HTTPStatus.BAD_REQUEST and answer.json()["code"] == "invalid_size"
    assert get(f"/v1/customers/{customer.tenant_id}/savingsplans").json()["items"] == []
