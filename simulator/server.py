"""The simulator's HTTPS server: one base URL, a prefix per Microsoft service, faults and the journal."""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from . import (
    arm,
    certs,
    control,
    graph,
    identity,
    partnercenter,
    reservation_ops,  # noqa: F401 - registers its routes on arm.router (issue 13)
)
from .store import Store
from .tokens import Signer
from .web import HttpError, Request, Response, html_response, json_response

SERVICES = {  # prefix -> (service name, module)
    "/_simulator": ("control", control),
    "/partnercenter": ("partnercenter", partnercenter),
    "/management": ("management", arm),
    "/graph": ("graph", graph),
    "/login": ("login", identity),
}
ERROR_PAGE = """<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
"""


class Simulator:
    """What every handler needs: the store, the signing key, the control key."""

    def __init__(self, state_dir: Path, key: str | None = None) -> None:
        self.state_dir = state_dir
        certs.ensure_certificates(state_dir)
        self.key = key or _read_or_make_key(state_dir)
        self.signer = Signer(*certs.load_signing(state_dir))
        self.store = Store(state_dir)
        self.url: str | None = None


def _read_or_make_key(state_dir: Path) -> str:
    path = state_dir / "key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(24)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def service_for(path: str) -> tuple[str, str, object]:
    """(service, prefix, module) for a request path; the identity platform also answers at the root."""
    for prefix, (name, module) in SERVICES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return name, prefix, module
    return "login", "", identity


def fault_response(service: str, kind: str, rule: dict, req: Request) -> Response:
    retry_after = int(rule.get("retryAfter", 1))
    if kind == "html":
        return html_response(502, ERROR_PAGE)
    status = int(kind)
    module = service_for(req.path)[2]
    response = module.error_response(status, req, retry_after=retry_after)
    if status in (429, 503) and not any(name.lower() == "retry-after" for name, _ in response.headers):
        response.header("Retry-After", str(retry_after))
    return response


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-Simulator/1.0"
    sys_version = ""
    timeout = 300

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - the journal is the log
        pass

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _handle(self) -> None:
        sim: Simulator = self.server.sim
        split = urlsplit(self.path)
        path = split.path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        service, prefix, module = service_for(path)
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        req = Request(method=self.command, path=path, raw_query=split.query, headers=self.headers, body=body,
                      host=host, prefix=prefix)
        if service == "control":
            self._send(self._dispatch(sim, module, req))
            return
        rule = sim.store.take_fault(self.command, path)
        fault = rule["fault"] if rule else None
        req.fault = rule   # a handler may act on its own fault kinds (operation_failed)
        entry = {"time": datetime.now(UTC).isoformat(), "service": service, "method": self.command,
                 "path": path, "query": split.query,
                 "msRequestId": self.headers.get("MS-RequestId") or self.headers.get("x-ms-client-request-id")
                 or self.headers.get("client-request-id"),
                 "msCorrelationId": self.headers.get("MS-CorrelationId")
                 or self.headers.get("x-ms-correlation-request-id"),
                 "tenant": None, "fault": fault, "status": None}
        noted = False

        def note() -> None:
            """Into the journal before the answer (or the hang-up) leaves: a client that has its answer
            finds its request there, and requests stand in the order they were answered."""
            nonlocal noted
            if not noted:
                noted = True
                entry["tenant"] = req.tenant
                sim.store.log_request(entry)

        try:
            if fault == "drop":
                note()
                self._drop()
                return
            if fault in ("429", "500", "503", "html"):
                response = fault_response(service, fault, rule, req)
            elif fault == "canned":
                # An answer given without acting, as a read that raced a change would have seen it
                # (issue 11: Partner Center changed between the portal's read and its write).
                response = json_response(int(rule.get("status", 200)), rule.get("body"))
            else:
                if fault == "slow":
                    time.sleep(float(rule.get("delaySeconds", 3)))
                response = self._dispatch(sim, module, req)
                if fault == "unknown_enum" and response.data is not None:
                    unknown_enum(response, rule)
                if fault == "drop_after":
                    entry["status"] = response.status
                    note()
                    self._drop()
                    return
                if fault == "truncated" and response.body:
                    response.body = response.body[: max(1, len(response.body) // 2)]
            module.decorate(req, response)
            entry["status"] = response.status
            note()
            self._send(response)
        finally:
            note()

    def _dispatch(self, sim: Simulator, module, req: Request) -> Response:
        try:
            return module.handle(sim, req)
        except HttpError as error:
            return error.response
        except Exception:  # noqa: BLE001 - a bug in the simulator answers 500 and is printed, never hidden
            traceback.print_exc(file=sys.stderr)
            return module.error_response(500, req, retry_after=1)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        # Headers and body in one write: two small writes meet the client's delayed ACK (40 ms a request).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(response.body)
        self.flush_headers()

    def _drop(self) -> None:
        """Close the connection without answering (as a dropped connection or a crashed server would)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


ENUM_SUBSTITUTES = {  # values Microsoft may add later, by field name
    "status": "expired", "principalType": "DirectoryRoleTemplate",
    "relationshipToPartner": "indirect_reseller_plus", "operationStatus": "partially_succeeded",
    "billingType": "entitlement",
}


def unknown_enum(response: Response, rule: dict) -> None:
    """Put a value Microsoft may add later into the first object that has the field."""
    field = rule.get("field")
    value = rule.get("value")

    def visit(node) -> bool:
        if isinstance(node, dict):
            for key in ([field] if field else ENUM_SUBSTITUTES):
                if key in node and isinstance(node[key], str):
                    node[key] = value or ENUM_SUBSTITUTES.get(key, "unknownFutureValue")
                    return True
            return any(visit(child) for child in node.values())
        if isinstance(node, list):
            return any(visit(child) for child in node)
        return False

    visit(response.data)
    response.body = json.dumps(response.data).encode()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, sim: Simulator, host: str, port: int) -> None:
        self.sim = sim
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(sim.state_dir / certs.SERVER_CERT, sim.state_dir / certs.SERVER_KEY)
        # The TLS handshake happens in the request's own thread, never in the accepting one.
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError, socket.timeout)):
            return   # a client that went away or does not trust the CA: not the simulator's bug
        super().handle_error(request, client_address)


def serve(state_dir: Path, *, host: str, port: int, key: str | None) -> None:
    sim = Simulator(state_dir, key)
    server = Server(sim, host, port)
    bound_port = server.server_address[1]
    display_host = f"[{host}]" if ":" in host else host
    sim.url = f"https://{display_host}:{bound_port}"
    (state_dir / "url").write_text(sim.url + "\n")
    print(f"simulator listening on {sim.url}", flush=True)
    thread = threading.Thread(target=server.serve_forever, name="simulator", daemon=True)
    thread.start()

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        sim.store.save(in_process=True)


def request_id() -> str:
    return str(uuid.uuid4())
