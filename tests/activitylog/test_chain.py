"""The hash chain: verify_activity_log holds on an honest log and names the first entry tampered with."""
# ruff: noqa: S608 (raw SQL on our own table names is what these tests are about)

import datetime as dt
import io
import threading

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from activitylog import chain
from activitylog.models import Action, ActivityLogAnchor, ActivityLogEntry, Source, Status
from activitylog.services import Origin, purge, record

from ..permissions.test_concurrency import run_at_once
from . import log_entry

pytestmark = pytest.mark.django_db

TABLE = ActivityLogEntry._meta.db_table
KEY = settings.ACTIVITY_LOG_KEYS["tests"].encode()


def run(command: str, **options) -> str:
    out = io.StringIO()
    call_command(command, stdout=out, **options)
    return out.getvalue()


def verify() -> str:
    """verify_activity_log's output; raises CommandError (exit 1) with its message on a broken chain."""
    return run("verify_activity_log")


def broken() -> str:
    with pytest.raises(CommandError) as caught:
        verify()
    return str(caught.value)


def tamper(sql: str, params=()) -> None:
    """Change the table behind the application's back: as the superuser, with the triggers off.

    On PostgreSQL the triggers are disabled inside the test's transaction, which rolls back at the end.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Run the pending foreign key checks first: ALTER TABLE refuses while they wait.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER activitylog_no_update_delete")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER activitylog_no_update_delete")


@pytest.fixture
def entries(admin_agent, customer, origin) -> list[ActivityLogEntry]:
    """Five entries as the services write them, with values of every kind the hash covers."""
    written = []
    for n in range(5):
        written.append(record(
            action=Action.CREATE_PURCHASE_PERMISSION, actor=admin_agent, origin=origin, customer=customer,
            resource_type="self_serve_policy", resource_id=n,
            old_value={"permissions": []},
            new_value={"permissions": [{"resource": "AzureReservations", "action": "Purchase"}],
                       "when": timezone.now(), "n": n, "ratio": 0.1 + 0.2, "name": "株式会社テスト"},
            status=Status.FAILED if n == 3 else Status.SUCCEEDED, failure_reason="nope" if n == 3 else "",
        ))
    return written


def test_each_entry_links_to_the_one_before(entries):
    assert entries[0].prev_hash == chain.GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.entry_hash
    assert len({entry.entry_hash for entry in entries}) == 5


def test_the_hash_read_back_from_the_database_is_the_one_written(entries):
    for entry in ActivityLogEntry.objects.order_by("id"):
        assert entry.hmac_key_id == settings.ACTIVITY_LOG_KEY_ID == "tests"
        assert chain.digest(entry.prev_hash, chain.content_of(entry), KEY) == entry.entry_hash
        # Keyed: the plain SHA-256 that anyone could compute is not the entry's hash.
        assert chain.digest(entry.prev_hash, chain.content_of(entry)) != entry.entry_hash


def test_time_order_is_id_order_is_chain_order(entries):
    by_time = list(ActivityLogEntry.objects.order_by("occurred_at", "id").values_list("id", flat=True))
    assert by_time == [entry.pk for entry in entries]


def test_verify_passes_on_a_fresh_log(entries):
    output = verify()

    assert "chain intact: 5 entries from the genesis" in output
    assert "Signed (HMAC-SHA256): 5 with key 'tests'" in output
    assert "Unkeyed" not in output
    assert f"Head: entry {entries[-1].pk} {entries[-1].entry_hash}" in output


def test_verify_passes_on_an_empty_log(db):
    assert "chain intact: 0 entries" in verify()


def test_verify_names_an_altered_entry(entries):
    tamper(f"UPDATE {TABLE} SET customer_name = 'Someone Else' WHERE id = %s", [entries[2].pk])

    message = broken()

    assert f"entry {entries[2].pk}: altered" in message
    assert "2 entries before it check out" in message


def test_verify_names_an_entry_whose_stored_hash_was_rewritten_too(entries):
    forged = entries[1]
    forged.failure_reason = "rewritten"
    tamper(f"UPDATE {TABLE} SET failure_reason = 'rewritten', entry_hash = %s WHERE id = %s",
           [chain.digest(forged.prev_hash, chain.content_of(forged), KEY), forged.pk])

    # Its own hash now matches its content, but the next entry still links to the original.
    assert f"entry {entries[2].pk}: removed" in broken()


def test_verify_names_the_entry_after_a_removed_one(entries):
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [entries[2].pk])

    message = broken()

    assert f"entry {entries[3].pk}: removed" in message
    assert f"between entry {entries[1].pk} and it" in message


def test_verify_notices_the_first_entry_removed(entries):
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [entries[0].pk])

    assert f"entry {entries[1].pk}: removed" in broken()


def test_verify_names_a_forged_entry_inserted_with_a_valid_looking_hash(entries, admin_agent):
    forged = ActivityLogEntry(
        occurred_at=entries[1].occurred_at, action=Action.DELETE_PURCHASE_PERMISSION,
        status=Status.SUCCEEDED, actor=admin_agent, actor_email=admin_agent.email, source=Source.WEB,
        prev_hash=entries[1].entry_hash)
    # Even signed with the key (an insider who has it), the entry after it still links past it.
    forged.entry_hash = chain.digest(forged.prev_hash, chain.content_of(forged), KEY)
    # Slipped in between entries 1 and 2 by giving it an id between theirs.
    tamper(f"UPDATE {TABLE} SET id = id + 1000 WHERE id >= %s", [entries[2].pk])
    tamper(f"INSERT INTO {TABLE} (id, occurred_at, action, status, failure_reason, actor_id, actor_email,"
           " customer_name, resource_type, resource_id, source, request_id, correlation_id, prev_hash,"
           " entry_hash, hmac_key_id) VALUES (%s, %s, %s, %s, '', %s, %s, '', '', '', %s, '', '', %s, %s,"
           " 'tests')",
           [entries[2].pk, forged.occurred_at, forged.action, forged.status, admin_agent.pk,
            admin_agent.email, forged.source, forged.prev_hash, forged.entry_hash])

    message = broken()

    assert f"entry {entries[2].pk}: inserted" in message
    assert f"entry {entries[2].pk + 1000}" in message


def test_verify_names_a_forged_entry_with_a_made_up_hash(entries):
    tamper(f"INSERT INTO {TABLE} (occurred_at, action, status, failure_reason, actor_email, customer_name,"
           " resource_type, resource_id, source, request_id, correlation_id, prev_hash, entry_hash,"
           " hmac_key_id) VALUES (%s, 'add_customer', 'succeeded', '', 'x@example.com', '', '', '', 'web',"
           " '', '', %s, %s, 'tests')",
           [timezone.now(), entries[-1].entry_hash, "f" * 64])

    forged = ActivityLogEntry.objects.order_by("-id").first()
    assert f"entry {forged.pk}: altered" in broken()


def test_verify_can_check_that_the_newest_entries_are_still_there(entries):
    head = entries[-1].entry_hash
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [entries[-1].pk])

    assert "chain intact: 4 entries" in verify()  # the chain alone cannot tell...
    with pytest.raises(CommandError, match="no longer holds"):  # ...the head noted earlier can
        call_command("verify_activity_log", head=head)


def test_verify_passes_after_a_purge_and_new_entries(admin_agent, origin):
    for days_ago in (100, 90, 80, 5):
        log_entry(days_ago=days_ago)  # oldest first, as they would have been written
    old_ids = list(ActivityLogEntry.objects.order_by("id").values_list("id", flat=True))

    result = purge(retention_days=30)
    record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin)

    assert result.purged == 3
    assert result.anchor.last_purged_id == old_ids[2]
    assert set(ActivityLogEntry.objects.values_list("id", flat=True)) >= {old_ids[3]}
    assert not ActivityLogEntry.objects.filter(id__in=old_ids[:3]).exists()
    assert f"3 entries from the purge anchor after entry {old_ids[2]}" in verify()


def test_verify_still_catches_a_removal_right_after_the_anchor(admin_agent, origin):
    for days_ago in (100, 5, 4):
        log_entry(days_ago=days_ago)
    purge(retention_days=30)
    first_kept = ActivityLogEntry.objects.order_by("id").first()
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [first_kept.pk])

    assert "removed" in broken()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_threads_writing_at_once_form_one_unbroken_chain(needs_postgres, admin_agent):
    writers, per_writer = 4, 25
    done = threading.Lock()
    written: list[int] = []

    def writer(n: int):
        def job():
            for i in range(per_writer):
                entry = record(action=Action.CREATE_ORDER, actor=admin_agent,
                               origin=Origin(source=Source.API, request_id=f"w{n}-{i}"))
                with done:
                    written.append(entry.pk)
        return job

    run_at_once(*(writer(n) for n in range(writers)))

    assert len(written) == writers * per_writer
    assert f"chain intact: {writers * per_writer} entries" in verify()
    ids_by_time = list(ActivityLogEntry.objects.order_by("occurred_at", "id").values_list("id", flat=True))
    assert ids_by_time == sorted(written)


@override_settings(ACTIVITY_LOG_RETENTION_DAYS=None)
def test_purge_without_a_retention_keeps_everything_and_says_so(entries):
    output = run("purge_activity_log")

    assert "kept forever" in output
    assert ActivityLogEntry.objects.count() == 5
    assert not ActivityLogAnchor.objects.exists()


@override_settings(ACTIVITY_LOG_RETENTION_DAYS=30)
def test_purge_removes_old_entries_and_logs_its_run(admin_agent):
    old = log_entry(days_ago=31)
    kept = log_entry(days_ago=29)

    output = run("purge_activity_log")

    assert "Removed 1 entries" in output
    assert not ActivityLogEntry.objects.filter(pk=old.pk).exists()
    logged = ActivityLogEntry.objects.get(action=Action.PURGE_ACTIVITY_LOG)
    assert list(ActivityLogEntry.objects.order_by("id")) == [kept, logged]
    assert (logged.source, logged.actor, logged.request_id, logged.status) == (
        Source.SYSTEM, None, "purge_activity_log", Status.SUCCEEDED)
    assert logged.new_value["purged"] == 1
    assert logged.new_value["retention_days"] == 30
    assert logged.new_value["anchor"] == {"last_purged_id": old.pk, "last_purged_hash": old.entry_hash}
    assert "chain intact: 2 entries" in verify()


@override_settings(ACTIVITY_LOG_RETENTION_DAYS=30)
def test_purge_with_nothing_old_enough_removes_nothing_but_logs_its_run(entries):
    output = run("purge_activity_log")

    assert "nothing was removed" in output
    assert ActivityLogEntry.objects.count() == 6
    assert not ActivityLogAnchor.objects.exists()
    assert ActivityLogEntry.objects.order_by("-id").first().new_value["purged"] == 0


@override_settings(ACTIVITY_LOG_RETENTION_DAYS=-1)
def test_a_negative_retention_is_an_error_not_a_purge(entries):
    with pytest.raises(CommandError, match="0 or more"):
        call_command("purge_activity_log")

    assert ActivityLogEntry.objects.count() == 5


def test_purge_never_cuts_the_chain_in_the_middle():
    # An entry stamped in the past but written after a newer one: only the prefix before it may go.
    log_entry(days_ago=100)
    newer = log_entry(days_ago=1)
    late = log_entry(days_ago=200)

    result = purge(retention_days=30, now=timezone.now())

    assert result.purged == 1
    assert set(ActivityLogEntry.objects.values_list("id", flat=True)) == {newer.pk, late.pk, result.entry.pk}
    # The chain itself holds from the anchor; what verify refuses is the entry stamped back in time.
    assert f"entry {late.pk}: back-dated" in broken()


def test_purge_refuses_a_negative_period():
    with pytest.raises(ValueError, match="negative"):
        purge(retention_days=-1, now=timezone.now() - dt.timedelta(days=1))
