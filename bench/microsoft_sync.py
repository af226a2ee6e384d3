"""The Microsoft sync against the simulator: full sync time beside the throttle floor, 429s, CPU per
customer with limits lifted, peak memory, and a no-change re-sync.

    .venv/bin/python bench/microsoft_sync.py --customers 1000 [--scale 10] [--database-url postgres://…]

Each phase runs in a fresh process with a fresh scratch database (PostgreSQL by default, `<name>_msbench`):

- lifted: the simulator's throttling off and the client's pacing off: the portal's own CPU per customer
  (process CPU time, all threads, divided by customers), peak memory (ru_maxrss), then a no-change re-sync.
- throttled: Microsoft's documented limits (Partner Center 500 requests a minute per partner tenant on the
  Customer and Subscription resources; ARM 250 reads, 25 a second per subscription), each multiplied by
  --scale so that the run fits a couple of minutes, and the client's pacing multiplied alike (480 → 480 ×
  scale a minute). The floor is what those limits allow at best: the Partner Center requests the sync
  must make (customer pages + one subscriptions list per customer + one azureEntitlements list per Azure
  plan) divided by the Partner Center limit (500 × scale a minute). ARM's per-subscription bucket never
  binds here: each Azure subscription is read once or twice. The ratio time / floor is the same at any
  scale as long as the client, not the CPU, is the bottleneck.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _scratch_url(base: str) -> str:
    parts = urlsplit(base)
    name = (parts.path.lstrip("/") or "portal") + "_msbench"
    return urlunsplit(parts._replace(path="/" + name))


def _fresh_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(urlsplit(url).path)
        path.unlink(missing_ok=True)
        return
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def phase(args) -> dict:
    """One phase, in this (fresh) process: DATABASE_URL and the simulator come from the environment."""
    import django
    from django.conf import settings

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from microsoft import credentials
    from microsoft.sync import run_sync
    from simulator.testing import Control

    url, key, ca = os.environ["BENCH_SIMULATOR_URL"], os.environ["BENCH_SIMULATOR_KEY"], Path(
        os.environ["REQUESTS_CA_BUNDLE"])
    control = Control(url, key, ca)
    generated = json.loads(os.environ["BENCH_GENERATED"])
    partner = generated["partner"]
    settings.PARTNER_TENANT_ID = partner["tenantId"]
    settings.MICROSOFT_APP_ID, settings.MICROSOFT_APP_SECRET = partner["appId"], partner["appSecret"]
    settings.MICROSOFT_LOGIN_URL = url
    settings.PARTNER_CENTER_URL = url + "/partnercenter"
    settings.AZURE_MANAGEMENT_URL = url + "/management"
    settings.MICROSOFT_GRAPH_URL = url + "/graph"
    settings.MICROSOFT_SYNC_PARALLELISM = args.parallelism
    credentials.store_refresh_token(generated["refreshToken"])

    out = {"phase": args.phase, "customers": args.customers}
    if args.phase == "lifted":
        control.settings(throttling=False)
        settings.MICROSOFT_PC_REQUESTS_PER_MINUTE = 0
        out["full"] = _lifted(run_sync, args.customers, args.profile and args.profile + ".full")
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        out["resync"] = _lifted(run_sync, args.customers, args.profile and args.profile + ".resync")
        out["peak_rss_mb_after_resync"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    else:
        limits = {"partnerCenterPerMinute": 500 * args.scale, "armReads": 250 * args.scale,
                  "armReadsPerSecond": 25 * args.scale}
        control.settings(throttling=True, throttleLimits=limits)
        settings.MICROSOFT_PC_REQUESTS_PER_MINUTE = int(480 * args.scale)
        settings.MICROSOFT_ARM_READS_PER_SECOND = 20.0 * args.scale
        settings.MICROSOFT_ARM_READS_BURST = 200 * args.scale
        control.clear_requests()
        cpu, wall = time.process_time(), time.perf_counter()
        result = run_sync()
        seconds = time.perf_counter() - wall
        journal = control.requests()
        out["full"] = _summary(result, seconds, time.process_time() - cpu, args.customers)
        out["answered_429"] = sum(1 for r in journal if r.get("status") == 429)
        out["all_requests_journaled"] = len(journal)
        # The floor: each throttle scope's requests divided by its limit; the largest binds.
        limit = 500 * args.scale / 60  # per second
        scopes = {}
        for r in journal:
            if r.get("service") == "partnercenter":
                scope = _simulator_scope(r["path"])
                if scope:
                    scopes[scope] = scopes.get(scope, 0) + 1
        out["partner_center_requests_by_scope"] = scopes
        floors = {scope: n / limit for scope, n in scopes.items()}
        arm = {}
        for r in journal:
            if r.get("service") == "management" and r["method"] == "GET":
                arm[r["path"].split("/")[3] if r["path"].count("/") > 3 else r["path"]] = \
                    arm.get(r["path"].split("/")[3] if r["path"].count("/") > 3 else r["path"], 0) + 1
        busiest = max(arm.values(), default=0)
        floors["arm_reads_busiest_subscription"] = max(0.0, (busiest - 250 * args.scale) / (25 * args.scale))
        binding = max(floors, key=floors.get)
        floor = floors[binding]
        out["floor_binding_scope"] = binding
        out["floor_seconds"] = round(floor, 1)
        out["ratio_to_floor"] = round(seconds / floor, 3) if floor else None
        out["scale"] = args.scale
    return out


def _simulator_scope(path: str) -> str | None:
    """The simulator's throttle bucket for a Partner Center path (simulator/partnercenter.py throttle())."""
    parts = path.split("/v1/", 1)[-1].split("/")
    if parts[0] != "customers":
        return None  # SelfServePolicy, audit records: no documented limit, not throttled
    if len(parts) <= 2:
        return "customer"
    return {"subscriptions": "subscription", "orders": "order"}.get(parts[2])


def _lifted(call, customers, profile) -> dict:
    """One sync with its CPU: the process's (all threads), the calling thread's (comparing and writing;
    the fetching threads do the HTTP), and how much of it the kernel's (system calls, thread switches)."""
    cpu, wall, own, kernel = time.process_time(), time.perf_counter(), time.thread_time(), os.times().system
    result = _profiled(call, profile)
    summary = _summary(result, time.perf_counter() - wall, time.process_time() - cpu, customers,
                       writing=time.thread_time() - own)
    summary["cpu_ms_per_customer_in_the_kernel"] = round(1000 * (os.times().system - kernel) / customers, 2)
    return summary


def _profiled(call, path):
    """call(), under cProfile (stats written to path) when a path is given. The profile counts the
    calling thread's CPU time (comparing and writing), not its waits for the database."""
    if not path:
        return call()
    import cProfile

    profile = cProfile.Profile(time.thread_time)
    try:
        return profile.runcall(call)
    finally:
        profile.dump_stats(path)


def _summary(result, seconds, cpu, customers, writing=None) -> dict:
    """writing: the CPU of the calling thread, which compares and writes (the fetching threads do HTTP)."""
    stats = result.stats
    split = {} if writing is None else {
        "cpu_ms_per_customer_comparing_and_writing": round(1000 * writing / max(1, customers), 2),
        "cpu_ms_per_customer_fetching": round(1000 * (cpu - writing) / max(1, customers), 2)}
    return split | {"outcome": result.outcome, "seconds": round(seconds, 1), "requests": stats.requests,
            "throttled_429": stats.throttled,
            "percent_429": round(100 * stats.throttled / max(1, stats.requests), 3),
            "retries": stats.retries, "rows_written": result.counts.rows_written,
            "errors": result.counts.errors, "added": result.counts.added,
            "cpu_seconds": round(cpu, 2), "cpu_ms_per_customer": round(1000 * cpu / max(1, customers), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--subscriptions", type=int, default=3)
    parser.add_argument("--scale", type=float, default=10.0,
                        help="multiply Microsoft's limits and the client's pacing by this (default 10)")
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--phases", default="lifted,throttled")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal"))
    parser.add_argument("--profile", default="",
                        help="write cProfile stats of the lifted phase's syncs to PATH.full / PATH.resync")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args)))
        return

    from simulator.testing import start_simulator

    database = _scratch_url(args.database_url)
    with tempfile.TemporaryDirectory() as state:
        sim = start_simulator(Path(state))
        try:
            started = time.perf_counter()
            generated = sim.control.generate(customers=args.customers,
                                             subscriptionsPerCustomer=args.subscriptions, seed=1)
            took = time.perf_counter() - started
            print(f"simulator: {generated['customers']} customers, "
                  f"{generated['subscriptions']} subscriptions generated in {took:.1f} s", flush=True)
            for name in args.phases.split(","):
                _fresh_database(database)
                env = {**os.environ, "DATABASE_URL": database, "DJANGO_SETTINGS_MODULE": "portal.settings",
                       "DJANGO_SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40, "DJANGO_DEBUG": "false",
                       "MICROSOFT_CLOUD": "simulated", "REQUESTS_CA_BUNDLE": str(sim.ca_path),
                       "BENCH_SIMULATOR_URL": sim.url, "BENCH_SIMULATOR_KEY": sim.key,
                       "BENCH_GENERATED": json.dumps({"partner": generated["partner"],
                                                      "refreshToken": generated["refreshToken"]}),
                       "DJANGO_LOG_LEVEL": "WARNING",
                       "ACTIVITY_LOG_KEY": "bench-only-activity-log-key-" + "x" * 32,
                       "ACTIVITY_LOG_KEY_ID": "bench"}
                command = [sys.executable, __file__, "--phase", name, "--customers", str(args.customers),
                           "--scale", str(args.scale), "--parallelism", str(args.parallelism),
                           "--profile", args.profile]
                done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)  # noqa: S603
                if done.returncode:
                    sys.stderr.write(done.stderr[-4000:])
                    raise SystemExit(f"phase {name} failed")
                print(json.dumps(json.loads(done.stdout.strip().splitlines()[-1]), indent=2), flush=True)
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
