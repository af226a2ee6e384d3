"""Start the simulator as a subprocess and drive its control API (for tests, seed_demo and benchmarks)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path

import requests

READY = "simulator listening on "


class SimulatorError(RuntimeError):
    pass


class Control:
    """The control API (`/_simulator/...`), over HTTPS with the simulator's CA."""

    def __init__(self, url: str, key: str, ca_path: Path) -> None:
        self.url = url.rstrip("/") + "/_simulator"
        self.ca_path = str(ca_path)
        self.session = requests.Session()
        self.session.headers["X-Simulator-Key"] = key

    def _call(self, method: str, path: str, json=None, params=None):
        response = self.session.request(method, self.url + path, json=json, params=params, timeout=120,
                                        # explicit: REQUESTS_CA_BUNDLE in the environment beats Session.verify
                                        verify=self.ca_path)
        if response.status_code >= 400:
            raise SimulatorError(f"{method} /_simulator{path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def reset(self) -> None:
        self._call("POST", "/reset")

    def put_state(self, doc: dict) -> dict:
        """Replace the scenario; returns {"refreshToken": …} (App+User, for the partner's Admin agent)."""
        return self._call("PUT", "/state", json=doc)

    def get_state(self) -> dict:
        return self._call("GET", "/state")

    def generate(self, **options) -> dict:
        """A large synthetic partner: customers=10000, subscriptionsPerCustomer=3, seed=1, …"""
        return self._call("POST", "/generate", json=options)

    def faults(self, rules: list[dict]) -> dict:
        return self._call("POST", "/faults", json={"rules": rules})

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def requests(self, since: int | None = None) -> list[dict]:
        return self._call("GET", "/requests", params={"since": since} if since else None)

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def settings(self, **settings) -> dict:
        return self._call("PUT", "/settings", json=settings)

    def mint_token(self, **claims) -> str:
        """An access token made to order: tenant, resource, appOnly, oid, mfa, expiresIn, appId."""
        return self._call("POST", "/tokens", json=claims)["accessToken"]

    def purchase(self, tenant: str, **body) -> requests.Response:
        """A customer user buys a reservation or savings plan itself (simulator/customer_portal.py). Returns
        the raw response: a refusal is Azure's error (403), not an exception."""
        return self.session.post(f"{self.url}/customers/{tenant}/purchases", json=body, timeout=60,
                                 verify=self.ca_path)


class Simulator:
    def __init__(self, process: subprocess.Popen, url: str, state_dir: Path, key: str) -> None:
        self.process = process
        self.url = url
        self.state_dir = state_dir
        self.ca_path = state_dir / "ca.pem"
        self.key = key
        # The identity platform answers at the root too; MSAL takes an authority's first path segment as
        # its tenant, so the root (not /login) makes MSAL see the real tenant, as with Microsoft.
        self.login_url = url
        self.partner_center_url = url + "/partnercenter"
        self.azure_management_url = url + "/management"
        self.graph_url = url + "/graph"
        self.control = Control(url, key, self.ca_path)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_simulator(state_dir, *, key: str | None = None, port: int = 0, host: str = "127.0.0.1",
                    timeout: float = 60) -> Simulator:
    """Start `python -m simulator serve` and wait for its ready line."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    key = key or secrets.token_urlsafe(24)
    root = Path(__file__).resolve().parent.parent
    python_path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    env.pop("SIMULATOR_KEY", None)
    log = (state_dir / "simulator.log").open("ab")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "simulator", "serve", "--host", host, "--port", str(port),
         "--state", str(state_dir), f"--key={key}"],  # "=": a key may start with "-"
        stdout=subprocess.PIPE, stderr=log, env=env, cwd=root, text=True)
    log.close()
    found: list[str] = []
    ready = threading.Event()

    def wait_ready() -> None:
        for line in process.stdout:
            if line.startswith(READY) and not found:
                found.append(line[len(READY):].strip())
                ready.set()
        ready.set()   # the process ended (kept draining above, so it never blocks on a full pipe)

    threading.Thread(target=wait_ready, daemon=True).start()
    ready.wait(timeout)
    if not found:
        process.kill()
        tail = (state_dir / "simulator.log").read_text(errors="replace")[-2000:]
        raise SimulatorError(f"The simulator did not start within {timeout} s:\n{tail}")
    return Simulator(process, found[0], state_dir, key)
