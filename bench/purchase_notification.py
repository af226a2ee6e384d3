"""From a customer's own purchase to the partner's notification, against the simulator, with a real worker.

    .venv/bin/python bench/purchase_notification.py [--database-url postgres://postgres@127.0.0.1:5432/portal]
        [--purchases 5] [--poll-minutes 1]

A fresh scratch database (`<name>_notifybench`) and a fresh simulator with a few customers allowed to buy
(Owner, self-serve policy), synchronised. A worker process runs as the Procfile's does
(`schedule_purchases_poll`, then `db_worker`), polling every --poll-minutes (PURCHASES_POLL_MINUTES) and
mailing NOTIFY_EMAILS (through Django's dummy e-mail backend: the figure ends where the mail is handed over).
Then, one at a time, at a random moment of the poll interval, a customer user buys a reservation in the
simulator, and the time until its e-mail delivery is marked sent is taken. The goal (issue 12): within
one poll interval plus 30 s.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.outbox import _fresh_database  # noqa: E402 (after the path)

PARTNER = {"tenantId": "634f6379-a1c5-4f1e-9e39-8b3f5d2c7a10",
           "appId": "5b0c2a11-6f0e-4a5e-9d1c-1e2f3a4b5c6d", "appSecret": "bench-app-secret"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal"))
    parser.add_argument("--purchases", type=int, default=5)
    parser.add_argument("--poll-minutes", type=int, default=1)
    args = parser.parse_args()

    from simulator.testing import start_simulator

    database = _fresh_database(args.database_url, "_notifybench")
    with tempfile.TemporaryDirectory() as state, start_simulator(Path(state)) as sim:
        env = {"DATABASE_URL": database, "DJANGO_SETTINGS_MODULE": "portal.settings",
               "DJANGO_SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40, "DJANGO_DEBUG": "false",
               "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
               "ACTIVITY_LOG_KEY": "bench-only-activity-log-key-" + "x" * 32, "ACTIVITY_LOG_KEY_ID": "bench",
               "MICROSOFT_CLOUD": "simulated", "SIMULATOR_URL": sim.url,
               "REQUESTS_CA_BUNDLE": str(sim.ca_path),
               "PARTNER_TENANT_ID": PARTNER["tenantId"], "MICROSOFT_APP_ID": PARTNER["appId"],
               "MICROSOFT_APP_SECRET": PARTNER["appSecret"], "PURCHASES_POLL_MINUTES": str(args.poll_minutes),
               "MICROSOFT_SYNC_MINUTES": "1440", "NOTIFY_EMAILS": "billing@partner.example",
               "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
               "DJANGO_LOG_LEVEL": "WARNING"}
        os.environ.update(env)
        import django

        django.setup()
        run(args, sim)


def run(args, sim) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from microsoft import credentials
    from microsoft.scenario import CustomerBuilder, Partner, scenario
    from microsoft.sync import run_sync
    from purchases.models import Delivery

    shops = []
    for n in range(3):
        builder = CustomerBuilder(f"Bench shop {n}")
        owner = builder.user(f"Owner {n}")
        azure = builder.azure_subscription(builder.subscription())
        builder.assign(azure, owner)
        builder.self_serve("AzureReservedInstances", "AzureSavingsPlan")
        shops.append((builder, builder.doc["users"][0]["userPrincipalName"], azure["id"]))
    answer = sim.control.put_state(scenario(Partner(tenant_id=PARTNER["tenantId"], app_id=PARTNER["appId"],
                                                    app_secret=PARTNER["appSecret"]),
                                            [builder for builder, _buyer, _azure in shops]))
    credentials.store_refresh_token(answer["refreshToken"])
    assert run_sync().outcome == "succeeded"

    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "schedule_purchases_poll"], cwd=ROOT, check=True,  # noqa: S603
                   capture_output=True)
    worker = subprocess.Popen([python, "manage.py", "db_worker", "--interval", "1"], cwd=ROOT,  # noqa: S603
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    interval = args.poll_minutes * 60
    latencies = []
    try:
        time.sleep(5)  # the worker's first poll (it runs at once) finds nothing
        for n in range(args.purchases):
            time.sleep(random.uniform(0, interval))  # noqa: S311 (a moment of the interval)
            builder, buyer, azure = random.choice(shops)  # noqa: S311
            delivered = Delivery.objects.filter(state=Delivery.State.SENT).count()
            bought = time.time()
            answer = sim.control.purchase(builder.tenant_id, kind="reservation", buyer=buyer,
                                          subscriptionId=azure, term="P1Y", scope="Shared", quantity=1,
                                          billingPlan="Upfront", amount=1200.0 + n)
            assert answer.status_code < 300, answer.text
            while Delivery.objects.filter(state=Delivery.State.SENT).count() <= delivered:
                if time.time() - bought > interval + 120:
                    raise SystemExit(f"purchase {n}: no notification delivered within {interval + 120} s")
                time.sleep(0.2)
            latencies.append(time.time() - bought)
            print(f"  purchase {n + 1}: notified after {latencies[-1]:.1f} s", flush=True)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    print(f"poll interval {interval} s, {len(latencies)} purchases: worst {max(latencies):.1f} s, "
          f"mean {sum(latencies) / len(latencies):.1f} s (goal: within {interval + 30} s)")


if __name__ == "__main__":
    main()
