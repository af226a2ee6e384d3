"""ARM beyond role assignments: the partner's billing policy per customer, reservations, savings plans."""

from .conftest import ARM, CONTOSO, PARTNER, scenario, token

BILLING = "2020-05-01"
CAPACITY = "2022-11-01"


def partner_auth(sim, **kwargs):
    return {"Authorization": f"Bearer {token(sim, tenant=PARTNER, resource=ARM, **kwargs)}"}


def test_view_charges_policy_per_customer(sim, http):
    accounts = http.get(f"{sim.azure_management_url}/providers/Microsoft.Billing/billingAccounts"
                        f"?api-version={BILLING}", headers=partner_auth(sim)).json()["value"]
    [account] = accounts
    assert account["properties"]["agreementType"] == "MicrosoftPartnerAgreement"
    url = (f"{sim.azure_management_url}/providers/Microsoft.Billing/billingAccounts/{account['name']}"
           f"/customers/{CONTOSO}/policies/default?api-version={BILLING}")
    assert http.get(url, headers=partner_auth(sim)).json()["properties"] == {"viewCharges": "NotAllowed"}
    changed = http.put(url, headers=partner_auth(sim), json={"properties": {"viewCharges": "Allowed"}})
    assert changed.status_code == 200
    assert changed.json() == {
        "id": f"/providers/Microsoft.Billing/billingAccounts/{account['name']}/customers/{CONTOSO}"
              "/policies/default",
        "name": "default", "type": "Microsoft.Billing/billingAccounts/customers/policies",
        "properties": {"viewCharges": "Allowed"}}
    assert http.get(url, headers=partner_auth(sim)).json()["properties"]["viewCharges"] == "Allowed"
    refused = http.put(url, headers=partner_auth(sim), json={"properties": {"viewCharges": "Maybe"}})
    assert refused.status_code == 400
    assert http.put(url, headers=partner_auth(sim, app_only=True),
                    json={"properties": {"viewCharges": "NotAllowed"}}).status_code == 403
    assert http.get(url, headers=partner_auth(sim)).json()["properties"]["viewCharges"] == "Allowed"


def test_reservation_orders_seeded_for_a_customer(sim, http):
    doc = scenario()
    doc["customers"][0]["reservationOrders"] = [
        {"name": "ro-1",
         "properties": {"displayName": "VM RI", "term": "P1Y", "provisioningState": "Succeeded"},
         "reservations": [{"name": "r-1", "properties": {"appliedScopeType": "Shared", "quantity": 1}}]},
        {"name": "ro-2", "visibleToPartner": False, "properties": {"displayName": "Hidden"}}]
    sim.control.put_state(doc)
    headers = {"Authorization": f"Bearer {token(sim, tenant=CONTOSO, resource=ARM)}"}
    base = f"{sim.azure_management_url}/providers/Microsoft.Capacity"
    orders = http.get(f"{base}/reservationOrders?api-version={CAPACITY}", headers=headers).json()["value"]
    assert [o["name"] for o in orders] == ["ro-1"]
    assert orders[0]["id"] == "/providers/microsoft.capacity/reservationOrders/ro-1"
    assert orders[0]["properties"]["reservations"] == [
        {"id": "/providers/microsoft.capacity/reservationOrders/ro-1/reservations/r-1"}]
    reservations = http.get(f"{base}/reservationOrders/ro-1/reservations?api-version={CAPACITY}",
                            headers=headers).json()["value"]
    assert reservations[0]["properties"]["appliedScopeType"] == "Shared"
    assert http.get(f"{base}/reservations?api-version={CAPACITY}", headers=headers).json()["value"] == \
        reservations
    hidden = http.get(f"{base}/reservationOrders/ro-2?api-version={CAPACITY}", headers=headers)
    assert hidden.status_code == 404
