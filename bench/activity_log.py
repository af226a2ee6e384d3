#!/usr/bin/env python3
"""The activity log at scale: `make bench` (1,000,000 entries) or `make bench ENTRIES=10000000`.

    .venv/bin/python bench/activity_log.py [--entries N] [--server postgres://postgres@127.0.0.1:5432]
                                           [--explain] [--keep]

Creates a scratch PostgreSQL database bench_log_<N> (dropped and recreated; dropped again at the end
unless --keep), migrates it, bulk-loads N entries with COPY (indexes dropped first and rebuilt after),
spread over 2,000 customers, 27 agents, every action and two years, each linked into a valid hash chain
signed with a key of the run's own (ACTIVITY_LOG_KEY), fills the customer names table as the trigger
would have (COPY here fires none), then prints, with
production settings and DEBUG off:

- for each kind of filter, the first page's p50 / p95 (the whole page through Django's test client:
  middleware, query, template) and the indexes PostgreSQL used;
- a page 1,000 pages (50,000 entries) deep, by keyset;
- the export of every entry: rows per second and the exporting process's peak memory (a fresh process,
  VmHWM), beside the same process's memory before the export began;
- the cost of writing one entry through record() in its own transaction, hash chain included;
- a customer's History page (first page and one deep down) and the Access review (first page, filtered, the
  last page), over the 2,000 customers, added as rows with Azure plans, Owners and permissions;
- verify_activity_log's time over the whole chain.
"""

import argparse
import datetime as dt
import hashlib
import hmac
import importlib
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TABLE = "activitylog_activitylogentry"
RUNS = 25
# The entries are signed as the portal signs them; the export probe (a subprocess) inherits the same key.
KEY_ID = "bench"
KEY = os.environ.get("BENCH_ACTIVITY_LOG_KEY") or secrets.token_urlsafe(32)


def django_env(database_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or "bench-only-" + uuid.uuid4().hex * 2,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_CONN_MAX_AGE": "600",
        "ACTIVITY_LOG_KEY": KEY, "ACTIVITY_LOG_KEY_ID": KEY_ID, "ACTIVITY_LOG_RETIRED_KEYS": "",
        "BENCH_ACTIVITY_LOG_KEY": KEY,
        # The bench signs in with a session, not a second factor: MFA is asked of people, not of this load.
        "REQUIRE_MFA": "false",
    }


def setup_django(database_url: str) -> None:
    os.environ.update(django_env(database_url))
    sys.path.insert(0, str(ROOT))
    import django
    django.setup()


# --- Loading ------------------------------------------------------------------------------------------

ACTIONS = [  # (code, weight, resource type)
    ("create_order", 25, "subscription"), ("update_subscription", 20, "subscription"),
    ("add_customer_user", 15, "customer_user"), ("create_role_assignment", 12, "role_assignment"),
    ("delete_role_assignment", 5, "role_assignment"), ("create_customer_purchase_permissions", 8,
                                                       "self_serve_policy"),
    ("delete_customer_purchase_permissions", 5, "self_serve_policy"), ("add_customer", 10, "customer"),
]
NAMES = ["Contoso", "Fabrikam", "Litware", "Northwind Traders", "Adatum", "Tailspin Toys", "Wingtip",
         "PT Maju Jaya", "PT Sinar Abadi", "CV Berkah", "Café Müller", "Żółć Sp. z o.o.", "株式会社サクラ",
         "北京云科技", "주식회사 한빛", "ООО Ромашка", "شركة النور", "บริษัท สยาม", "Ελληνική ΑΕ",
         "भारत टेक", "חברת אור"]


CUSTOMERS = 2000


def customers(rng: random.Random) -> list[tuple[str, str]]:
    return [(f"{NAMES[n % len(NAMES)]} {n:04d}", str(uuid.UUID(int=rng.getrandbits(128), version=4)))
            for n in range(CUSTOMERS)]


def customer_weights() -> list[float]:
    """How often each customer is named: Zipf's law (the n-th busiest customer 1/n as often as the busiest),
    as a partner's work is spread, so that one customer has about 12% of the entries (122,000 of 1,000,000),
    the tenth 12,000, the hundredth 1,200 and the last about 60. Customers are not ranked by their names."""
    ranks = list(range(1, CUSTOMERS + 1))
    random.Random(7).shuffle(ranks)  # noqa: S311 (made-up data, the same every run)
    return [1 / rank for rank in ranks]


def text_field(value) -> str:
    """A value in COPY's text format (our generated values hold no tab, newline or backslash)."""
    return "\\N" if value is None else str(value)


def load(conninfo: str, entries: int, seed: int = 4) -> float:
    """COPY `entries` chained entries into the table, then rebuild its indexes. Returns seconds taken."""
    import psycopg

    from activitylog import chain

    rng = random.Random(seed)  # noqa: S311 (made-up data, the same every run)
    people = [f"agent{n:02d}@partner.example" for n in range(25)] + ["admin@partner.example",
                                                                        "sales@partner.example"]
    companies = customers(rng)
    weights_of_companies = customer_weights()
    codes = [code for code, _weight, _type in ACTIONS]
    weights = [weight for _code, weight, _type in ACTIONS]
    resource_types = {code: kind for code, _weight, kind in ACTIONS}
    end = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=10)
    start = end - dt.timedelta(days=730)
    step = (end - start) / entries
    key = KEY.encode()
    started = time.perf_counter()

    with psycopg.connect(conninfo, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE %s",
            [TABLE, "%_pkey"]).fetchall()
        # Per-column statistics targets set by the migrations are not part of an index's definition.
        statistics = conn.execute(
            "SELECT c.relname, a.attnum, a.attstattarget FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_attribute a ON a.attrelid = c.oid"
            " WHERE i.indrelid = %s::regclass AND a.attstattarget > 0",
            [TABLE]).fetchall()
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("SET session_replication_role = replica")  # no foreign key trigger queue for COPY
        prev_hash = chain.GENESIS
        columns = ("id", "occurred_at", "action", "status", "failure_reason", "actor_email", "customer_name",
                   "customer_tenant_id", "resource_type", "resource_id", "old_value", "new_value", "source",
                   "request_id", "correlation_id", "client_ip", "prev_hash", "entry_hash", "hmac_key_id")
        with conn.cursor() as cursor, cursor.copy(f"COPY {TABLE} ({', '.join(columns)}) FROM STDIN") as copy:
            chunk = 100_000
            for first in range(0, entries, chunk):
                count = min(chunk, entries - first)
                actions = rng.choices(codes, weights, k=count)
                named = rng.choices(companies, weights_of_companies, k=count)
                lines = []
                for offset in range(count):
                    n = first + offset
                    action = actions[offset]
                    failed = rng.random() < 0.03
                    name, tenant = ("", None) if rng.random() < 0.02 else named[offset]
                    roll = rng.random()
                    source = "web" if roll < 0.75 else "api" if roll < 0.95 else "system"
                    if resource_types[action] == "self_serve_policy":
                        resource_id = rng.choice(["AzureReservations", "AzureSavingsPlan"])
                        granted = {"permissions": [{"action": "Purchase", "resource": resource_id}]}
                        old, new = ({"permissions": []}, granted) if action.startswith("create") else (
                            granted, {"permissions": []})
                    else:
                        resource_id = str(rng.getrandbits(40))
                        old, new = (None, {"status": "active"}) if action != "update_subscription" else (
                            {"status": "active"}, {"status": "suspended"})
                    occurred_at = start + step * n
                    content = {
                        "occurred_at": occurred_at.isoformat(timespec="microseconds"),
                        "action": action, "status": "failed" if failed else "succeeded",
                        "failure_reason": "Only Admin agents can do this." if failed else "",
                        "actor_id": None, "actor_email": rng.choice(people), "customer_id": None,
                        "customer_name": name, "customer_tenant_id": tenant,
                        "resource_type": resource_types[action], "resource_id": resource_id,
                        "old_value": old, "new_value": new, "source": source,
                        "request_id": f"{rng.getrandbits(64):016x}", "correlation_id": "",
                        "client_ip": None if source == "system" else f"10.{n % 250}.{n % 199}.{n % 97 + 1}",
                    }
                    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                    if n < 100:  # the shortcut must give exactly what the portal writes and verifies
                        assert canonical == chain.canonical({**content, "occurred_at": occurred_at}), n
                    entry_hash = hmac.new(key, (prev_hash + canonical).encode(), hashlib.sha256).hexdigest()
                    if n < 100:
                        assert entry_hash == chain.digest(prev_hash, {**content, "occurred_at": occurred_at},
                                                          key), n
                    lines.append("\t".join(text_field(value) for value in (
                        n + 1, content["occurred_at"], action, content["status"], content["failure_reason"],
                        content["actor_email"], name, tenant, content["resource_type"], resource_id,
                        None if old is None else json.dumps(old), json.dumps(new), source,
                        content["request_id"], "", content["client_ip"], prev_hash, entry_hash, KEY_ID)))
                    prev_hash = entry_hash
                copy.write(("\n".join(lines) + "\n").encode())
                print(f"  loaded {first + count:>11,} entries  {time.perf_counter() - started:7.1f} s",
                      flush=True)
        conn.execute("RESET session_replication_role")
        # COPY under the replica role fires no triggers: add the customer names as the trigger would have.
        names = importlib.import_module("activitylog.migrations.0007_customer_names")
        [schema] = conn.execute("SELECT quote_ident(current_schema())").fetchone()
        conn.execute(names.BACKFILL.format(schema=schema, entries=TABLE, names=names.NAMES))
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), %s)", [entries])
        for name, definition in indexes:
            index_started = time.perf_counter()
            conn.execute(definition)
            print(f"  index {name:<32} {time.perf_counter() - index_started:6.1f} s", flush=True)
        for name, column, target in statistics:
            conn.execute(f'ALTER INDEX "{name}" ALTER COLUMN {column} SET STATISTICS {target}')
            print(f"  statistics target {target} on {name} column {column}", flush=True)
        conn.execute(f"VACUUM (ANALYZE) {TABLE}")
        conn.execute(f"ANALYZE {names.NAMES}")
    return time.perf_counter() - started


# --- Measuring ----------------------------------------------------------------------------------------

def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def signed_in_client():
    from django.test import Client

    from portal.models import Agent

    operator, _created = Agent.objects.get_or_create(
        email="bench-operator@partner.example", defaults={"role": Agent.Role.OPERATOR})
    client = Client()
    client.force_login(operator)
    return client, operator


def indexes_used(params: dict) -> tuple[str, float]:
    """The indexes PostgreSQL uses for a first page with these filters, and its own execution time."""
    import psycopg
    from django.core.exceptions import EmptyResultSet
    from django.db import connection
    from django.http import QueryDict

    from activitylog.forms import ActivityLogFilterForm
    from activitylog.models import ActivityLogEntry
    from activitylog.selectors import keyset_filter

    query = QueryDict(mutable=True)
    query.update({key: value for key, value in params.items() if key != "before"})
    form = ActivityLogFilterForm(query)
    assert form.is_valid(), form.errors
    entries = form.filter(ActivityLogEntry.objects.all())
    if "before" in params:
        entries = entries.filter(keyset_filter(params["before"], older=True))
    try:
        sql, sql_params = entries.newest_first()[:51].query.sql_with_params()
    except EmptyResultSet:  # the filters rule out every entry before any query is made
        return "(no query)", 0.0
    connection.ensure_connection()
    with psycopg.ClientCursor(connection.connection) as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, sql_params)
        [[[plan]]] = cursor.fetchall()
        if os.environ.get("BENCH_EXPLAIN"):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, sql_params)
            print("\n".join("      " + line for [line] in cursor.fetchall()))

    names = []

    def collect(node):
        if "Index Name" in node:
            names.append(node["Index Name"])
        for child in node.get("Plans", []):
            collect(child)
    collect(plan["Plan"])
    return ", ".join(dict.fromkeys(names)) or "(table scan)", plan["Execution Time"]


def page_figures(client, label: str, params: dict) -> None:
    url = "/activity-log/"
    timings = []
    for run in range(RUNS + 3):
        started = time.perf_counter()
        response = client.get(url, params)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (label, response.status_code)
        if run >= 3:
            timings.append(elapsed)
    shown = response.content.count(b'<tbody class="log-entry')
    used, db_ms = indexes_used(params)
    print(f"  {label:<44} p50 {statistics.median(timings):6.1f} ms  p95 {p95(timings):6.1f} ms"
          f"  ({shown:>2} rows; PostgreSQL {db_ms:6.2f} ms via {used})", flush=True)


def add_customers() -> None:
    """The 2,000 customers the entries name, as rows: half with an active Azure plan, a third of those with
    an Owner, and 40% with a purchase permission allowed (so about 800 on the Access review); and a fifth
    with self-purchases (1-6 each over two years, in two currencies) for the review's 12-month column."""
    from customers.models import Customer, CustomerUser, RoleAssignment, Subscription
    from permissions.models import PurchasePermission, Resource
    from portal.models import Agent
    from purchases.models import CustomerPurchase, Kind

    if Customer.objects.exists():
        return
    rng = random.Random(4)  # noqa: S311 - the generator load() starts from, so the same tenant ids
    granter, _created = Agent.objects.get_or_create(email="admin@partner.example",
                                                    defaults={"role": Agent.Role.ADMIN_AGENT})
    made = Customer.objects.bulk_create([
        Customer(company_name=name, domain=f"c{n:04d}.onmicrosoft.com", tenant_id=uuid.UUID(tenant))
        for n, (name, tenant) in enumerate(customers(rng))])
    plans = Subscription.objects.bulk_create([
        Subscription(customer=customer, offer=Subscription.Offer.AZURE_PLAN, friendly_name="Azure plan")
        for customer in made[::2]])
    users = CustomerUser.objects.bulk_create([
        CustomerUser(customer=plan.customer, user_principal_name=f"owner@{plan.customer.domain}",
                     display_name="Owner") for plan in plans[::3]])
    RoleAssignment.objects.bulk_create([
        RoleAssignment(subscription=plan, customer_user=user, role=RoleAssignment.Role.OWNER)
        for plan, user in zip(plans[::3], users, strict=True)])
    PurchasePermission.objects.bulk_create([
        PurchasePermission(customer=customer, resource=rng.choice(Resource.values), granted_by=granter)
        for customer in made if rng.random() < 0.4])
    now = dt.datetime.now(dt.UTC)
    CustomerPurchase.objects.bulk_create([
        CustomerPurchase(customer=customer, kind=rng.choice(Kind.values), azure_order_id=f"{customer.pk}-{n}",
                         product="Virtual machines D2s v5", commitment=rng.randint(100, 90_000),
                         currency_code=rng.choice(["USD", "USD", "EUR"]), buyer=f"owner@{customer.domain}",
                         purchased_at=now - dt.timedelta(days=rng.randint(1, 730)))
        for customer in made if rng.random() < 0.2 for n in range(rng.randint(1, 6))])
    from django.db import connection

    with connection.cursor() as cursor:  # statistics for the planner, as autovacuum would soon gather
        for model in (Customer, Subscription, CustomerUser, RoleAssignment, PurchasePermission,
                      CustomerPurchase):
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def entry_counts() -> list[tuple[str, int]]:
    """Each customer's tenant id and number of entries, the busiest first."""
    from django.db.models import Count

    from activitylog.models import ActivityLogEntry

    return list(ActivityLogEntry.objects.exclude(customer_tenant_id=None).values_list("customer_tenant_id")
                .annotate(n=Count("id")).order_by("-n", "customer_tenant_id"))


def customer_page_figures(client, label: str, url: str, params: dict | None = None, *, rows: bytes) -> bytes:
    """p50/p95 of a customer page's whole request; returns its last body."""
    timings, cpu = [], []
    for run in range(RUNS + 3):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url, params or {})
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (label, response.status_code)
        if run >= 3:
            timings.append(elapsed)
            cpu.append((time.process_time() - cpu_started) * 1000)
    # The CPU time of Django's own process stays meaningful on a shared machine whose host steals time.
    print(f"  {label:<44} p50 {statistics.median(timings):6.1f} ms  p95 {p95(timings):6.1f} ms"
          f"  (Django CPU p50 {statistics.median(cpu):5.1f} ms, p95 {p95(cpu):5.1f} ms;"
          f" {response.content.count(rows):>2} rows)", flush=True)
    return response.content


def older_link(body: bytes) -> str | None:
    import html
    import re

    found = re.search(rb'<a href="(\?[^"]*before=[^"]*)">', body)
    return html.unescape(found.group(1).decode()) if found else None


def deep_cursor(tenant_id, depth: int) -> str | None:
    """The keyset cursor of the page `depth` entries down a customer's History (reached by OFFSET here,
    untimed; the page itself reads by keyset)."""
    from activitylog.models import ActivityLogEntry

    deep = (ActivityLogEntry.objects.filter(customer_tenant_id=tenant_id).newest_first()
            .values_list("occurred_at", "id")[depth - 1:depth].first())
    return None if deep is None else f"{deep[0].isoformat()}_{deep[1]}"


def measure_customer_pages() -> None:
    from urllib.parse import urlencode

    from customers.models import Customer

    add_customers()
    client, _operator = signed_in_client()
    counts = entry_counts()
    print(f"\nEntries per customer: {len(counts):,} customers, the busiest {counts[0][1]:,}, the tenth "
          f"{counts[9][1]:,}, the median {counts[len(counts) // 2][1]:,}, the fewest {counts[-1][1]:,}")
    entry_row = b'<tbody class="log-entry'
    for label, (tenant, n) in [("the busiest customer", counts[0]), ("the tenth busiest", counts[9]),
                               ("the median customer", counts[len(counts) // 2]),
                               ("the quietest customer", counts[-1])]:
        customer = Customer.objects.get(tenant_id=tenant)
        print(f"\nHistory of {label} ({n:,} entries, {customer.company_name}), whole request:")
        url = f"/customers/{customer.tenant_id}/history/"
        body = customer_page_figures(client, "first page", url, rows=entry_row)
        link = older_link(body)
        if link:
            customer_page_figures(client, "second page (its Older link)", url + link, rows=entry_row)
        for depth in (n // 2, n - 10):  # the middle, and the very last page
            if depth > 100 and (cursor := deep_cursor(tenant, depth)):
                customer_page_figures(client, f"{depth:,} entries deep, by keyset",
                                      url + "?" + urlencode({"before": cursor}), rows=entry_row)

    reviewed = Customer.objects.filter(purchase_permissions__isnull=False).distinct().count()
    print(f"\nAccess review ({reviewed:,} customers with a permission allowed), whole request:")
    review_row = b'name="selected"'
    customer_page_figures(client, "first page", "/access-review/", rows=review_row)
    customer_page_figures(client, "not ready, not reviewed since today", "/access-review/",
                          {"readiness": "not_ready", "not_reviewed_since": dt.date.today().isoformat()},
                          rows=review_row)
    customer_page_figures(client, "the last page", "/access-review/", {"page": "last"}, rows=review_row)
    started = time.perf_counter()
    export = client.get("/access-review/export.csv")
    lines = sum(piece.count(b"\n") for piece in export.streaming_content) - 1
    print(f"  export: {lines:,} rows in {(time.perf_counter() - started) * 1000:.0f} ms", flush=True)


PARTS = ("log", "customers", "export", "writes", "verify")


def measure(entries: int, parts: tuple[str, ...] = PARTS) -> None:
    from activitylog.models import ActivityLogEntry

    client, operator = signed_in_client()
    today = dt.date.today()
    two_years = {"date_from": (today - dt.timedelta(days=731)).isoformat(), "date_to": today.isoformat()}
    sample = ActivityLogEntry.objects.filter(customer_name__startswith="Litware 00").order_by("-id").first()
    rare_agent = "agent07@partner.example"

    if "log" in parts:
        measure_log_pages(client, two_years, sample, rare_agent, today)
    if "customers" in parts:
        measure_customer_pages()
    if "export" in parts:
        measure_export(two_years)
    if "writes" in parts:
        measure_writes(operator)
    if "verify" in parts:
        measure_verify()


def measure_log_pages(client, two_years, sample, rare_agent, today) -> None:
    from activitylog.models import ActivityLogEntry

    print("\nFirst page (50 entries), whole request through Django:")
    kinds = [
        ("no filter (default: last 30 days)", {}),
        ("date range: one week a year ago", {"date_from": (today - dt.timedelta(days=372)).isoformat(),
                                             "date_to": (today - dt.timedelta(days=365)).isoformat()}),
        ("date range: two years", two_years),
        ("customer name substring (one customer)", {**two_years, "customer": sample.customer_name}),
        ("customer name substring (five customers)", {**two_years, "customer": "Litware 00"}),
        ("customer name substring (many customers)", {**two_years, "customer": "litware"}),
        ("customer name, non-Latin (many)", {**two_years, "customer": "株式会社"}),
        ("customer tenant id", {**two_years, "customer": str(sample.customer_tenant_id)}),
        ("action", {**two_years, "action": "delete_customer_purchase_permissions"}),
        ("performed by", {**two_years, "performed_by": rare_agent}),
        ("status: failed", {**two_years, "status": "failed"}),
        ("source: api", {**two_years, "source": "api"}),
        ("status + action + source", {**two_years, "status": "failed", "source": "api",
                                      "action": "create_customer_purchase_permissions"}),
        ("customer + performed by + status (rare)", {**two_years, "customer": "litware",
                                                     "performed_by": rare_agent, "status": "failed"}),
        ("every filter at once", {**two_years, "customer": "litware", "performed_by": "agent",
                                  "status": "succeeded", "source": "web", "action": "create_order"}),
        ("nothing matches (30 days)", {"customer": "no such customer"}),
    ]
    for label, params in kinds:
        page_figures(client, label, params)

    print("\nA page 1,000 pages (50,000 entries) deep, by keyset:")
    for label, params in [("two years, no other filter", two_years),
                          ("two years, source: web", {**two_years, "source": "web"})]:
        base = ActivityLogEntry.objects.newest_first()
        if "source" in params:
            base = base.filter(source=params["source"])
        deep = base.values_list("occurred_at", "id")[49_999:50_000].first()  # the cursor; OFFSET not timed
        if deep is None:
            print(f"  {label}: fewer than 50,000 entries")
            continue
        page_figures(client, label, {**params, "before": f"{deep[0].isoformat()}_{deep[1]}"})


def measure_export(two_years) -> None:
    print("\nExport of every entry (a fresh process, through Django's test client):")
    probe = subprocess.run([sys.executable, __file__, "--export-probe", json.dumps(two_years)],  # noqa: S603
                           env=os.environ.copy(), check=True, capture_output=True, text=True)
    figures = json.loads(probe.stdout.strip().splitlines()[-1])
    print(f"  {figures['rows']:,} rows, {figures['bytes'] / 1e6:,.0f} MB in {figures['seconds']:.1f} s: "
          f"{figures['rows'] / figures['seconds']:,.0f} rows/s; first bytes after "
          f"{figures['first_ms']:.0f} ms; peak memory {figures['peak_mb']:.0f} MB "
          f"(the same process before the export: {figures['before_mb']:.0f} MB)", flush=True)


def measure_writes(operator) -> None:
    from django.db import transaction

    from activitylog.services import Origin, record

    print("\nWriting one entry through record(), each in its own transaction, chain included:")
    timings = []
    for n in range(2000):
        started = time.perf_counter()
        with transaction.atomic():
            record(action="create_order", actor=operator, origin=Origin.system(f"bench-{n}"),
                   resource_type="subscription", resource_id=n, new_value={"status": "active"})
        timings.append((time.perf_counter() - started) * 1000)
    print(f"  2,000 writes: mean {statistics.mean(timings):.2f} ms, p50 {statistics.median(timings):.2f} ms, "
          f"p95 {p95(timings):.2f} ms", flush=True)


def measure_verify() -> None:
    from activitylog import chain

    print("\nverify_activity_log over the whole chain:")
    started = time.perf_counter()
    result = chain.verify()
    elapsed = time.perf_counter() - started
    assert result.broken is None, result.broken
    print(f"  {result.checked:,} entries intact in {elapsed:.1f} s "
          f"({result.checked / elapsed:,.0f} entries/s)", flush=True)


def peak_resident_kb() -> int:
    """This process's peak resident memory. Not ru_maxrss: Linux carries that over from the parent."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def export_probe(params: dict) -> None:
    client, _operator = signed_in_client()
    before = peak_resident_kb()
    started = time.perf_counter()
    response = client.get("/activity-log/export.csv", params)
    assert response.status_code == 200
    rows, size, first_ms = -1, 0, None  # the header line is not a row
    for piece in response.streaming_content:
        if first_ms is None:
            first_ms = (time.perf_counter() - started) * 1000
        rows += piece.count(b"\n")
        size += len(piece)
    seconds = time.perf_counter() - started
    peak = peak_resident_kb()
    print(json.dumps({"rows": rows, "bytes": size, "seconds": seconds, "first_ms": first_ms,
                      "peak_mb": peak / 1024, "before_mb": before / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432"),
                        help="PostgreSQL server URL without a database name (the user must create databases)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN (ANALYZE, BUFFERS) for each page")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--database", help="the scratch database's name (default bench_log_<entries>)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure a database kept by an earlier --keep run, without reloading it (its "
                             "entries verify only if BENCH_ACTIVITY_LOG_KEY is the key that run used)")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"what to measure, comma-separated (default all: {','.join(PARTS)})")
    parser.add_argument("--export-probe", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.export_probe:
        setup_django(os.environ["DATABASE_URL"])
        export_probe(json.loads(args.export_probe))
        return

    import psycopg

    name = args.database or f"bench_log_{args.entries}"
    url = f"{args.server.rstrip('/')}/{name}"
    parts = tuple(part for part in args.only.split(",") if part)
    if unknown := set(parts) - set(PARTS):
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    if not args.reuse:
        with psycopg.connect(f"{args.server.rstrip('/')}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
    try:
        print(f"Scratch database {name}: migrating", flush=True)
        for command in (["migrate"], ["collectstatic", "--no-input"]):
            subprocess.run([sys.executable, "manage.py", *command, "-v0"],  # noqa: S603
                           cwd=ROOT, env=django_env(url), check=True)
        if args.reuse:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"VACUUM (ANALYZE) {TABLE}")
        else:
            print(f"Loading {args.entries:,} entries over two years with COPY, chained:", flush=True)
            seconds = load(url, args.entries)
            print(f"Loaded and indexed in {seconds:.0f} s.", flush=True)
        if args.explain:
            os.environ["BENCH_EXPLAIN"] = "1"
        setup_django(url)
        measure(args.entries, parts)
        from django.db import connections
        connections.close_all()
    finally:
        if not args.keep:
            with psycopg.connect(f"{args.server.rstrip('/')}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
