"""Orders, carts and checkout (an Azure plan), customer users, entitlements."""

from .conftest import ADMIN_AGENTS_GROUP, CONTOSO, FABRIKAM, scenario, token

AZURE_PLAN_ITEM = "DZH318Z0BPS6:0001:DZH318Z0BML6"


def call(http, sim, method, path, json=None, request_id=None, app_only=False):
    headers = {"Authorization": f"Bearer {token(sim, app_only=app_only)}", "MS-CorrelationId": "corr-o"}
    if request_id:
        headers["MS-RequestId"] = request_id
    return http.request(method, sim.partner_center_url + path, json=json, headers=headers)


def test_buying_an_azure_plan_with_a_cart_and_checkout(sim, http):
    doc = scenario()
    doc["partner"]["adminAgentsGroupId"] = ADMIN_AGENTS_GROUP
    sim.control.put_state(doc)
    cart = call(http, sim, "POST", f"/v1/customers/{FABRIKAM}/carts", json={"lineItems": [
        {"id": 0, "catalogItemId": AZURE_PLAN_ITEM, "quantity": 1, "billingCycle": "monthly"}]})
    assert cart.status_code == 201, cart.text
    assert cart.json()["status"] == "Active" and cart.json()["attributes"] == {"objectType": "Cart"}
    result = call(http, sim, "POST", f"/v1/customers/{FABRIKAM}/carts/{cart.json()['id']}/checkout",
                  request_id="checkout-1")
    assert result.status_code == 200, result.text
    [order] = result.json()["orders"]
    assert result.json()["orderErrors"] == []
    assert order["lineItems"][0]["offerId"] == AZURE_PLAN_ITEM
    subscription_id = order["lineItems"][0]["subscriptionId"]
    subscriptions = call(http, sim, "GET", f"/v1/customers/{FABRIKAM}/subscriptions").json()["items"]
    assert [s["id"] for s in subscriptions] == [subscription_id]
    entitlements = call(http, sim, "GET", f"/v1/customers/{FABRIKAM}/subscriptions/{subscription_id}"
                                          "/azureEntitlements").json()["items"]
    assert len(entitlements) == 1
    state = sim.control.get_state()
    azure = state["customers"][1]["subscriptions"][0]["azureSubscriptions"][0]
    assert [(a["principalId"], a["principalType"]) for a in azure["roleAssignments"]] == [
        (ADMIN_AGENTS_GROUP, "ForeignGroup")]
    orders = call(http, sim, "GET", f"/v1/customers/{FABRIKAM}/orders").json()
    assert [o["id"] for o in orders["items"]] == [order["id"]]
    record = [r for r in state["auditRecords"] if r["operationType"] == "create_order"]
    assert len(record) == 1 and {"key": "OrderId", "value": order["id"]} in record[0]["customizedData"]

    repeat = call(http, sim, "POST", f"/v1/customers/{FABRIKAM}/carts/{cart.json()['id']}/checkout",
                  request_id="checkout-1")
    assert repeat.json() == result.json()
    again = call(http, sim, "POST", f"/v1/customers/{FABRIKAM}/carts/{cart.json()['id']}/checkout",
                 request_id="checkout-2")
    assert again.status_code == 400
    assert len(call(http, sim, "GET", f"/v1/customers/{FABRIKAM}/subscriptions").json()["items"]) == 1


def test_a_second_azure_plan_is_refused(sim, http):
    response = call(http, sim, "POST", f"/v1/customers/{CONTOSO}/orders", json={
        "lineItems": [{"offerId": AZURE_PLAN_ITEM, "quantity": 1}]})
    assert response.status_code == 400
    assert len(call(http, sim, "GET", f"/v1/customers/{CONTOSO}/subscriptions").json()["items"]) == 2


def test_seeded_orders_come_back_in_partner_centers_shape(sim, http):
    doc = scenario()
    doc["customers"][0]["orders"] = [{
        "id": "9qg-ErcO-4MPbPqq_3MIQaS7bn8W6HfG1", "billingCycle": "one_time",
        "transactionType": "UserPurchase", "creationDate": "2026-11-30T02:17:15.6455674Z",
        "status": "completed", "client": {"name": "Azure portal"},
        "lineItems": [{"lineItemNumber": 0, "offerId": "DZH318Z0BQ4B:000Z:DZH318Z0DSPL",
                       "friendlyName": "Reserved_VM_Instance_Standard_D1_1_Year", "quantity": 1}]}]
    sim.control.put_state(doc)
    body = call(http, sim, "GET", f"/v1/customers/{CONTOSO}/orders?billingType=one_time").json()
    [order] = body["items"]
    assert order["referenceCustomerId"] == CONTOSO and order["attributes"]["objectType"] == "Order"
    assert order["lineItems"][0]["offerId"] == "DZH318Z0BQ4B:000Z:DZH318Z0DSPL"
    assert call(http, sim, "GET", f"/v1/customers/{CONTOSO}/orders?billingType=monthly").json()["items"] == []


def test_creating_a_customer_user(sim, http):
    body = {"usageLocation": "US", "userPrincipalName": "new.owner@contoso.onmicrosoft.com",
            "firstName": "New", "lastName": "Owner", "displayName": "New Owner",
            "passwordProfile": {"forceChangePassword": True, "password": "x-Long-Passw0rd"}}
    created = call(http, sim, "POST", f"/v1/customers/{CONTOSO}/users", json=body, request_id="u-1")
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["attributes"] == {"objectType": "CustomerUser"}
    assert call(http, sim, "POST", f"/v1/customers/{CONTOSO}/users", json=body,
                request_id="u-2").status_code == 409
    users = call(http, sim, "GET", f"/v1/customers/{CONTOSO}/users").json()["items"]
    assert [u["userPrincipalName"] for u in users].count("new.owner@contoso.onmicrosoft.com") == 1
    graph = http.post(f"{sim.graph_url}/v1.0/directoryObjects/getByIds", json={"ids": [user["id"]]},
                      headers={"Authorization": "Bearer " + token(
                          sim, tenant=CONTOSO, resource="https://graph.microsoft.com")}).json()
    assert [o["userPrincipalName"] for o in graph["value"]] == ["new.owner@contoso.onmicrosoft.com"]
    assert [r["operationType"] for r in sim.control.get_state()["auditRecords"]] == ["create_customer_user"]


def test_entitlements_are_app_user_only(sim, http):
    assert call(http, sim, "GET", f"/v1/customers/{CONTOSO}/entitlements", app_only=True).status_code == 403
    assert call(http, sim, "GET", f"/v1/customers/{CONTOSO}/entitlements").json()["items"] == []
