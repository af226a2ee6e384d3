"""PostgreSQL: several worker processes on one queue, and workers killed (SIGKILL) between Partner
Center's answer and their commit. Every change is applied once, none is lost, the states end equal."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction

from activitylog.models import Source
from activitylog.services import Origin
from customers.models import Customer
from microsoft.scenario import CustomerBuilder
from microsoft.sync import run_sync
from outbox.models import OutboxChange
from permissions.models import PurchasePermission, Resource
from permissions.services import set_purchase_permissions

pytestmark = pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('sqlite')",
                                reason="several processes on one queue: PostgreSQL")

ROOT = Path(__file__).resolve().parents[2]
RI, SP = Resource.AZURE_RESERVATIONS.value, Resource.AZURE_SAVINGS_PLAN.value


@pytest.fixture
def customers(microsoft, settings, transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    builders = []
    for n in range(6):
        builder = CustomerBuilder(f"Customer {n}")
        builder.assign(builder.azure_subscription(builder.subscription()), builder.user(f"Owner {n}"))
        builders.append(builder)
    microsoft.load(builders)
    run_sync()
    microsoft.sim.control.clear_requests()
    return list(Customer.objects.order_by("company_name"))


def worker(microsoft, settings, *args) -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "SIMULATOR_URL": microsoft.sim.url, "MICROSOFT_CLOUD": "simulated",
           "REQUESTS_CA_BUNDLE": str(microsoft.sim.ca_path),
           "PARTNER_TENANT_ID": settings.PARTNER_TENANT_ID,
           "MICROSOFT_APP_ID": settings.MICROSOFT_APP_ID,
           "MICROSOFT_APP_SECRET": settings.MICROSOFT_APP_SECRET,
           "MICROSOFT_MAX_RETRIES": "0", "OUTBOX_BACKOFF_SECONDS": "0", "OUTBOX_LEASE_SECONDS": "2"}
    return subprocess.Popen([sys.executable, "manage.py", "outbox_worker", *args], cwd=ROOT, env=env,  # noqa: S603
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def decide(agent, customer, n, **allowed):
    origin = Origin(source=Source.WEB, request_id=f"req-{n}", correlation_id=f"corr-{n}")
    set_purchase_permissions(actor=agent, customer=customer, allowed=allowed, origin=origin)


def partner_center(sim) -> dict[str, list[str]]:
    return {c["tenantId"]: (c.get("selfServePolicy") or {}).get("permissions", [])
            for c in sim.control.get_state()["customers"]}


def portal() -> dict[str, list[str]]:
    held = {str(c.tenant_id): [] for c in Customer.objects.all()}
    for tenant, resource in PurchasePermission.objects.values_list("customer__tenant_id", "resource"):
        held[str(tenant)].append(resource)
    return {tenant: [r for r in Resource.values if r in resources] for tenant, resources in held.items()}


def successful_writes(sim) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in sim.control.requests():
        if "SelfServePolicy" in request["path"] and request["method"] in ("POST", "PUT", "DELETE") \
                and request["status"] in (200, 201, 204):
            counts[request["msRequestId"]] = counts.get(request["msRequestId"], 0) + 1
    return counts


def test_two_workers_on_one_queue_apply_every_change_once(customers, admin_agent, microsoft, settings):
    for n, customer in enumerate(customers):
        decide(admin_agent, customer, n, **{RI: True})
        decide(admin_agent, customer, 100 + n, **{SP: n % 2 == 0})
    workers = [worker(microsoft, settings, "--once") for _ in range(2)]
    for process in workers:
        assert process.wait(timeout=120) == 0, process.stderr.read().decode()[-2000:]
    assert not OutboxChange.objects.filter(state=OutboxChange.State.WAITING).exists()
    writes = successful_writes(microsoft.sim)
    applied = OutboxChange.objects.filter(state=OutboxChange.State.APPLIED)
    assert applied.count() >= len(customers)
    assert all(count == 1 for count in writes.values()), writes
    assert set(writes) <= {str(rid) for rid in applied.values_list("ms_request_id", flat=True)}
    assert partner_center(microsoft.sim) == portal()


def test_a_worker_killed_between_microsofts_answer_and_its_commit_loses_nothing_applies_once(
        customers, admin_agent, microsoft, settings):
    sim = microsoft.sim
    for round_ in range(4):
        customer = customers[round_ % len(customers)]
        decide(admin_agent, customer, round_, **{RI: round_ % 2 == 0, SP: True})
        change = OutboxChange.objects.order_by("-id").first()
        seen = len(sim.control.requests())
        # Hold the customer's row: the worker's commit of the outcome waits for it, after Partner
        # Center has answered.
        with transaction.atomic():
            Customer.objects.select_for_update().get(pk=customer.pk)
            process = worker(microsoft, settings)
            deadline = time.monotonic() + 60
            while not any(r["msRequestId"] == str(change.ms_request_id) and r["status"]
                          for r in sim.control.requests()[seen:]):
                assert time.monotonic() < deadline, "the worker never wrote"
                assert process.poll() is None, process.stderr.read().decode()[-2000:]
                time.sleep(0.1)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        change.refresh_from_db()
        assert change.state == OutboxChange.State.WAITING  # our commit never happened
        time.sleep(2.1)  # the dead worker's lease (2 s) runs out
        survivor = worker(microsoft, settings, "--once")
        assert survivor.wait(timeout=120) == 0, survivor.stderr.read().decode()[-2000:]
        change.refresh_from_db()
        assert change.state == OutboxChange.State.APPLIED and change.attempts == 2
    writes = successful_writes(sim)
    assert all(count == 1 for count in writes.values()), writes
    assert len(writes) == 4
    assert partner_center(sim) == portal()
