#!/usr/bin/env python3
"""Issue 12's page figure: the partner-wide Customer purchases page at N purchases over M customers.

    .venv/bin/python bench/customer_purchases.py [--purchases 100000] [--customers 2000]
        [--requests 200] [--server postgres://postgres@127.0.0.1:5432] [--database NAME]

Creates a scratch PostgreSQL database (default i12_purchases_bench; recreated, dropped at the end),
migrates it, bulk-loads the customers and their purchases (reservations and savings plans, over two years,
each with a buyer), then prints, with production settings and DEBUG off, the p50 / p95 of the whole page
through Django's test client (middleware, queries, template) as an Operator: the first page, filtered by
customer, by kind, by buyer, by date, and a page 200 deep by keyset; and the CSV export's rows per second.
The goal (issue 12): p95 < 50 ms, as the activity log's.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.activity_log import django_env, setup_django  # noqa: E402


def load(purchases: int, customers: int) -> None:
    from customers.models import Customer
    from purchases.models import CustomerPurchase, Kind

    rng = random.Random(12)  # noqa: S311 - bench data
    Customer.objects.bulk_create(
        [Customer(tenant_id=uuid.UUID(int=rng.getrandbits(128)), company_name=f"Customer {i:05d}",
                  domain=f"customer{i:05d}.onmicrosoft.com") for i in range(customers)], batch_size=2000)
    ids = list(Customer.objects.values_list("pk", flat=True))
    now = datetime.now(UTC)
    rows = []
    for _index in range(purchases):
        reservation = rng.random() < 0.7
        rows.append(CustomerPurchase(
            customer_id=rng.choice(ids), kind=Kind.RESERVATION if reservation else Kind.SAVINGS_PLAN,
            partner_center_order_id=uuid.uuid4().hex if reservation else None,
            azure_order_id=str(uuid.uuid4()),
            product="Reserved_VM_Instance_Standard_D2s_v3" if reservation else "Compute_Savings_Plan",
            quantity=rng.randint(1, 5), term=rng.choice(["P1Y", "P3Y"]), billing_plan="Upfront",
            commitment=Decimal(rng.randint(500, 50000)), currency_code="USD",
            buyer=f"user{rng.randint(0, 9)}@customer.example",
            purchased_at=now - timedelta(seconds=rng.randint(0, 2 * 365 * 86400))))
        if len(rows) == 10000:
            CustomerPurchase.objects.bulk_create(rows)
            rows = []
    CustomerPurchase.objects.bulk_create(rows)


def measure(requests: int) -> None:
    from django.db import connection
    from django.test import Client

    from customers.models import Customer
    from portal.models import Agent
    from purchases.models import CustomerPurchase

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    operator = Agent.objects.create_user(email="bench@partner.example", password=None,
                                         role=Agent.Role.OPERATOR)
    client = Client()
    client.force_login(operator)
    customer = Customer.objects.order_by("pk")[len(Customer.objects.all()) // 2]
    depth = min(200 * 50, CustomerPurchase.objects.count() - 1)
    deep = CustomerPurchase.objects.order_by("-purchased_at", "-id")[depth]
    month = (datetime.now(UTC) - timedelta(days=200)).date()
    cases = [
        ("first page", ""),
        ("by customer", f"customer={customer.tenant_id}"),
        ("by kind", "kind=savings_plan"),
        ("by buyer", "buyer=user3"),
        ("by date", f"date_from={month}&date_to={month + timedelta(days=30)}"),
        ("200 pages deep", f"before={deep.purchased_at.isoformat()}_{deep.pk}"),
    ]
    print(f"{'page':<16} {'p50 ms':>8} {'p95 ms':>8}")
    for name, query in cases:
        url = "/purchases/" + (f"?{query}" if query else "")
        first = client.get(url)
        assert first.status_code == 200, (url, first.status_code, first.content[:300])
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"{name:<16} {statistics.median(times):8.1f} {p95:8.1f}", flush=True)
    started = time.perf_counter()
    rows = sum(chunk.count(b"\n") for chunk in client.get("/purchases/export.csv").streaming_content) - 1
    seconds = time.perf_counter() - started
    print(f"CSV export: {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--purchases", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--database", default="i12_purchases_bench")
    args = parser.parse_args()
    import psycopg

    url = f"{args.server.rstrip('/')}/{args.database}"
    with psycopg.connect(f"{args.server.rstrip('/')}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {args.database}")
        admin.execute(f"CREATE DATABASE {args.database}")
    try:
        print(f"Scratch database {args.database}: migrating", flush=True)
        for command in (["migrate"], ["collectstatic", "--no-input"]):
            subprocess.run([sys.executable, "manage.py", *command, "-v0"],  # noqa: S603
                           cwd=ROOT, env=django_env(url), check=True)
        os.environ["REQUIRE_MFA"] = "false"   # production asks a second factor; the bench signs in by session
        setup_django(url)
        started = time.perf_counter()
        load(args.purchases, args.customers)
        print(f"Loaded {args.purchases:,} purchases over {args.customers:,} customers in "
              f"{time.perf_counter() - started:.0f} s; {args.requests} requests per page:", flush=True)
        measure(args.requests)
        from django.db import connections
        connections.close_all()
    finally:
        with psycopg.connect(f"{args.server.rstrip('/')}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")


if __name__ == "__main__":
    main()
