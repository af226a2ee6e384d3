"""Fault injection: every kind, as a client sees it over HTTPS."""

import pytest
import requests

from .conftest import AZURE_PLAN, CONTOSO, FABRIKAM, PARTNER, token

POLICY = f"{PARTNER}_{CONTOSO}"


def customers(http, sim, bearer):
    return http.get(f"{sim.partner_center_url}/v1/customers/{CONTOSO}/subscriptions",
                    headers={"Authorization": f"Bearer {bearer}"}, timeout=30)


def create_policy(http, sim, bearer, request_id="req-1"):
    return http.post(f"{sim.partner_center_url}/v1/SelfServePolicy", timeout=30, headers={
        "Authorization": f"Bearer {bearer}", "MS-RequestId": request_id, "MS-CorrelationId": "corr-1"}, json={
        "selfServeEntity": {"selfServeEntityType": "customer", "tenantID": CONTOSO},
        "grantor": {"grantorType": "billToPartner", "tenantID": PARTNER},
        "permissions": [{"resource": "AzureReservedInstances", "action": "Purchase"}]})


@pytest.mark.parametrize(("fault", "status"), [("429", 429), ("500", 500), ("503", 503)])
def test_status_faults_answer_in_the_services_shape_then_stop(sim, http, fault, status):
    sim.control.faults([{"method": "GET", "path": "/subscriptions$", "fault": fault, "retryAfter": 7}])
    bearer = token(sim)
    failed = customers(http, sim, bearer)
    assert failed.status_code == status
    if status == 429:
        assert failed.headers["Retry-After"] == "7"
        assert failed.json() == {"statusCode": 429,
                                 "message": "Rate limit is exceeded. Try again in 7 seconds."}
    else:
        assert failed.json()["source"] == "PartnerFD"
    assert customers(http, sim, bearer).status_code == 200   # times defaults to 1
    journal = sim.control.requests()
    assert [(e["status"], e["fault"]) for e in journal[-2:]] == [(status, fault), (200, None)]


def test_times_and_skip(sim, http):
    sim.control.faults([{"path": "/subscriptions$", "fault": "500", "times": 2, "skip": 1}])
    bearer = token(sim)
    assert [customers(http, sim, bearer).status_code for _ in range(4)] == [200, 500, 500, 200]


def test_times_null_means_until_cleared(sim, http):
    sim.control.faults([{"path": "/subscriptions$", "fault": "503", "times": None}])
    bearer = token(sim)
    assert [customers(http, sim, bearer).status_code for _ in range(3)] == [503, 503, 503]
    sim.control.clear_faults()
    assert customers(http, sim, bearer).status_code == 200


def test_drop_closes_the_connection_before_acting(sim, http):
    sim.control.faults([{"method": "POST", "path": "SelfServePolicy", "fault": "drop"}])
    with pytest.raises(requests.ConnectionError):
        create_policy(http, sim, token(sim))
    assert sim.control.get_state()["customers"][0]["selfServePolicy"] is None


def test_drop_after_acts_then_closes_and_a_retry_with_the_same_request_id_gets_the_first_answer(sim, http):
    sim.control.faults([{"method": "POST", "path": "SelfServePolicy", "fault": "drop_after"}])
    bearer = token(sim)
    with pytest.raises(requests.ConnectionError):
        create_policy(http, sim, bearer)
    policy = sim.control.get_state()["customers"][0]["selfServePolicy"]
    assert policy["permissions"] == ["AzureReservedInstances"]
    retry = create_policy(http, sim, bearer)
    assert retry.status_code == 201    # not 409: Partner Center recognises the repeat
    assert retry.json()["id"] == POLICY
    fresh = create_policy(http, sim, bearer, request_id="req-2")
    assert fresh.status_code == 409 and fresh.json()["code"] == "600041"


def test_html_fault_is_a_proxys_error_page(sim, http):
    sim.control.faults([{"path": "/subscriptions$", "fault": "html"}])
    response = customers(http, sim, token(sim))
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text


def test_slow_fault_delays_the_answer(sim, http):
    sim.control.faults([{"path": "/subscriptions$", "fault": "slow", "delaySeconds": 2}])
    with pytest.raises(requests.Timeout):
        http.get(f"{sim.partner_center_url}/v1/customers/{CONTOSO}/subscriptions",
                 headers={"Authorization": f"Bearer {token(sim)}"}, timeout=0.5)


def test_truncated_fault_cuts_the_json(sim, http):
    sim.control.faults([{"path": "/subscriptions$", "fault": "truncated"}])
    response = customers(http, sim, token(sim))
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_unknown_enum_puts_a_future_value_in_the_answer(sim, http):
    sim.control.faults([{"path": "/subscriptions$", "fault": "unknown_enum"}])
    items = customers(http, sim, token(sim)).json()["items"]
    assert [s["status"] for s in items] == ["expired", "active"]
    assert items[0]["id"] == AZURE_PLAN


def test_faults_match_method_and_path(sim, http):
    sim.control.faults([{"method": "POST", "path": "/subscriptions$", "fault": "500"},
                        {"path": f"/customers/{FABRIKAM}", "fault": "500"}])
    assert customers(http, sim, token(sim)).status_code == 200


def test_faults_on_the_token_endpoint(sim, http):
    sim.control.faults([{"path": "/oauth2/v2.0/token$", "fault": "503", "retryAfter": 3}])
    response = http.post(f"{sim.login_url}/{PARTNER}/oauth2/v2.0/token", data={})
    assert response.status_code == 503 and response.headers["Retry-After"] == "3"
    assert response.json()["error"] == "temporarily_unavailable"


def test_an_unknown_fault_kind_is_refused(sim):
    from simulator.testing import SimulatorError
    with pytest.raises(SimulatorError):
        sim.control.faults([{"path": "x", "fault": "explode"}])
