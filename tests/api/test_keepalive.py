"""After a refused large body, the next request on the same connection works, or the server said close.

Against gunicorn with the project's gunicorn.conf.py, over a real socket, as production serves.
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from portal.models import Agent
from tests.factories import AgentFactory

from .conftest import token_for

ROOT = Path(__file__).resolve().parents[2]
BIG = 3 * 1024 * 1024


@pytest.fixture
def gunicorn(tmp_path):
    """A gunicorn serving the portal on a socket the OS picked, with the test database when it can reach
    it (PostgreSQL), else an empty SQLite file (enough for requests refused before any query)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        url = (f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST']}:"
               f"{settings['PORT'] or 5432}/{settings['NAME']}")
    else:
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DATABASE_URL": url,
           "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "keepalive-test-" + "x" * 40,
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "false",
           "DJANGO_LOG_LEVEL": "WARNING", "WEB_CONCURRENCY": "1", "DJANGO_CONN_MAX_AGE": "0"}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"fd://{listener.fileno()}",
         "--access-logfile", "/dev/null", "portal.wsgi"],
        cwd=ROOT, env=env, pass_fds=(listener.fileno(),), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    listener.close()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as probe:
                    probe.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    if probe.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail(f"gunicorn did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def read_response(stream) -> tuple[str, dict[str, str], bytes]:
    status = stream.readline().decode().strip()
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _sep, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers.get("content-length", 0)))
    return status, headers, body


def big_post_then_get(port: int, token: str | None) -> tuple[str, dict[str, str], str | None]:
    """POST a 3 MB JSON body, read the answer, then send a GET on the same connection if it was kept."""
    body = json.dumps({"padding": "x" * BIG}).encode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (f"POST /v1/SelfServePolicy HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{auth}Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        def send():
            # The server may answer and close before it has read everything.
            with contextlib.suppress(OSError):
                sock.sendall(head + body)
        sender = threading.Thread(target=send)
        sender.start()
        stream = sock.makefile("rb")
        status, headers, _body = read_response(stream)
        sender.join(timeout=30)
        if headers.get("connection", "keep-alive").lower() == "close":
            return status, headers, None
        try:
            sock.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            following, _headers, _body = read_response(stream)
        except OSError as exc:
            following = f"connection failed: {exc!r}"
        return status, headers, following or "connection closed"


def test_a_refused_large_body_without_a_token_does_not_leave_a_dead_keepalive(gunicorn):
    status, headers, following = big_post_then_get(gunicorn, token=None)

    assert status.startswith("HTTP/1.1 401")
    assert following is None or following.startswith("HTTP/1.1 200"), (headers, following)
    assert headers["connection"] == "close"


@pytest.mark.django_db(transaction=True)
def test_after_a_413_the_server_says_close(needs_postgres, gunicorn):
    token = token_for(AgentFactory(email="big@partner.example", role=Agent.Role.ADMIN_AGENT))

    status, headers, following = big_post_then_get(gunicorn, token=token)

    assert status.startswith("HTTP/1.1 413")
    assert following is None or following.startswith("HTTP/1.1 200"), (headers, following)
    assert headers["connection"] == "close"


def test_a_small_request_keeps_its_connection(gunicorn):
    with socket.create_connection(("127.0.0.1", gunicorn), timeout=20) as sock:
        stream = sock.makefile("rb")
        for _n in range(2):
            sock.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status, headers, _body = read_response(stream)
            assert status.startswith("HTTP/1.1 200")
            assert headers["connection"] == "keep-alive"
