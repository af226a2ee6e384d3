"""The transport under the client (microsoft.client.new_session, on libcurl) against the simulator over
HTTPS: what it counts, which CA it trusts, which proxy it goes through, and how a dropped connection or a
5xx from the identity platform ends."""

import base64
import select
import socket
import socketserver
import threading

import certifi
import pytest

from microsoft.client import PARTNER_CENTER, MicrosoftClient, Stats, TLSError, UnavailableError, new_session
from microsoft.scenario import CustomerBuilder
from microsoft.tokens import Tokens

from .conftest import PARTNER

TOKEN_PATH = "oauth2/v2.0/token$"
# RESENT_ONCE: libcurl sends a request again, once, on a new connection when the kept-alive one it used
# was lost without any answer; the client's loop counts attempts, so Microsoft may see one request more
# than the attempts for a read or a token request (never for a change: those go on a connection of their
# own, tests/microsoft/test_readiness_steps.py and test_self_serve_push.py prove it with drop_after).


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def journal(microsoft, path_end: str = "") -> list[dict]:
    """The simulator's requests in the order they arrived (it notes each one when it has answered, so a
    retry's note can come before the note of the answer that caused it)."""
    return sorted((r for r in microsoft.sim.control.requests() if r["path"].endswith(path_end)),
                  key=lambda r: r["time"])


def test_every_request_is_counted_msal_token_requests_included(microsoft):
    contoso = CustomerBuilder("Contoso")
    microsoft.load([contoso], connect=False)
    stats = Stats()
    session = new_session(stats)
    client = MicrosoftClient(tokens=Tokens(session=session), session=session)

    assert client.customer(contoso.tenant_id)["id"] == contoso.tenant_id

    sent = microsoft.sim.control.requests()
    assert {r["service"] for r in sent} >= {"login", "partnercenter"}
    assert stats.requests == len(sent) == 3   # MSAL's discovery and token request, then the customer
    client.close()


def test_a_dropped_token_request_is_retried_then_unavailable(microsoft):
    microsoft.load([], connect=False)
    microsoft.sim.control.faults([{"method": "POST", "path": TOKEN_PATH, "fault": "drop", "times": None}])
    stats = Stats()
    with pytest.raises(UnavailableError) as raised:
        Tokens(session=new_session(stats)).app_only(PARTNER.tenant_id, PARTNER_CENTER)
    assert "ConnectionDropped" in raised.value.message
    assert stats.requests == 2 + 3  # discovery, then the token request and 3 retries (the fixture's)
    assert 4 <= len(journal(microsoft, "/token")) <= 5  # RESENT_ONCE


@pytest.mark.parametrize("fault", ["drop", "500", "503"])
def test_one_failed_token_request_is_retried_and_the_token_comes(microsoft, fault):
    microsoft.load([], connect=False)
    microsoft.sim.control.faults([{"method": "POST", "path": TOKEN_PATH, "fault": fault, "times": 1}])
    token = Tokens(session=new_session(Stats())).app_only(PARTNER.tenant_id, PARTNER_CENTER)
    assert token.count(".") == 2
    assert [r["status"] for r in journal(microsoft, "/token")][-1] == 200


def test_an_identity_platform_answering_5xx_is_unavailable_after_bounded_retries(microsoft):
    microsoft.load([], connect=False)
    microsoft.sim.control.faults([{"method": "POST", "path": TOKEN_PATH, "fault": "503", "times": None}])
    with pytest.raises(UnavailableError) as raised:
        Tokens(session=new_session(Stats())).app_only(PARTNER.tenant_id, PARTNER_CENTER)
    assert "MsalServiceError" in raised.value.message
    assert [r["status"] for r in journal(microsoft, "/token")] == [503] * 4


@pytest.mark.parametrize("fault", ["drop", "500"])
def test_a_failed_discovery_request_is_retried_and_the_token_comes(microsoft, fault):
    microsoft.load([], connect=False)
    microsoft.sim.control.faults([{"method": "GET", "path": "openid-configuration$", "fault": fault,
                                   "times": 1}])
    token = Tokens(session=new_session(Stats())).app_only(PARTNER.tenant_id, PARTNER_CENTER)
    assert token.count(".") == 2
    assert [r["status"] for r in journal(microsoft, "openid-configuration")] == [
        None if fault == "drop" else 500, 200]


def test_a_dropped_connection_on_a_read_is_unavailable_after_bounded_retries(microsoft):
    contoso = CustomerBuilder("Contoso")
    microsoft.load([contoso], connect=False)
    microsoft.sim.control.faults([{"method": "GET", "path": f"customers/{contoso.tenant_id}$",
                                   "fault": "drop", "times": None}])
    stats = Stats()
    session = new_session(stats)
    client = MicrosoftClient(tokens=Tokens(session=session), session=session)
    with pytest.raises(UnavailableError) as raised:
        client.customer(contoso.tenant_id)
    assert "No answer from Microsoft (ConnectionDropped)" in raised.value.message
    assert 4 <= len(journal(microsoft, contoso.tenant_id)) <= 5  # RESENT_ONCE
    assert stats.retries == 3


def test_the_ca_bundle_is_the_one_configured(microsoft, monkeypatch):
    """REQUESTS_CA_BUNDLE is the bundle trusted: certifi's does not know the simulator's CA."""
    microsoft.load([], connect=False)
    url = microsoft.sim.login_url + "/common/v2.0/.well-known/openid-configuration"
    assert new_session(Stats()).get(url).json()["issuer"]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    with pytest.raises(TLSError) as refused:
        new_session(Stats()).get(url)
    assert refused.value.code == 60  # libcurl's: the peer's certificate could not be verified


class _ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTPS proxy (CONNECT, then bytes both ways) that notes what it was asked."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.asked: list[tuple[str, str]] = []
        super().__init__(("127.0.0.1", 0), _Tunnel)


class _Tunnel(socketserver.BaseRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
        auth = next((line.split(":", 1)[1].strip() for line in lines[1:]
                     if line.lower().startswith("proxy-authorization:")), "")
        self.server.asked.append((lines[0], auth))
        host, port = lines[0].split()[1].rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [self.request, upstream]
        try:
            while True:
                ready, _, _ = select.select(sockets, [], [], 10)
                if not ready:
                    return
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.request else self.request).sendall(data)
        finally:
            upstream.close()


@pytest.fixture
def proxy():
    server = _ConnectProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_https_proxy_from_the_environment_tunnels_with_its_credentials(microsoft, monkeypatch, no_proxy_env,
                                                                      proxy):
    microsoft.load([], connect=False)
    port = proxy.server_address[1]
    monkeypatch.setenv("HTTPS_PROXY", f"http://portal:s%40cret@127.0.0.1:{port}")
    session = new_session(Stats())
    url = microsoft.sim.login_url + "/common/v2.0/.well-known/openid-configuration"

    assert session.get(url).status_code == 200
    assert session.get(url).status_code == 200

    target = url.split("/")[2]
    assert [line.rsplit(" ", 1)[0] for line, _ in proxy.asked] == [f"CONNECT {target}"]   # one tunnel, kept
    assert proxy.asked[0][1] == "Basic " + base64.b64encode(b"portal:s@cret").decode()
    session.close()


def test_a_host_in_no_proxy_goes_direct(microsoft, monkeypatch, no_proxy_env, proxy):
    microsoft.load([], connect=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    url = microsoft.sim.login_url + "/common/v2.0/.well-known/openid-configuration"

    assert new_session(Stats()).get(url).status_code == 200
    assert proxy.asked == []


@pytest.fixture
def cut_short():
    """A plain-HTTP server whose every answer promises more body than it sends, then hangs up."""
    class CutShort(socketserver.BaseRequestHandler):
        def handle(self):
            self.server.answered += 1
            self.request.recv(65536)
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 1000\r\n\r\n{\"items\": [")
            self.request.shutdown(socket.SHUT_WR)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), CutShort)
    server.daemon_threads, server.answered = True, 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_body_cut_short_is_a_dropped_answer_retried_then_unavailable(settings, cut_short):
    """The body is read whole before the answer is handed back: a connection closed before the
    Content-Length arrived is no answer (retried), not a short body parsed later."""
    settings.MICROSOFT_MAX_RETRIES, settings.MICROSOFT_BACKOFF_SECONDS = 2, 0.01
    stats = Stats()
    client = MicrosoftClient(tokens=None, session=new_session(stats))
    with pytest.raises(UnavailableError) as raised:
        client.request("GET", f"http://127.0.0.1:{cut_short.server_address[1]}/v1/customers",
                       token=lambda: "token", pace=lambda: 0.0)
    assert raised.value.message == "No answer from Microsoft (ConnectionDropped)."
    assert cut_short.answered == stats.requests == 3
