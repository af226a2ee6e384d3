"""The simulator's reservation and savings-plan operations (issue 13): PATCH, refund, exchange, the cap."""

from datetime import UTC, datetime, timedelta

from .conftest import ARM, ARM_SUB_1, CONTOSO, OWNER, READER, scenario, token

V = "2022-11-01"
RESERVATIONS_ADMINISTRATOR = "a8889054-8d42-49c9-bc1c-52486c10e7cd"


def _iso(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def order(name: str, *, total: float, kind: str = "VirtualMachines", **extra) -> dict:
    """A one-year order half gone: a refund is about half of `total`."""
    return {
        "name": name,
        **extra,
        "properties": {
            "displayName": name,
            "term": "P1Y",
            "billingPlan": "Upfront",
            "originalQuantity": 1,
            "benefitStartTime": _iso(-182),
            "expiryDateTime": _iso(183),
            "planInformation": {"pricingCurrencyTotal": {"currencyCode": "USD", "amount": total}},
        },
        "reservations": [
            {
                "name": f"{name}-r",
                "properties": {
                    "displayName": f"{name} VM",
                    "quantity": 1,
                    "reservedResourceType": kind,
                    "appliedScopeType": "Shared",
                    "renew": False,
                    "provisioningState": "Succeeded",
                },
            }
        ],
    }


def load(sim, *orders, refunds=None, plans=None):
    doc = scenario()
    doc["customers"][0]["reservationOrders"] = list(orders)
    doc["customers"][0]["refunds"] = refunds or []
    doc["customers"][0]["savingsPlanOrders"] = plans or []
    sim.control.put_state(doc)


def auth(sim):
    return {"Authorization": f"Bearer {token(sim, tenant=CONTOSO, resource=ARM)}"}


def url(sim, path):
    return f"{sim.azure_management_url}{path}{'&' if '?' in path else '?'}api-version={V}"


def rid(name):
    return f"/providers/microsoft.capacity/reservationOrders/{name}/reservations/{name}-r"


def reservation(sim, http, name):
    return http.get(
        url(sim, f"/providers/Microsoft.Capacity/reservationOrders/{name}/reservations/{name}-r"),
        headers=auth(sim),
    ).json()


def follow(sim, http, answer):
    """Poll Azure-AsyncOperation to the end; the statuses seen."""
    seen = []
    while True:
        status = http.get(answer.headers["Azure-AsyncOperation"], headers=auth(sim)).json()
        seen.append(status["status"])
        if status["status"] != "InProgress":
            return seen, status


def quote(sim, http, name, quantity=1):
    return http.post(
        url(sim, f"/providers/Microsoft.Capacity/reservationOrders/{name}/calculateRefund"),
        headers=auth(sim),
        json={
            "properties": {
                "scope": "Reservation",
                "reservationToReturn": {"reservationId": rid(name), "quantity": quantity},
            }
        },
    )


def give_back(sim, http, name, session, quantity=1):
    return http.post(
        url(sim, f"/providers/Microsoft.Capacity/reservationOrders/{name}/return"),
        headers=auth(sim),
        json={
            "properties": {
                "sessionId": session,
                "scope": "Reservation",
                "returnReason": "Not needed",
                "reservationToReturn": {"reservationId": rid(name), "quantity": quantity},
            }
        },
    )


def test_patch_scope_is_long_running_and_changes_only_when_it_succeeds(sim, http):
    load(sim, order("ro1", total=1000))
    path = "/providers/Microsoft.Capacity/reservationOrders/ro1/reservations/ro1-r"
    answer = http.patch(
        url(sim, path),
        headers=auth(sim),
        json={
            "properties": {
                "appliedScopeType": "Single",
                "appliedScopeProperties": {
                    "resourceGroupId": f"/subscriptions/{ARM_SUB_1}/resourceGroups/web"
                },
            }
        },
    )
    assert answer.status_code == 202
    assert answer.headers["Retry-After"] == "1" and "result=true" in answer.headers["Location"]
    assert reservation(sim, http, "ro1")["properties"]["appliedScopeType"] == "Shared"
    seen, status = follow(sim, http, answer)
    assert seen == ["InProgress", "Succeeded"]
    props = reservation(sim, http, "ro1")["properties"]
    assert props["appliedScopeType"] == "Single" and props["userFriendlyAppliedScopeType"] == "ResourceGroup"
    assert (
        props["appliedScopeProperties"]["resourceGroupId"] == f"/subscriptions/{ARM_SUB_1}/resourceGroups/web"
    )
    location = http.get(answer.headers["Location"], headers=auth(sim))
    assert location.status_code == 200 and location.json()["properties"]["appliedScopeType"] == "Single"


def test_patch_name_and_renew_answer_at_once_and_bad_scopes_are_refused(sim, http):
    load(sim, order("ro1", total=1000))
    path = "/providers/Microsoft.Capacity/reservationOrders/ro1/reservations/ro1-r"
    done = http.patch(
        url(sim, path), headers=auth(sim), json={"properties": {"name": "Web VMs", "renew": True}}
    )
    assert done.status_code == 200
    assert (
        done.json()["properties"]["displayName"] == "Web VMs" and done.json()["properties"]["renew"] is True
    )
    for bad in (
        {"appliedScopeType": "Everywhere"},
        {"appliedScopeType": "Single", "appliedScopeProperties": {"subscriptionId": "/subscriptions/other"}},
        {"appliedScopeType": "ManagementGroup", "appliedScopeProperties": {"managementGroupId": "x"}},
        {"renew": "yes"},
        {},
    ):
        refused = http.patch(url(sim, path), headers=auth(sim), json={"properties": bad})
        assert refused.status_code == 400, bad
    shared = http.patch(
        url(sim, path), headers=auth(sim), json={"properties": {"appliedScopeType": "Shared"}}
    )
    assert follow(sim, http, shared)[1]["status"] == "Succeeded"


def test_an_operation_that_fails_halfway_changes_nothing(sim, http):
    load(sim, order("ro1", total=1000))
    sim.control.faults([{"method": "PATCH", "path": "reservations/ro1-r$", "fault": "operation_failed"}])
    path = "/providers/Microsoft.Capacity/reservationOrders/ro1/reservations/ro1-r"
    answer = http.patch(
        url(sim, path),
        headers=auth(sim),
        json={
            "properties": {
                "appliedScopeType": "Single",
                "appliedScopeProperties": {"subscriptionId": f"/subscriptions/{ARM_SUB_1}"},
            }
        },
    )
    assert answer.status_code == 202
    seen, status = follow(sim, http, answer)
    assert seen == ["InProgress", "Failed"] and status["error"]["code"]
    assert reservation(sim, http, "ro1")["properties"]["appliedScopeType"] == "Shared"
    assert http.get(answer.headers["Location"], headers=auth(sim)).status_code == 400


def test_savings_plan_scope_name_renew_but_never_its_commitment(sim, http):
    plans = [
        {
            "name": "spo1",
            "properties": {"displayName": "SP", "term": "P1Y"},
            "savingsPlans": [
                {
                    "name": "sp1",
                    "properties": {
                        "displayName": "SP",
                        "appliedScopeType": "Shared",
                        "renew": False,
                        "commitment": {"grain": "Hourly", "currencyCode": "USD", "amount": 5},
                    },
                }
            ],
        }
    ]
    load(sim, plans=plans)
    path = url(sim, "/providers/Microsoft.BillingBenefits/savingsPlanOrders/spo1/savingsPlans/sp1")
    renamed = http.patch(
        path, headers=auth(sim), json={"properties": {"displayName": "Compute", "renew": True}}
    )
    assert renamed.status_code == 200 and renamed.json()["properties"]["displayName"] == "Compute"
    scoped = http.patch(
        path,
        headers=auth(sim),
        json={
            "properties": {
                "appliedScopeType": "Single",
                "appliedScopeProperties": {"subscriptionId": f"/subscriptions/{ARM_SUB_1}"},
            }
        },
    )
    assert scoped.status_code == 202
    assert "Microsoft.BillingBenefits/operationResults" in scoped.headers["Azure-AsyncOperation"]
    assert follow(sim, http, scoped)[1]["status"] == "Succeeded"
    assert http.get(path, headers=auth(sim)).json()["properties"]["appliedScopeType"] == "Single"
    refused = http.patch(path, headers=auth(sim), json={"properties": {"commitment": {"amount": 1}}})
    assert refused.status_code == 400
    assert http.get(path, headers=auth(sim)).json()["properties"]["commitment"]["amount"] == 5


def test_refund_quote_then_return_counts_against_the_cap(sim, http):
    load(
        sim,
        order("ro1", total=20000),
        refunds=[{"date": _iso(-30), "amount": 10000}, {"date": _iso(-400), "amount": 45000}],
    )
    quoted = quote(sim, http, "ro1")
    assert quoted.status_code == 200
    props = quoted.json()["properties"]
    assert 9900 < props["billingRefundAmount"]["amount"] < 10100
    policy = props["policyResult"]["properties"]
    assert policy["maxRefundLimit"] == {"currencyCode": "USD", "amount": 50000.0}
    assert policy["consumedRefundsTotal"]["amount"] == 10000 and policy["policyErrors"] == []
    assert reservation(sim, http, "ro1")["properties"]["provisioningState"] == "Succeeded"
    returned = give_back(sim, http, "ro1", props["sessionId"])
    assert returned.status_code == 202
    again = give_back(sim, http, "ro1", props["sessionId"])  # a retry answers the same operation
    assert again.headers["Azure-AsyncOperation"] == returned.headers["Azure-AsyncOperation"]
    assert follow(sim, http, returned)[0] == ["InProgress", "Succeeded"]
    assert reservation(sim, http, "ro1")["properties"]["provisioningState"] == "Cancelled"
    refunds = sim.control.get_state()["customers"][0]["refunds"]
    assert len(refunds) == 3 and 9900 < refunds[-1]["amount"] < 10100


def test_a_refund_that_would_cross_the_cap_is_refused(sim, http):
    load(sim, order("ro1", total=20000), refunds=[{"date": _iso(-100), "amount": 45000}])
    quoted = quote(sim, http, "ro1").json()["properties"]
    assert [e["code"] for e in quoted["policyResult"]["properties"]["policyErrors"]] == [
        "RefundLimitExceeded"
    ]
    refused = give_back(sim, http, "ro1", quoted["sessionId"])
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "RefundLimitExceeded"
    assert reservation(sim, http, "ro1")["properties"]["provisioningState"] == "Succeeded"
    assert len(sim.control.get_state()["customers"][0]["refunds"]) == 1


def test_two_returns_in_flight_share_the_cap(sim, http):
    load(sim, order("ro1", total=60000), order("ro2", total=60000))
    first, second = quote(sim, http, "ro1").json(), quote(sim, http, "ro2").json()
    assert give_back(sim, http, "ro1", first["properties"]["sessionId"]).status_code == 202
    refused = give_back(sim, http, "ro2", second["properties"]["sessionId"])
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "RefundLimitExceeded"


def test_non_refundable_type_expired_and_unknown_sessions(sim, http):
    load(sim, order("ro1", total=1000, kind="Databricks"), order("ro2", total=1000))
    refused = quote(sim, http, "ro1")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "SelfServiceRefundNotSupported"
    unknown = give_back(sim, http, "ro2", "00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "InvalidSessionId"
    sim.control.settings(reservationOperations={"quoteLifetimeSeconds": 0})
    session = quote(sim, http, "ro2").json()["properties"]["sessionId"]
    expired = give_back(sim, http, "ro2", session)
    assert expired.status_code == 400 and expired.json()["error"]["code"] == "SessionIdExpired"
    assert reservation(sim, http, "ro2")["properties"]["provisioningState"] == "Succeeded"


def test_order_access_needs_owner_or_reservations_administrator(sim, http):
    partner_agent = "a0000000-0000-4000-8000-000000000001"
    load(
        sim,
        order(
            "ro1", total=1000, roleAssignments=[{"principalId": partner_agent, "roleDefinitionId": READER}]
        ),
        order(
            "ro2",
            total=1000,
            roleAssignments=[{"principalId": partner_agent, "roleDefinitionId": RESERVATIONS_ADMINISTRATOR}],
        ),
        order("ro3", total=1000, roleAssignments=[{"principalId": partner_agent, "roleDefinitionId": OWNER}]),
    )
    headers = {"Authorization": f"Bearer {token(sim, tenant=CONTOSO, resource=ARM, oid=partner_agent)}"}
    body = {"properties": {"name": "x"}}
    base = "/providers/Microsoft.Capacity/reservationOrders"
    assert (
        http.patch(url(sim, f"{base}/ro1/reservations/ro1-r"), headers=headers, json=body).status_code == 403
    )
    assert (
        http.patch(url(sim, f"{base}/ro2/reservations/ro2-r"), headers=headers, json=body).status_code == 200
    )
    assert (
        http.patch(url(sim, f"{base}/ro3/reservations/ro3-r"), headers=headers, json=body).status_code == 200
    )
    assert "roleAssignments" not in http.get(url(sim, f"{base}/ro1"), headers=headers).json()


def test_exchange_quote_then_exchange_is_not_counted_against_the_cap(sim, http):
    load(sim, order("ro1", total=20000), refunds=[{"date": _iso(-10), "amount": 45000}])
    body = {
        "properties": {
            "reservationsToExchange": [{"reservationId": rid("ro1"), "quantity": 1}],
            "savingsPlansToPurchase": [
                {
                    "sku": {"name": "Compute_Savings_Plan"},
                    "properties": {
                        "displayName": "New plan",
                        "term": "P1Y",
                        "billingPlan": "P1M",
                        "appliedScopeType": "Shared",
                        "commitment": {"grain": "Hourly", "currencyCode": "USD", "amount": 2},
                    },
                }
            ],
        }
    }
    quoted = http.post(
        url(sim, "/providers/Microsoft.Capacity/calculateExchange"), headers=auth(sim), json=body
    )
    assert quoted.status_code == 200
    props = quoted.json()["properties"]
    assert props["purchasesTotal"]["amount"] == 2 * 24 * 365
    assert 9900 < props["refundsTotal"]["amount"] < 10100
    assert props["netPayable"]["amount"] == round(
        props["purchasesTotal"]["amount"] - props["refundsTotal"]["amount"], 2
    )
    assert props["policyResult"]["properties"]["policyErrors"] == []
    done = http.post(
        url(sim, "/providers/Microsoft.Capacity/exchange"),
        headers=auth(sim),
        json={"properties": {"sessionId": props["sessionId"]}},
    )
    assert done.status_code == 202
    assert follow(sim, http, done)[1]["status"] == "Succeeded"
    state = sim.control.get_state()["customers"][0]
    assert len(state["refunds"]) == 1  # not counted
    assert [
        p["properties"]["displayName"] for o in state["savingsPlanOrders"] for p in o["savingsPlans"]
    ] == ["New plan"]
    assert reservation(sim, http, "ro1")["properties"]["provisioningState"] == "Cancelled"


def test_exchange_policy_errors_come_from_microsoft_and_refuse_the_exchange(sim, http):
    load(sim, order("ro1", total=20000))
    small = {
        "properties": {
            "reservationsToExchange": [{"reservationId": rid("ro1"), "quantity": 1}],
            "reservationsToPurchase": [
                {
                    "sku": {"name": "Standard_B1s"},
                    "location": "westeurope",
                    "properties": {
                        "reservedResourceType": "VirtualMachines",
                        "term": "P1Y",
                        "quantity": 1,
                        "billingPlan": "Upfront",
                        "appliedScopeType": "Shared",
                    },
                }
            ],
        }
    }
    quoted = http.post(
        url(sim, "/providers/Microsoft.Capacity/calculateExchange"), headers=auth(sim), json=small
    ).json()["properties"]
    assert [e["code"] for e in quoted["policyResult"]["properties"]["policyErrors"]] == [
        "ExchangeRefundExceedsPurchase"
    ]
    refused = http.post(
        url(sim, "/providers/Microsoft.Capacity/exchange"),
        headers=auth(sim),
        json={"properties": {"sessionId": quoted["sessionId"]}},
    )
    assert refused.status_code == 400
    assert reservation(sim, http, "ro1")["properties"]["provisioningState"] == "Succeeded"
    sim.control.settings(
        reservationOperations={
            "exchangePolicyErrors": [{"code": "ExchangeNotAllowed", "message": "Not eligible for exchange."}]
        }
    )
    small["properties"]["reservationsToPurchase"][0]["properties"]["quantity"] = 20
    quoted = http.post(
        url(sim, "/providers/Microsoft.Capacity/calculateExchange"), headers=auth(sim), json=small
    ).json()["properties"]
    assert [e["code"] for e in quoted["policyResult"]["properties"]["policyErrors"]] == ["ExchangeNotAllowed"]
