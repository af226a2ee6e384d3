"""The customer's side of the simulator: a customer user buys a reservation or a savings plan itself."""

import copy

from .conftest import ARM, ARM_SUB_1, ARM_SUB_2, CONTOSO, PC, scenario, token

CAPACITY = "2022-11-01"


def _allow(sim, *permissions):
    doc = scenario()
    doc["customers"][0]["selfServePolicy"] = {"permissions": list(permissions)}
    sim.control.put_state(doc)


def _everything(sim) -> dict:
    contoso = sim.control.get_state()["customers"][0]
    return {"orders": copy.deepcopy(contoso.get("orders", [])),
            "entitlements": contoso.get("entitlements", []),
            "reservationOrders": contoso.get("reservationOrders", []),
            "savingsPlanOrders": contoso.get("savingsPlanOrders", []),
            "audit": sim.control.get_state()["auditRecords"]}


RESERVATION = {"kind": "reservation", "buyer": "owner@contoso.example", "subscriptionId": ARM_SUB_1,
               "term": "P3Y", "scope": "Single", "quantity": 2, "billingPlan": "Monthly", "amount": 4200.0}
SAVINGS_PLAN = {"kind": "savingsPlan", "buyer": "owner@contoso.example", "subscriptionId": ARM_SUB_1,
                "term": "P1Y", "scope": "Shared", "hourlyCommitment": 1.25}


def test_refused_without_the_permission_creates_nothing(sim):
    _allow(sim, "AzureSavingsPlan")
    before = _everything(sim)
    refused = sim.control.purchase(CONTOSO, **RESERVATION)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "BillingScopeNotEligible"
    _allow(sim, "AzureReservedInstances")
    refused = sim.control.purchase(CONTOSO, **SAVINGS_PLAN)
    assert refused.status_code == 403
    assert _everything(sim) == before


def test_refused_without_owner_creates_nothing(sim):
    _allow(sim, "AzureReservedInstances", "AzureSavingsPlan")
    before = _everything(sim)
    refused = sim.control.purchase(CONTOSO, **{**RESERVATION, "subscriptionId": ARM_SUB_2})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "AuthorizationFailed"
    assert "Microsoft.Capacity/reservationOrders/write" in refused.json()["error"]["message"]
    assert sim.control.purchase(CONTOSO, **{**SAVINGS_PLAN, "subscriptionId": ARM_SUB_2}).status_code == 403
    assert _everything(sim) == before


def test_bad_input_is_a_clear_400(sim):
    _allow(sim, "AzureReservedInstances")
    for bad in ({"term": "P2Y"}, {"quantity": 0}, {"quantity": "two"}, {"scope": "Galaxy"}, {"kind": "x"}):
        answer = sim.control.purchase(CONTOSO, **{**RESERVATION, **bad})
        assert answer.status_code == 400, bad
        assert answer.json()["error"]["code"] == "InvalidRequestContent"
    assert _everything(sim)["reservationOrders"] == []


def test_a_reservation_appears_in_azure_and_partner_center(sim, http):
    _allow(sim, "AzureReservedInstances")
    bought = sim.control.purchase(CONTOSO, **RESERVATION)
    assert bought.status_code == 201, bought.text
    auth = {"Authorization": f"Bearer {token(sim, tenant=CONTOSO, resource=ARM)}"}
    [order] = http.get(f"{sim.azure_management_url}/providers/Microsoft.Capacity/reservationOrders"
                       f"?api-version={CAPACITY}", headers=auth).json()["value"]
    assert order["id"] == bought.json()["reservationOrderId"]
    assert order["properties"]["term"] == "P3Y" and order["properties"]["originalQuantity"] == 2
    assert order["properties"]["planInformation"]["pricingCurrencyTotal"] == {"currencyCode": "USD",
                                                                              "amount": 4200.0}
    [reservation] = http.get(f"{sim.azure_management_url}/providers/Microsoft.Capacity/reservations"
                             f"?api-version={CAPACITY}", headers=auth).json()["value"]
    assert reservation["properties"]["appliedScopes"] == [f"/subscriptions/{ARM_SUB_1}"]
    assert reservation["systemData"]["createdBy"] == "owner@contoso.example"
    pc = {"Authorization": f"Bearer {token(sim, resource=PC)}"}
    orders_url = f"{sim.partner_center_url}/v1/customers/{CONTOSO}/orders"
    [pc_order] = http.get(orders_url, headers=pc).json()["items"]
    assert pc_order["transactionType"] == "UserPurchase" and pc_order["billingCycle"] == "monthly"
    assert pc_order["lineItems"][0]["quantity"] == 2
    [entitlement] = http.get(f"{sim.partner_center_url}/v1/customers/{CONTOSO}/entitlements"
                             "?entitlementType=reservedInstance", headers=pc).json()["items"]
    assert entitlement["referenceOrder"]["id"] == pc_order["id"]
    assert entitlement["entitledArtifacts"][0]["resourceId"] == bought.json()["reservationId"]
    [record] = [r for r in sim.control.get_state()["auditRecords"] if r["operationType"] == "create_order"]
    assert record["userPrincipalName"] == "owner@contoso.example"
    assert {"key": "OrderId", "value": pc_order["id"]} in record["customizedData"]


def test_a_savings_plan_appears_only_in_azure(sim, http):
    _allow(sim, "AzureSavingsPlan")
    bought = sim.control.purchase(CONTOSO, **SAVINGS_PLAN)
    assert bought.status_code == 201, bought.text
    auth = {"Authorization": f"Bearer {token(sim, tenant=CONTOSO, resource=ARM)}"}
    [plan] = http.get(f"{sim.azure_management_url}/providers/Microsoft.BillingBenefits/savingsPlans"
                      f"?api-version={CAPACITY}", headers=auth).json()["value"]
    assert plan["id"] == bought.json()["savingsPlanId"]
    assert plan["properties"]["commitment"] == {"grain": "Hourly", "currencyCode": "USD", "amount": 1.25}
    everything = _everything(sim)
    assert everything["orders"] == [] and everything["entitlements"] == [] and everything["audit"] == []


# ------------------------------------------------------------------ the same, from a terminal (make run)
def _cli(sim, capsys, *args):
    from simulator.__main__ import main

    status = main([args[0], "--state", str(sim.state_dir), "--url", sim.url, "--key", sim.key, *args[1:]])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_buy_command_is_refused_as_azure_refuses(sim, capsys):
    _allow(sim, "AzureSavingsPlan")
    before = _everything(sim)
    status, out, err = _cli(sim, capsys, "buy", CONTOSO, "reservation", "--as", "owner@contoso.example",
                            "--subscription", ARM_SUB_1)
    assert status == 1 and out == ""
    assert "Azure refused the purchase (403 BillingScopeNotEligible)" in err and "Nothing was bought." in err
    _allow(sim, "AzureReservedInstances", "AzureSavingsPlan")
    status, out, err = _cli(sim, capsys, "buy", "contoso.onmicrosoft.com", "savings-plan", "--hourly", "2",
                            "--as", "owner@contoso.example", "--subscription", ARM_SUB_2)
    assert status == 1
    assert "(403 AuthorizationFailed)" in err and "Microsoft.BillingBenefits/savingsPlanOrders/write" in err
    assert _everything(sim) == before


def test_the_buy_command_buys_what_the_api_buys(sim, capsys):
    _allow(sim, "AzureReservedInstances", "AzureSavingsPlan")
    status, out, err = _cli(sim, capsys, "buy", "contoso.onmicrosoft.com", "reservation",
                            "--as", "owner@contoso.example", "--subscription", ARM_SUB_1, "--term", "P3Y",
                            "--scope", "Single", "--quantity", "2", "--billing", "Monthly",
                            "--amount", "4200")
    assert status == 0, err
    everything = _everything(sim)
    [order] = everything["reservationOrders"]
    assert order["properties"]["term"] == "P3Y" and order["properties"]["originalQuantity"] == 2
    assert order["properties"]["planInformation"]["pricingCurrencyTotal"]["amount"] == 4200.0
    assert order["reservations"][0]["properties"]["appliedScopeType"] == "Single"
    [pc_order] = everything["orders"]
    assert f"reservation order /providers/microsoft.capacity/reservationOrders/{order['name']}" in out
    assert f"Partner Center order {pc_order['id']}" in out
    assert [r["operationType"] for r in everything["audit"]] == ["create_order"]
    status, out, err = _cli(sim, capsys, "buy", CONTOSO, "savings-plan", "--as", "owner@contoso.example",
                            "--subscription", ARM_SUB_1, "--hourly", "1.25")
    assert status == 0, err
    [plan_order] = _everything(sim)["savingsPlanOrders"]
    assert plan_order["savingsPlans"][0]["properties"]["commitment"]["amount"] == 1.25
    assert len(_everything(sim)["orders"]) == 1   # a savings plan never reaches Partner Center


def test_the_buy_command_says_what_is_missing_and_buys_nothing(sim, capsys):
    _allow(sim, "AzureReservedInstances", "AzureSavingsPlan")
    before = _everything(sim)
    # Contoso has two Azure subscriptions: which one must be said
    status, _out, err = _cli(sim, capsys, "buy", CONTOSO, "reservation", "--as", "owner@contoso.example")
    assert status == 2 and "has 2 Azure subscriptions" in err and "--subscription" in err
    status, _out, err = _cli(sim, capsys, "buy", CONTOSO, "savings-plan", "--as", "owner@contoso.example",
                             "--subscription", ARM_SUB_1)
    assert status == 2 and "--hourly" in err
    status, _out, err = _cli(sim, capsys, "buy", CONTOSO, "reservation", "--as", "nobody@contoso.example",
                             "--subscription", ARM_SUB_1)
    assert status == 1 and "InvalidAuthenticationToken" in err
    status, _out, err = _cli(sim, capsys, "buy", "nowhere.example", "reservation", "--as", "x")
    assert status == 2 and "No customer 'nowhere.example'" in err
    assert _everything(sim) == before


def test_the_customers_command_shows_who_may_buy_where(sim, capsys):
    _allow(sim, "AzureReservedInstances")
    status, out, _err = _cli(sim, capsys, "customers")
    assert status == 0
    assert f"Contoso Ltd  contoso.onmicrosoft.com  {CONTOSO}" in out
    assert "the partner allows: AzureReservedInstances" in out
    assert f"Azure subscription {ARM_SUB_1} (Production, active): Owner owner@contoso.example" in out
    assert f"Azure subscription {ARM_SUB_2} (Test, active): Owner no customer user" in out


def test_the_buy_command_without_a_running_simulator_says_so(tmp_path, capsys):
    from simulator.__main__ import main

    status = main(["buy", "--state", str(tmp_path), CONTOSO, "reservation", "--as", "x"])
    assert status == 2
    assert "is the simulator running" in capsys.readouterr().err
