"""Concurrent writes on one customer under gunicorn on PostgreSQL: no 500, every refusal logged, every
revoked token dead.

Usage: .venv/bin/python bench/concurrent_writes.py [seconds]   (default 15)
It drops and recreates a scratch database (bench_writes, or BENCH_DATABASE_URL), loads the demo data,
serves the portal with gunicorn (production settings, DEBUG off) and, for the given time, from one
thread per session: three Admin agents save one customer's Customer Permissions form with random
choices; the Help desk and the Sales agent forge the same form (refused: 403); the Help desk, the Sales
agent and an Admin revoke their own tokens on the API page, each followed by a forged revoke of someone
else's token (refused: 403). Each request carries its own MS-RequestId, so that afterwards every refused
request can be matched with its Failed entries in the activity log. Prints the figures; exits 1 on any
error (a 5xx, an unexpected status, a refusal without its Failed entry, a revoked token that still works).
"""

import http.client
import json
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_writes")
PORT = int(os.environ.get("PORT", "8097"))
WORKERS = os.environ.get("WORKERS", "4")
TOKENS_EACH = 400
ENV = {
    **os.environ,
    "DATABASE_URL": DATABASE_URL,
    "DJANGO_SETTINGS_MODULE": "portal.settings",
    "DJANGO_SECRET_KEY": "bench-only-not-a-secret-" + secrets.token_hex(24),
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_CONN_MAX_AGE": "3600",
    "DJANGO_LOG_LEVEL": "WARNING",
    "API_RATE_LIMIT": "0",
    "DEMO_PASSWORD": "bench-password-123",
    # Production settings need the activity log's key, and ask people for a second factor: the sessions
    # here are signed in by the bench, not by people.
    "ACTIVITY_LOG_KEY": "bench-only-" + secrets.token_hex(24),
    "REQUIRE_MFA": "false",
}
RESOURCES = ("AzureReservedInstances", "AzureSavingsPlan")

SETUP = """
import json
from django.test import Client
from activitylog.services import Origin
from api.services import issue_token
from customers.models import Customer
from permissions.selectors import purchase_readiness
from portal.models import Agent
customer = next(c for c in Customer.objects.order_by("id") if purchase_readiness(c).ready)
admin = Agent.objects.get(email="admin@partner.example")
agents = {
    "admin1": admin,
    "admin2": Agent.objects.create_user("admin2@partner.example", role=Agent.Role.ADMIN_AGENT),
    "admin3": Agent.objects.create_user("admin3@partner.example", role=Agent.Role.ADMIN_AGENT),
    "helpdesk": Agent.objects.get(email="helpdesk@partner.example"),
    "sales": Agent.objects.get(email="sales@partner.example"),
}
sessions, tokens = {}, {}
for name, agent in agents.items():
    client = Client()
    client.force_login(agent)
    sessions[name] = client.cookies["sessionid"].value
for name in ("helpdesk", "sales", "admin1"):
    tokens[name] = []
    for n in range(%(tokens)d):
        token, raw = issue_token(actor=agents[name], owner=agents[name], name=f"bench {n}",
                                 origin=Origin.system("bench"))
        tokens[name].append([token.pk, raw])
print(json.dumps({"tenant": str(customer.tenant_id), "sessions": sessions, "tokens": tokens}))
"""

COUNT = """
import json, sys
from activitylog.models import ActivityLogEntry, Status
failed = ActivityLogEntry.objects.filter(status=Status.FAILED, request_id__startswith="bench-")
succeeded = ActivityLogEntry.objects.filter(status=Status.SUCCEEDED, request_id__startswith="bench-")
print(json.dumps({"failed": list(failed.values_list("request_id", flat=True)),
                  "succeeded": list(succeeded.values_list("request_id", "action"))}))
"""


def manage(*args: str) -> str:
    return subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=ENV, check=True,
                          capture_output=True, text=True).stdout


class Session:
    """One signed-in browser: its cookies, its CSRF token, one keep-alive connection."""

    def __init__(self, name: str, sessionid: str) -> None:
        self.name, self.sessionid = name, sessionid
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        self.serial = 0
        page = self.request("GET", "/api/tokens/")
        if page.status != 200:
            raise RuntimeError(f"{name}: /api/tokens/ answered {page.status}")
        self.csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None):
        cookies = f"sessionid={self.sessionid}" + (f"; csrftoken={self.csrf_cookie}"
                                                   if hasattr(self, "csrf_cookie") else "")
        sent = {"Cookie": cookies, **(headers or {})}
        body = None
        if form is not None:
            fields = {**form, "csrfmiddlewaretoken": self.csrf}
            body = urlencode(fields)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        self.serial += 1
        request_id = f"bench-{self.name}-{self.serial}"
        sent["MS-RequestId"] = request_id
        try:
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed this keep-alive connection while it was idle (gunicorn's keepalive), before
            # reading the request: send it again on a new connection, as any HTTP client does.
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
        response.body = response.read().decode()
        response.request_id = request_id
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith("csrftoken="):
                self.csrf_cookie = value.split(";", 1)[0].split("=", 1)[1]
        return response


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.refused: set[str] = set()
        self.revoked: list[str] = []
        self.errors: list[str] = []

    def note(self, kind: str, response, expected: int) -> bool:
        with self.lock:
            if response.status != expected:
                self.counts["5xx" if response.status >= 500 else "unexpected"] += 1
                self.errors.append(f"{kind}: {response.status} (expected {expected}) {response.request_id}")
                return False
            self.counts[kind] += 1
            if expected == 403:
                self.refused.add(response.request_id)
            return True


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 15.0
    deadline = 0.0
    server, name = DATABASE_URL.rsplit("/", 1)
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", f"{server}/postgres", "-qc", sql], check=True, capture_output=True)
    manage("migrate", "-v0")
    manage("collectstatic", "--no-input", "-v0")
    manage("seed_demo")
    setup = json.loads(manage("shell", "-v0", "-c", SETUP % {"tokens": TOKENS_EACH}).strip().splitlines()[-1])
    account = f"/customers/{setup['tenant']}/account/permissions/"
    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "portal.wsgi",
         "--workers", WORKERS, "--bind", f"127.0.0.1:{PORT}", "--access-logfile", "/dev/null",
         "--max-requests", "0"],
        cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tally = Tally()
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/livez")
                break
            except OSError:
                time.sleep(0.1)
        def session(name: str, role: str) -> Session:  # one per thread: a connection is not shared
            return Session(f"{name}-{role}", setup["sessions"][name])

        def guarded(job):
            def run(*args):
                try:
                    job(*args)
                except Exception as exc:  # a dropped connection, a page without its form: an error too
                    with tally.lock:
                        tally.errors.append(f"{job.__name__}: {exc!r}")
            return run


        def save(session: Session, seed: int) -> None:
            choices = random.Random(seed)
            while time.monotonic() < deadline:
                form = {resource: choices.choice(["allow", "deny"]) for resource in RESOURCES}
                response = session.request("POST", account, form)
                # Allowing states the partner's liability first (issue 12): confirm, as a person would. When
                # another admin changed the permissions meanwhile, what is being allowed differs and the step
                # is shown again (nothing changed): confirm that one too, a few times at most.
                for _ in range(5):
                    confirmation = re.search(r'name="confirmation" value="([^"]+)"', response.body)
                    if response.status != 200 or not confirmation:
                        break
                    response = session.request("POST", account, {**form, "confirmation": confirmation[1]})
                else:
                    if response.status == 200 and 'name="confirmation"' in response.body:
                        with tally.lock:  # still racing the other admins: a correct answer, no change
                            tally.counts["confirmations outrun"] += 1
                        continue
                tally.note("save", response, 302)

        def forge(session: Session) -> None:
            while time.monotonic() < deadline:
                forged = session.request("POST", account, dict.fromkeys(RESOURCES, "allow"))
                tally.note("forged save", forged, 403)

        def revoke(session: Session, own: list, others: list) -> None:
            for (token_id, raw), (other_id, _raw) in zip(own, others, strict=False):
                if time.monotonic() >= deadline:
                    break
                if tally.note("revoke", session.request("POST", f"/api/tokens/{token_id}/revoke/", {}), 302):
                    with tally.lock:
                        tally.revoked.append(raw)
                forged = session.request("POST", f"/api/tokens/{other_id}/revoke/", {})
                tally.note("forged revoke", forged, 403)

        tokens = setup["tokens"]
        jobs = [
            *((save, session(name, "save"), n) for n, name in enumerate(("admin1", "admin2", "admin3"))),
            (forge, session("helpdesk", "forge")),
            (forge, session("sales", "forge")),
            (revoke, session("helpdesk", "revoke"), tokens["helpdesk"], tokens["sales"]),
            (revoke, session("sales", "revoke"), tokens["sales"], tokens["helpdesk"]),
            (revoke, session("admin1", "revoke"), tokens["admin1"], tokens["sales"]),
        ]
        threads = [threading.Thread(target=guarded(job), args=args) for job, *args in jobs]
        started = time.monotonic()
        deadline = started + seconds
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started

        logged = json.loads(manage("shell", "-v0", "-c", COUNT).strip().splitlines()[-1])
        failed_ids = Counter(logged["failed"])
        unlogged = sorted(tally.refused - set(failed_ids))
        still_working = []
        check = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        for raw in tally.revoked:
            check.request("GET", "/v1/customers?size=1", headers={"Authorization": f"Bearer {raw}"})
            response = check.getresponse()
            response.read()
            if response.status != 401:
                still_working.append(raw[:12])
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)

    refusals = tally.counts["forged save"] + tally.counts["forged revoke"]
    print(f"{seconds:.0f} s ({elapsed:.1f} s with the last requests), gunicorn {WORKERS} workers, "
          f"PostgreSQL; one customer; 3 Admin writers, 2 forgers (Help desk, Sales), 3 revokers")
    print(f"  saves: {tally.counts['save']} (302), forged saves refused: {tally.counts['forged save']} (403)")
    print(f"  revokes: {tally.counts['revoke']} (302), "
          f"forged revokes refused: {tally.counts['forged revoke']} (403)")
    print(f"  errors: {len(tally.errors)} ({tally.counts['5xx']} answered 5xx, "
          f"{tally.counts['unexpected']} another unexpected status)")
    print(f"  saves asked to confirm again 5 times (others kept changing what they allow; nothing changed): "
          f"{tally.counts['confirmations outrun']}")
    print(f"  refusals: {refusals}; refused requests with their Failed entries: {refusals - len(unlogged)} "
          f"({sum(failed_ids.values())} Failed entries: one per refused change; "
          f"a forged save refuses one or two)")
    print(f"  Failed entries without a refused request: {len(set(failed_ids) - tally.refused)}")
    print(f"  revoked tokens still working: {len(still_working)} of {len(tally.revoked)}")
    for error in tally.errors[:10]:
        print(f"    {error}")
    if tally.errors or unlogged or still_working or set(failed_ids) - tally.refused:
        sys.exit(1)


if __name__ == "__main__":
    main()
