"""The simulator as a process: certificates, the fixture's settings, the journal, state across restarts."""

import os
import subprocess
import sys

import pytest
import requests
from cryptography import x509
from django.conf import settings

from .conftest import CONTOSO, token


def test_the_fixture_points_the_portals_settings_at_the_simulator(simulator):
    assert settings.MICROSOFT_CLOUD == "simulated"
    assert simulator.url == settings.MICROSOFT_LOGIN_URL
    assert simulator.url + "/partnercenter" == settings.PARTNER_CENTER_URL
    assert simulator.url + "/management" == settings.AZURE_MANAGEMENT_URL
    assert simulator.url + "/graph" == settings.MICROSOFT_GRAPH_URL
    assert os.environ["REQUESTS_CA_BUNDLE"] == str(simulator.ca_path)
    assert requests.get(simulator.url + "/_simulator/health", timeout=10).json() == {"status": "ok"}


def test_the_certificate_is_trusted_for_localhost_too(sim):
    port = sim.url.rsplit(":", 1)[1]
    response = requests.get(f"https://localhost:{port}/_simulator/health", timeout=10,
                            verify=str(sim.ca_path))
    assert response.status_code == 200


def test_certs_command_makes_a_ca_and_a_server_certificate(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-m", "simulator", "certs", "--state", str(tmp_path)], check=True,  # noqa: S603
                   cwd=root, capture_output=True)
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    server = x509.load_pem_x509_certificate((tmp_path / "server.pem").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert server.issuer == ca.subject
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    first = (tmp_path / "ca.pem").read_bytes()
    subprocess.run([sys.executable, "-m", "simulator", "certs", "--state", str(tmp_path)], check=True,  # noqa: S603
                   cwd=root, capture_output=True)
    assert (tmp_path / "ca.pem").read_bytes() == first   # made once, kept


def test_probability_faults_hit_some_requests(sim, http):
    sim.control.faults([{"path": "/subscriptions$", "fault": "500", "times": None, "probability": 0.5}])
    headers = {"Authorization": f"Bearer {token(sim)}"}
    statuses = [http.get(f"{sim.partner_center_url}/v1/customers/{CONTOSO}/subscriptions",
                         headers=headers).status_code for _ in range(40)]
    assert set(statuses) == {200, 500}


def test_reset_empties_the_scenario_and_restores_settings(sim):
    sim.control.settings(throttling=False)
    sim.control.faults([{"path": "x", "fault": "500"}])
    sim.control.reset()
    assert sim.control.get_state()["customers"] == []
    assert sim.control.settings()["throttling"] is True
    assert sim.control.requests() == []


def test_a_scenario_the_simulator_cannot_serve_is_refused_and_nothing_changes(sim):
    from simulator.testing import SimulatorError
    before = sim.control.get_state()
    for broken in ({"partner": "x"}, {"customers": "x"}, {"customers": [{"tenantId": "t", "users": "x"}]},
                   {"customers": [{"tenantId": "t", "subscriptions": [{"id": "s", "azureSubscriptions": [
                       {"id": "a", "roleAssignments": [{"name": "n"}]}]}]}]},
                   {"customers": [{"tenantId": "t"}, {"tenantId": "T"}]}):
        with pytest.raises(SimulatorError, match="400"):
            sim.control.put_state(broken)
    assert sim.control.get_state() == before


@pytest.mark.parametrize("rule", [{"path": "(", "fault": "500"}, {"path": "x", "fault": "500", "times": "x"},
                                  {"path": "x", "fault": "500", "probability": "often"}, "not a rule"])
def test_a_fault_rule_that_cannot_work_is_refused(sim, rule):
    from simulator.testing import SimulatorError
    with pytest.raises(SimulatorError, match="400"):
        sim.control.faults([rule])
    assert sim.control._call("GET", "/faults") == {"rules": []}


def test_generate_refuses_sizes_out_of_range(simulator):
    from simulator.testing import SimulatorError
    with pytest.raises(SimulatorError, match="400"):
        simulator.control.generate(customers=10**9)


def test_a_control_key_that_starts_with_a_dash_still_starts_the_simulator(tmp_path):
    # secrets.token_urlsafe() gives such a key one time in 64; argparse read it as an option.
    from simulator.testing import start_simulator

    simulator = start_simulator(tmp_path, key="-dash-first-key")
    try:
        assert simulator.control.get_state() is not None
        refused = requests.get(f"{simulator.url}/_simulator/state", verify=simulator.ca_path, timeout=10)
        assert refused.status_code in (401, 403)
    finally:
        simulator.stop()
