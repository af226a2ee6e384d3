"""Never two syncs at once; a killed sync leaves complete customers and the next one resumes."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from activitylog.models import Action, ActivityLogEntry
from customers.models import Customer
from microsoft.models import Connection, SyncRun
from microsoft.sync import SyncRunning, run_sync

from .test_sync import ready_customer

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(condition, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_second_sync_while_one_runs_says_so_and_does_nothing(microsoft):
    slow = ready_customer("Slow")
    microsoft.load([slow])
    microsoft.sim.control.faults([{"method": "GET", "path": "subscriptions$", "fault": "slow", "times": 1,
                                   "delaySeconds": 3}])
    results = []

    def sync_in_another_thread():
        try:
            results.append(run_sync())
        finally:
            connection.close()  # the thread's own connection, so the test database can be dropped

    first = threading.Thread(target=sync_in_another_thread)
    first.start()
    try:
        _wait_for(lambda: Connection.objects.exclude(sync_holder="").exists(), "the first sync's lock")
        with pytest.raises(SyncRunning, match="already running"):
            run_sync()
    finally:
        first.join()
    assert results[0].outcome == "succeeded"
    assert SyncRun.objects.count() == 1
    assert ActivityLogEntry.objects.filter(action=Action.ADD_CUSTOMER).count() == 1
    assert Connection.get().sync_holder == ""


def test_a_lock_left_by_a_dead_process_on_this_machine_is_taken_over(microsoft):
    import socket

    microsoft.load([ready_customer()])
    Connection.get()
    Connection.objects.filter(pk=1).update(sync_holder=f"{socket.gethostname()}:999999999:dead",
                                           sync_heartbeat="2999-01-01T00:00:00Z")
    interrupted = SyncRun.objects.create(started_at="2026-01-01T00:00:00Z")

    result = run_sync()

    assert result.outcome == "succeeded"
    interrupted.refresh_from_db()
    assert interrupted.outcome == SyncRun.Outcome.INTERRUPTED


def test_a_live_lock_on_another_machine_is_respected(microsoft):
    from django.utils import timezone

    microsoft.load([ready_customer()])
    Connection.get()
    Connection.objects.filter(pk=1).update(sync_holder="elsewhere:1:x", sync_heartbeat=timezone.now())
    with pytest.raises(SyncRunning):
        run_sync()
    assert not Customer.objects.exists()
    assert not SyncRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_killed_sync_resumes_safely(microsoft, needs_postgres, settings):
    customers = [ready_customer(f"Customer {index}") for index in range(6)]
    microsoft.load(customers)
    # The fourth customer's subscriptions answer slowly: the sync is killed while it waits.
    microsoft.sim.control.faults([{"method": "GET", "path": f"{customers[3].tenant_id}/subscriptions$",
                                   "fault": "slow", "times": 1, "delaySeconds": 30}])
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DATABASE_URL": _database_url(), "MICROSOFT_CLOUD": "simulated",
           "MICROSOFT_LOGIN_URL": settings.MICROSOFT_LOGIN_URL,
           "PARTNER_CENTER_URL": settings.PARTNER_CENTER_URL,
           "AZURE_MANAGEMENT_URL": settings.AZURE_MANAGEMENT_URL,
           "MICROSOFT_GRAPH_URL": settings.MICROSOFT_GRAPH_URL,
           "MICROSOFT_APP_ID": settings.MICROSOFT_APP_ID,
           "MICROSOFT_APP_SECRET": settings.MICROSOFT_APP_SECRET,
           "PARTNER_TENANT_ID": settings.PARTNER_TENANT_ID, "MICROSOFT_SYNC_PARALLELISM": "1",
           # One customer a round, so the first three are written before the fourth's slow answer (in
           # rounds of 50 all six were written together, after it, and the kill came too late).
           "MICROSOFT_SYNC_BATCH": "1",
           "DJANGO_SECRET_KEY": settings.SECRET_KEY, "PGAPPNAME": KILLED}
    process = subprocess.Popen([sys.executable, "manage.py", "sync_microsoft"], cwd=ROOT, env=env,  # noqa: S603
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: Customer.objects.count() >= 3, "three customers written", limit=120)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        _wait_for(_no_other_sessions, "the killed process's database session to end")
    written = Customer.objects.count()
    assert 3 <= written < 6
    assert SyncRun.objects.get().outcome == SyncRun.Outcome.RUNNING
    microsoft.sim.control.clear_faults()

    result = run_sync()

    assert result.outcome == "succeeded"
    assert Customer.objects.count() == 6
    assert result.counts.added["customers"] == 6 - written
    # Every customer was added once, killed run or not; nothing half-written was left behind.
    assert ActivityLogEntry.objects.filter(action=Action.ADD_CUSTOMER).count() == 6
    assert ActivityLogEntry.objects.filter(action=Action.CREATE_ROLE_ASSIGNMENT).count() == 12
    assert SyncRun.objects.filter(outcome=SyncRun.Outcome.INTERRUPTED).count() == 1


KILLED = "portal-killed-sync-test"


def _no_other_sessions() -> bool:
    """The killed process's database session has ended (so the test database can be dropped)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND application_name = %s", [KILLED])
        return cursor.fetchone()[0] == 0


def _database_url() -> str:
    params = connection.settings_dict
    return (f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/"
            f"{params['NAME']}")
