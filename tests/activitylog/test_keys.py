"""The chain's key: an entry that someone with INSERT but without the key appends does not verify."""
# ruff: noqa: S608 (raw SQL on our own table names is what these tests are about)

import datetime as dt
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from activitylog import chain
from activitylog.models import Action, ActivityLogEntry, Source
from activitylog.services import Origin, record

from . import log_entry

pytestmark = pytest.mark.django_db

TABLE = ActivityLogEntry._meta.db_table
ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ("occurred_at", "action", "status", "failure_reason", "actor_email", "customer_name",
           "resource_type", "resource_id", "source", "request_id", "correlation_id", "prev_hash",
           "entry_hash", "hmac_key_id")


def verify() -> str:
    out = io.StringIO()
    call_command("verify_activity_log", stdout=out)
    return out.getvalue()


def broken() -> str:
    with pytest.raises(CommandError) as caught:
        verify()
    return str(caught.value)


def forged_row(*, days_ago: float, key: bytes | None = None, key_id: str = "") -> tuple[str, list]:
    """An INSERT of an entry "days_ago" that links to the head, hashed as a forger can: SHA-256 over the
    same canonical content the portal hashes (or an HMAC with ``key``, for an insider who has it)."""
    head = (ActivityLogEntry.objects.order_by("-id").values_list("entry_hash", flat=True).first()
            or chain.GENESIS)
    content = {field: None for field in chain.HASHED_FIELDS} | {
        "occurred_at": timezone.now() - dt.timedelta(days=days_ago),
        "action": Action.DELETE_PURCHASE_PERMISSION,
        "status": "succeeded", "failure_reason": "", "actor_email": "admin@partner.example",
        "customer_name": "Café Müller", "resource_type": "self_serve_policy",
        "resource_id": "AzureReservations", "source": "web", "request_id": "", "correlation_id": ""}
    values = [content[column] for column in COLUMNS[:11]]
    sql = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    return sql, [*values, head, chain.digest(head, content, key), key_id]


def insert(sql: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return ActivityLogEntry.objects.order_by("-id").values_list("id", flat=True).first()


@pytest.fixture
def logged(admin_agent, origin) -> list[ActivityLogEntry]:
    return [record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin) for _n in range(3)]


def test_a_back_dated_entry_chained_with_sha256_but_without_the_key_is_named(logged):
    forged = insert(*forged_row(days_ago=10))

    message = broken()

    assert f"entry {forged}: unkeyed" in message
    assert "3 entries before it check out" in message


def test_a_forged_entry_claiming_the_key_id_is_named_as_altered(logged):
    # The forger copies the key id the other entries carry; without the secret the hash cannot match.
    forged = insert(*forged_row(days_ago=10, key_id="tests"))

    assert f"entry {forged}: altered" in broken()


def test_a_back_dated_entry_even_with_the_key_is_refused_by_the_time_check(logged):
    forged = insert(*forged_row(days_ago=10, key=chain.keys()["tests"], key_id="tests"))

    message = broken()

    assert f"entry {forged}: back-dated" in message
    assert f"before entry {logged[-1].pk}'s" in message


def test_an_entry_signed_with_a_key_nobody_configured_is_named(logged):
    forged = insert(*forged_row(days_ago=0, key=b"x" * 32, key_id="made-up"))

    assert f"entry {forged}: unknown key: it names the key 'made-up'" in broken()


def test_entries_written_before_the_key_existed_verify_and_are_reported_unkeyed(admin_agent, origin):
    # As after migration 0008 on an existing log: plain SHA-256 entries with no key id, then keyed ones.
    old = [insert(*forged_row(days_ago=days_ago)) for days_ago in (3, 2)]
    new = record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin)

    output = verify()

    assert "chain intact: 3 entries" in output
    assert "Signed (HMAC-SHA256): 1 with key 'tests'" in output
    assert f"Unkeyed: 2 entries up to entry {old[-1]}, written before the log had a key" in output
    assert new.prev_hash == ActivityLogEntry.objects.get(pk=old[-1]).entry_hash


def test_rotating_the_key_keeps_the_old_entries_verifiable(admin_agent, origin):
    record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin)
    rotated = {"ACTIVITY_LOG_KEY_ID": "2027", "ACTIVITY_LOG_KEYS": {
        "2027": "a-new-key-after-rotation-0123456789", "tests": chain.keys()["tests"].decode()}}
    with override_settings(**rotated):
        signed_later = record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin)
        output = verify()
    assert signed_later.hmac_key_id == "2027"
    assert "Signed (HMAC-SHA256): 1 with key '2027', 1 with key 'tests'" in output

    # Dropping the old key from the settings leaves its entries unverifiable: say so, never pass.
    with override_settings(ACTIVITY_LOG_KEY_ID="2027",
                           ACTIVITY_LOG_KEYS={"2027": rotated["ACTIVITY_LOG_KEYS"]["2027"]}):
        assert "unknown key: it names the key 'tests'" in broken()


def test_an_entry_is_never_stamped_before_the_one_it_follows(admin_agent, origin):
    # Another server whose clock runs ahead wrote the head: the next entry takes its time, not an earlier one.
    ahead = log_entry(at=timezone.now() + dt.timedelta(seconds=30))
    entry = record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=Origin(source=Source.WEB))

    assert entry.occurred_at == ahead.occurred_at
    assert "chain intact: 2 entries" in verify()


def test_the_unkeyed_hash_is_still_plain_sha256():
    content = {field: None for field in chain.HASHED_FIELDS} | {
        "occurred_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "resource_id": ""}
    expected = hashlib.sha256((chain.GENESIS + chain.canonical(content)).encode()).hexdigest()

    assert chain.digest(chain.GENESIS, content) == expected
    assert chain.digest(chain.GENESIS, content, b"k" * 32) != expected


def settings_error(**environ: str) -> str:
    """What importing the production settings says with this environment (a fresh interpreter)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ACTIVITY_LOG_", "DJANGO_"))}
    env |= {"DJANGO_SECRET_KEY": "x" * 50, **environ}
    done = subprocess.run([sys.executable, "-c", "import portal.settings"], cwd=ROOT, env=env,  # noqa: S603
                          capture_output=True, text=True, check=False)
    return done.stderr


def test_production_settings_refuse_to_start_without_a_key():
    assert "Set ACTIVITY_LOG_KEY" in settings_error()
    assert "shorter than 32" in settings_error(ACTIVITY_LOG_KEY="short")
    assert "each id once" in settings_error(ACTIVITY_LOG_KEY="k" * 32, ACTIVITY_LOG_KEY_ID="a",
                                            ACTIVITY_LOG_RETIRED_KEYS="a:" + "o" * 32)
    assert settings_error(ACTIVITY_LOG_KEY="k" * 32, ACTIVITY_LOG_RETIRED_KEYS="old:" + "o" * 32) == ""
