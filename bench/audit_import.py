"""The import of Partner Center's activity log against the simulator: 90 days of audit records (100,000 by
default) imported from nothing, then imported again (every record already there).

    .venv/bin/python bench/audit_import.py [--records 100000] [--phases paced,lifted] [--database-url …]

Each phase runs in a fresh process with a fresh scratch database (PostgreSQL by default, `<name>_auditbench`)
and prints: seconds, requests (Partner Center pages, the token's included), windows, records imported, the
rerun's seconds and requests with 0 imported, peak memory (ru_maxrss of the process, and what it was before
the import: Django, the migrations) and, with --tracemalloc, the Python heap's peak during the first import.

- paced: the simulator's throttling on (Partner Center 500 requests a minute) and the client's own pacing
  (MICROSOFT_PC_REQUESTS_PER_MINUTE, 480): what a real first import costs.
- lifted: both off: the portal's own cost (parsing, dedupe, chaining and inserting the entries).
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
    if base.startswith("sqlite"):
        return urlunsplit(parts._replace(path=str(Path(parts.path).with_name("auditbench.sqlite3"))))
    name = (parts.path.lstrip("/") or "portal") + "_auditbench"
    return urlunsplit(parts._replace(path="/" + name))


def _fresh_database(url: str) -> None:
    if url.startswith("sqlite"):
        Path(urlsplit(url).path).unlink(missing_ok=True)
        return
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def phase(args) -> dict:
    """One phase, in this (fresh) process: DATABASE_URL and the simulator come from the environment."""
    import django
    from django.conf import settings

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from activitylog.models import ActivityLogEntry, Source
    from microsoft.audit_import import run_import
    from simulator.testing import Control

    url, key, ca = os.environ["BENCH_SIMULATOR_URL"], os.environ["BENCH_SIMULATOR_KEY"], Path(
        os.environ["REQUESTS_CA_BUNDLE"])
    control = Control(url, key, ca)
    partner = json.loads(os.environ["BENCH_PARTNER"])
    settings.PARTNER_TENANT_ID = partner["tenantId"]
    settings.MICROSOFT_APP_ID, settings.MICROSOFT_APP_SECRET = partner["appId"], partner["appSecret"]
    settings.MICROSOFT_LOGIN_URL = url
    settings.PARTNER_CENTER_URL = url + "/partnercenter"
    settings.AZURE_MANAGEMENT_URL = url + "/management"
    settings.MICROSOFT_GRAPH_URL = url + "/graph"
    if args.phase == "lifted":
        control.settings(throttling=False)
        settings.MICROSOFT_PC_REQUESTS_PER_MINUTE = 0
    else:
        control.settings(throttling=True)
    control.clear_requests()
    out = {"phase": args.phase, "records_in_simulator": args.records, "rss_mb_before": _rss_mb()}
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    cpu, wall = time.process_time(), time.perf_counter()
    first = run_import()
    seconds = time.perf_counter() - wall
    if args.tracemalloc:
        out["python_heap_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    journal = control.requests()
    out["first"] = {"outcome": first.outcome, "seconds": round(seconds, 1),
                    "cpu_seconds": round(time.process_time() - cpu, 1),
                    "requests": first.run.counts["requests"], "pages": first.pages,
                    "auditrecords_requests_seen_by_simulator": sum(
                        1 for r in journal if r["path"].endswith("/v1/auditrecords")),
                    "answered_429": first.stats.throttled, "windows": len(first.windows),
                    "imported": first.imported,
                    "entries": ActivityLogEntry.objects.filter(source=Source.PARTNER_CENTER).count(),
                    "records_per_second": round(first.imported / seconds) if seconds else None}
    out["rss_mb_after_first"] = _rss_mb()
    wall = time.perf_counter()
    again = run_import(days=90)
    out["rerun_all_90_days"] = {"outcome": again.outcome, "seconds": round(time.perf_counter() - wall, 1),
                                "requests": again.run.counts["requests"], "imported": again.imported,
                                "already_imported": again.duplicates}
    wall = time.perf_counter()
    daily = run_import()
    out["next_daily_run"] = {"outcome": daily.outcome, "seconds": round(time.perf_counter() - wall, 1),
                             "requests": daily.run.counts["requests"], "imported": daily.imported,
                             "already_imported": daily.duplicates}
    out["peak_rss_mb"] = _rss_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--phases", default="paced,lifted")
    parser.add_argument("--tracemalloc", action="store_true", help="also the Python heap's peak (slower)")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal"))
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
            generated = sim.control.generate(customers=args.customers, subscriptionsPerCustomer=1, seed=1,
                                             auditRecords=args.records)
            print(f"simulator: {generated['auditRecords']} audit records over 89 days, "
                  f"{generated['customers']} customers, generated in {time.perf_counter() - started:.1f} s",
                  flush=True)
            for name in args.phases.split(","):
                _fresh_database(database)
                env = {**os.environ, "DATABASE_URL": database, "DJANGO_SETTINGS_MODULE": "portal.settings",
                       "DJANGO_SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40, "DJANGO_DEBUG": "false",
                       "ACTIVITY_LOG_KEY": "bench-only-activity-log-key-" + "y" * 32,
                       "MICROSOFT_CLOUD": "simulated", "REQUESTS_CA_BUNDLE": str(sim.ca_path),
                       "BENCH_SIMULATOR_URL": sim.url, "BENCH_SIMULATOR_KEY": sim.key,
                       "BENCH_PARTNER": json.dumps(generated["partner"]), "DJANGO_LOG_LEVEL": "WARNING"}
                command = [sys.executable, __file__, "--phase", name, "--records", str(args.records)]
                if args.tracemalloc:
                    command.append("--tracemalloc")
                done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)  # noqa: S603
                if done.returncode:
                    sys.stderr.write(done.stderr[-4000:])
                    raise SystemExit(f"phase {name} failed")
                print(json.dumps(json.loads(done.stdout.strip().splitlines()[-1]), indent=2), flush=True)
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
