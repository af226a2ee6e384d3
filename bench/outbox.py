"""The outbox against the simulator: push latency with an idle worker, and a storm with faults and kills.

    .venv/bin/python bench/outbox.py [--database-url postgres://postgres@127.0.0.1:5432/portal]
        [--latency 40] [--toggles 1000] [--customers 50] [--kills 10] [--workers 2]

A fresh scratch database (`<name>_outboxbench`) and a fresh simulator. Workers are real processes
(`manage.py outbox_worker --interval 0.25`).

- latency: one idle worker; an Admin agent's decision commits, and the time until the change is Applied
  (its applied_at minus the commit) is taken, one decision at a time: p50 / p95 / max.
- storm: --toggles random Allow / Don't allow over --customers customers from this process while
  --workers workers apply them, with about 10 % 429 (Retry-After 1) and 10 % 5xx injected on Partner
  Center's SelfServePolicy calls, and a worker SIGKILLed --kills times (then restarted). Then: changes
  lost (queued, never applied nor superseded), changes applied twice (a successful write per MS-RequestId
  in the simulator's journal more than once), customers whose Partner Center state differs from the
  portal's, and the time from the last toggle to convergence.
"""

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _fresh_database(url: str, suffix: str = "_outboxbench") -> str:
    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "portal") + suffix
    scratch = urlunsplit(parts._replace(path="/" + name))
    import psycopg

    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return scratch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal"))
    parser.add_argument("--latency", type=int, default=40)
    parser.add_argument("--toggles", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from simulator.testing import start_simulator

    database = _fresh_database(args.database_url)
    with tempfile.TemporaryDirectory() as state, start_simulator(Path(state)) as sim:
        partner = {"tenantId": "634f6379-a1c5-4f1e-9e39-8b3f5d2c7a10",
                   "appId": "5b0c2a11-6f0e-4a5e-9d1c-1e2f3a4b5c6d", "appSecret": "bench-app-secret"}
        env = {"DATABASE_URL": database, "DJANGO_SETTINGS_MODULE": "portal.settings",
               "DJANGO_SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40, "DJANGO_DEBUG": "false",
               "ACTIVITY_LOG_KEY": "bench-only-activity-log-key-" + "x" * 32, "ACTIVITY_LOG_KEY_ID": "bench",
               "MICROSOFT_CREDENTIALS_KEY": "", "MICROSOFT_CLOUD": "simulated", "SIMULATOR_URL": sim.url,
               "REQUESTS_CA_BUNDLE": str(sim.ca_path), "PARTNER_TENANT_ID": partner["tenantId"],
               "MICROSOFT_APP_ID": partner["appId"], "MICROSOFT_APP_SECRET": partner["appSecret"],
               "MICROSOFT_MAX_RETRIES": "0", "OUTBOX_BACKOFF_SECONDS": "0.2",
               "OUTBOX_BACKOFF_MAX_SECONDS": "5", "OUTBOX_LEASE_SECONDS": "3", "OUTBOX_MAX_ATTEMPTS": "30",
               "DJANGO_LOG_LEVEL": "WARNING"}
        os.environ.update(env)
        import django

        django.setup()
        run(args, sim, partner, env)


def run(args, sim, partner_doc, env) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from activitylog.models import Source
    from activitylog.services import Origin
    from customers.models import Customer
    from microsoft import credentials
    from microsoft.scenario import CustomerBuilder, Partner, scenario
    from microsoft.sync import run_sync
    from outbox.models import OutboxChange
    from permissions.models import PurchasePermission, Resource
    from permissions.services import set_purchase_permissions
    from portal.models import Agent

    builders = []
    for n in range(args.customers):
        builder = CustomerBuilder(f"Bench customer {n:03d}")
        builder.assign(builder.azure_subscription(builder.subscription()), builder.user(f"Owner {n}"))
        builders.append(builder)
    answer = sim.control.put_state(scenario(Partner(tenant_id=partner_doc["tenantId"], app_id=partner_doc[
        "appId"], app_secret=partner_doc["appSecret"]), builders))
    credentials.store_refresh_token(answer["refreshToken"])
    sim.control.settings(throttling=False)
    run_sync()
    customers = list(Customer.objects.order_by("company_name"))
    admin = Agent.objects.create_user(email="bench-admin@partner.example", password=None,
                                      role=Agent.Role.ADMIN_AGENT)
    allowed = {c.pk: set() for c in customers}
    counter = iter(range(10**9))

    def toggle(customer):
        resource = random.choice(list(Resource))  # noqa: S311
        want = resource.value not in allowed[customer.pk]
        n = next(counter)
        set_purchase_permissions(actor=admin, customer=customer, allowed={resource: want},
                                 origin=Origin(source=Source.WEB, request_id=f"bench-{n}",
                                               correlation_id=f"bench-{n}"))
        (allowed[customer.pk].add if want else allowed[customer.pk].discard)(resource.value)

    def worker():
        return subprocess.Popen([sys.executable, "manage.py", "outbox_worker", "--interval", "0.25"],  # noqa: S603
                                cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    # --- latency, one idle worker
    idle = worker()
    time.sleep(3)  # its start-up
    latencies = []
    for n in range(args.latency):
        customer = customers[n % len(customers)]
        toggle(customer)
        committed = timezone.now()
        change = OutboxChange.objects.order_by("-id").first()
        while OutboxChange.objects.filter(pk=change.pk, state=OutboxChange.State.WAITING).exists():
            time.sleep(0.01)
        change.refresh_from_db()
        latencies.append((change.applied_at - committed).total_seconds())
    idle.send_signal(signal.SIGTERM)
    idle.wait()
    latencies.sort()
    print(json.dumps({"latency_commit_to_applied_seconds": {
        "n": len(latencies), "p50": round(statistics.median(latencies), 3),
        "p95": round(latencies[int(0.95 * (len(latencies) - 1))], 3), "max": round(latencies[-1], 3)},
        "worker_poll_interval_seconds": 0.25}, indent=2), flush=True)

    # --- storm
    sim.control.clear_requests()
    sim.control.faults([
        {"path": "SelfServePolicy", "fault": "429", "probability": 0.1, "times": None, "retryAfter": 1},
        {"path": "SelfServePolicy", "fault": "503", "probability": 0.11, "times": None, "retryAfter": 0}])
    first_change = (OutboxChange.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    workers = [worker() for _ in range(args.workers)]
    kill_every = max(1, args.toggles // (args.kills + 1))
    kills = 0
    started = time.perf_counter()
    for n in range(args.toggles):
        toggle(random.choice(customers))  # noqa: S311
        if n and n % kill_every == 0 and kills < args.kills:
            victim = random.randrange(len(workers))  # noqa: S311
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            workers[victim] = worker()
            kills += 1
        time.sleep(0.005)
    toggled = time.perf_counter()
    while kills < args.kills:
        time.sleep(0.5)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        workers[0] = worker()
        kills += 1
    deadline = time.perf_counter() + 600
    while OutboxChange.objects.filter(state=OutboxChange.State.WAITING).exists():
        if time.perf_counter() > deadline:
            break
        time.sleep(0.2)
    converged = time.perf_counter()
    for process in workers:
        process.send_signal(signal.SIGTERM)
        process.wait()
    sim.control.clear_faults()

    storm = OutboxChange.objects.filter(id__gte=first_change)
    journal = sim.control.requests()
    writes: dict[str, int] = {}
    for request in journal:
        if "SelfServePolicy" in request["path"] and request["method"] in ("POST", "PUT", "DELETE") \
                and request["status"] in (200, 201, 204):
            writes[request["msRequestId"]] = writes.get(request["msRequestId"], 0) + 1
    held = {str(c.tenant_id): [] for c in customers}
    for tenant, resource in PurchasePermission.objects.values_list("customer__tenant_id", "resource"):
        held[str(tenant)].append(resource)
    in_pc = {c["tenantId"]: (c.get("selfServePolicy") or {}).get("permissions", [])
             for c in sim.control.get_state()["customers"]}
    differ = sum(1 for tenant, resources in held.items()
                 if sorted(resources) != sorted(in_pc.get(tenant, [])))
    print(json.dumps({"storm": {
        "toggles": args.toggles, "customers": args.customers, "workers": args.workers, "kills": kills,
        "changes_queued": storm.count(),
        "applied": storm.filter(state=OutboxChange.State.APPLIED).count(),
        "superseded": storm.filter(state=OutboxChange.State.SUPERSEDED).count(),
        "not_applied": storm.filter(state=OutboxChange.State.NOT_APPLIED).count(),
        "lost_still_waiting": storm.filter(state=OutboxChange.State.WAITING).count(),
        "applied_twice": sum(1 for count in writes.values() if count > 1),
        "customers_differing": differ,
        "requests_to_self_serve_policy": sum(1 for r in journal if "SelfServePolicy" in r["path"]),
        "answered_429": sum(1 for r in journal if r.get("status") == 429),
        "answered_5xx": sum(1 for r in journal if (r.get("status") or 0) >= 500),
        "toggling_seconds": round(toggled - started, 1),
        "converged_seconds_after_last_toggle": round(converged - toggled, 1),
        "total_seconds": round(converged - started, 1)}}, indent=2), flush=True)


if __name__ == "__main__":
    main()
