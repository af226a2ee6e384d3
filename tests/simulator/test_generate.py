"""The synthetic large partner."""

import msal

from .conftest import PC


def test_generate_makes_a_partner_the_portal_can_sign_in_as_and_page_through(simulator, http):
    summary = simulator.control.generate(customers=250, subscriptionsPerCustomer=3, seed=7, auditRecords=50)
    assert (summary["customers"], summary["subscriptions"], summary["auditRecords"]) == (250, 750, 50)
    partner = summary["partner"]
    app = msal.ConfidentialClientApplication(partner["appId"], client_credential=partner["appSecret"],
                                             authority=f"{simulator.login_url}/{partner['tenantId']}",
                                             validate_authority=False, instance_discovery=False)
    result = app.acquire_token_by_refresh_token(summary["refreshToken"], scopes=[f"{PC}/.default"])
    headers = {"Authorization": f"Bearer {result['access_token']}"}
    ids, uri, extra = [], "/v1/customers?size=100", {}
    while uri:
        body = http.get(simulator.partner_center_url + uri, headers={**headers, **extra}).json()
        ids += [c["id"] for c in body["items"]]
        nxt = body["links"].get("next")
        uri = nxt["uri"] if nxt else None
        extra = {h["key"]: h["value"] for h in nxt["headers"]} if nxt else {}
    assert len(set(ids)) == 250
    subscriptions = http.get(f"{simulator.partner_center_url}/v1/customers/{ids[-1]}/subscriptions",
                             headers=headers).json()
    assert subscriptions["totalCount"] == 3
    assert subscriptions["items"][0]["offerId"].startswith("DZH318Z0BPS6")


def test_the_same_seed_makes_the_same_partner(simulator):
    first = simulator.control.generate(customers=3, seed=5)["partner"]["tenantId"]
    state = simulator.control.get_state()
    again = simulator.control.generate(customers=3, seed=5)["partner"]["tenantId"]
    assert first == again
    assert [c["tenantId"] for c in simulator.control.get_state()["customers"]] == [
        c["tenantId"] for c in state["customers"]]
