"""Latency of the JSON API under gunicorn on PostgreSQL: GET and PUT of a self-serve policy.

Usage: .venv/bin/python bench/api_latency.py [requests per kind] [runs]
It drops and recreates a scratch database (bench_api, or BENCH_DATABASE_URL), loads the demo data,
creates an Admin agent's token, serves the portal with gunicorn (production settings, DEBUG off)
and sends requests one at a time over one keep-alive connection, alternating GET and PUT. Each PUT
toggles Azure savings plans with the etag of the previous answer, so each one writes a permission
row and its activity log entry. Prints the median, p95 and p99 in milliseconds per run.
"""

import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_api")
PORT = int(os.environ.get("PORT", "8098"))
WORKERS = os.environ.get("WORKERS", "2")
ENV = {
    **os.environ,
    "DATABASE_URL": DATABASE_URL,
    "DJANGO_SETTINGS_MODULE": "portal.settings",
    "DJANGO_SECRET_KEY": "bench-only-not-a-secret-" + secrets.token_hex(24),
    "ACTIVITY_LOG_KEY": "bench-only-" + secrets.token_hex(24),
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_CONN_MAX_AGE": "3600",
    "DJANGO_LOG_LEVEL": "WARNING",
    "API_RATE_LIMIT": "0",
    "DEMO_PASSWORD": "bench-password-123",
}


def manage(*args: str) -> str:
    return subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=ENV, check=True,
                          capture_output=True, text=True).stdout


def prepare() -> tuple[str, str]:
    """A fresh database with the demo data; (token, policy id of a ready customer with a policy)."""
    server, name = DATABASE_URL.rsplit("/", 1)
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", f"{server}/postgres", "-qc", sql], check=True, capture_output=True)
    manage("migrate", "-v0")
    manage("collectstatic", "--no-input", "-v0")
    manage("seed_demo")
    subprocess.run(["psql", DATABASE_URL, "-qc", "VACUUM ANALYZE"], check=True, capture_output=True)
    token = manage("create_api_token", "admin@partner.example", "--name", "bench").strip()
    policy = manage("shell", "-v0", "-c", """
from django.conf import settings
from customers.models import Customer
from permissions.models import Resource
from permissions.selectors import purchase_readiness
reservations_only = (Customer.objects.filter(purchase_permissions__resource=Resource.AZURE_RESERVATIONS)
                     .exclude(purchase_permissions__resource=Resource.AZURE_SAVINGS_PLAN).order_by("id"))
customer = next(customer for customer in reservations_only if purchase_readiness(customer).ready)
print(f"{settings.PARTNER_TENANT_ID}_{customer.tenant_id}")
""").strip()
    return token, policy


def percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def measure(token: str, policy: str, count: int) -> dict[str, list[float]]:
    connection = http.client.HTTPConnection("127.0.0.1", PORT)
    path = f"/v1/SelfServePolicy/{policy}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    timings: dict[str, list[float]] = {"GET": [], "PUT": []}
    both = [{"resource": "AzureReservedInstances", "action": "Purchase"},
            {"resource": "AzureSavingsPlan", "action": "Purchase"}]
    for i in range(count):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        policy_now = json.loads(response.read())
        timings["GET"].append((time.perf_counter() - started) * 1000)
        assert response.status == 200, (response.status, policy_now)
        body = json.dumps({"permissions": both[: 1 + (i % 2 == 0)],
                           "attributes": {"etag": policy_now["attributes"]["etag"]}})
        started = time.perf_counter()
        connection.request("PUT", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        timings["PUT"].append((time.perf_counter() - started) * 1000)
        assert response.status == 200, (response.status, answer)
    connection.close()
    return timings


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    token, policy = prepare()
    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "portal.wsgi",
         "--workers", WORKERS, "--bind", f"127.0.0.1:{PORT}", "--access-logfile", "/dev/null",
         "--max-requests", "0"],
        cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/livez")
                break
            except OSError:
                time.sleep(0.1)
        measure(token, policy, 50)  # warm up every worker's connection and prepared statements
        print(f"gunicorn {WORKERS} workers (gthread), PostgreSQL {DATABASE_URL.rsplit('/', 1)[1]}, "
              f"demo data; one client, keep-alive, {count} GET + {count} PUT per run")
        results: dict[str, list[float]] = {"GET": [], "PUT": []}
        for run in range(1, runs + 1):
            timings = measure(token, policy, count)
            line = []
            for kind, values in timings.items():
                results[kind] += values
                line.append(f"{kind} median {statistics.median(values):.2f} ms, "
                            f"p95 {percentile(values, 95):.2f} ms, p99 {percentile(values, 99):.2f} ms")
            print(f"  run {run}: " + "; ".join(line))
        for kind, values in results.items():
            print(f"{kind} /v1/SelfServePolicy/{{id}}: median {statistics.median(values):.2f} ms, "
                  f"p95 {percentile(values, 95):.2f} ms over {len(values)} requests")
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)


if __name__ == "__main__":
    main()
