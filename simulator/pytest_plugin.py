"""pytest fixtures: one simulator process per test session, reset for each test that asks for it.

Registered in tests/conftest.py with `pytest_plugins = ["simulator.pytest_plugin"]`.
"""

from __future__ import annotations

import pytest

from .testing import Simulator, start_simulator


@pytest.fixture(scope="session")
def simulator_process(tmp_path_factory) -> Simulator:
    simulator = start_simulator(tmp_path_factory.mktemp("simulator"))
    yield simulator
    simulator.stop()


@pytest.fixture
def simulator(simulator_process: Simulator, settings, monkeypatch) -> Simulator:
    """The simulator, emptied (no scenario, faults, journal; default settings), with the portal's
    Microsoft settings pointing at it for this test."""
    simulator_process.control.reset()
    settings.MICROSOFT_CLOUD = "simulated"
    settings.MICROSOFT_LOGIN_URL = simulator_process.login_url
    settings.PARTNER_CENTER_URL = simulator_process.partner_center_url
    settings.AZURE_MANAGEMENT_URL = simulator_process.azure_management_url
    settings.MICROSOFT_GRAPH_URL = simulator_process.graph_url
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(simulator_process.ca_path))
    return simulator_process
