"""PostgreSQL itself keeps the log append-only, whatever SQL the application sends."""
# ruff: noqa: S608 (raw SQL on our own table names is what these tests are about)

import uuid
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from activitylog import selectors
from activitylog.models import Action, ActivityLogAnchor, ActivityLogEntry
from activitylog.services import purge, record

from . import log_entry
from .test_keys import forged_row

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TABLE = ActivityLogEntry._meta.db_table
ANCHORS = ActivityLogAnchor._meta.db_table


@pytest.fixture
def entry(needs_postgres, admin_agent, origin) -> ActivityLogEntry:
    # The test database lets Django's flush TRUNCATE (tests/conftest.py); these tests want the trigger.
    with connection.cursor() as cursor:
        for table in (TABLE, ANCHORS):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER activitylog_no_truncate")
    return record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin,
                  resource_type="customer", new_value={"company_name": "Contoso Ltd"})


def refused(sql: str, params=()) -> str:
    """Run SQL in a savepoint; return the database's error message, failing if it was not refused."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


@contextmanager
def app_role(*grants: str):
    """A role that does not own the tables, like the one production runs as, given ``grants`` on the log.

    Created inside the test's transaction, so it disappears with it. Yields a function that runs SQL as
    that role in a savepoint and returns the error message (or None when the SQL went through).
    """
    role = f"log_app_probe_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("the test database's user may not create roles (needs CREATEROLE or superuser)")
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        for grant in grants:
            cursor.execute(grant.format(role=role))

    def as_role(sql: str, params=()) -> str | None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL ROLE {role}")
                cursor.execute(sql, params)
                cursor.execute("RESET ROLE")
        except DatabaseError as exc:
            return str(exc)
        return None

    yield as_role


def test_a_raw_update_is_refused(entry):
    message = refused(f"UPDATE {TABLE} SET customer_name = 'Tampered' WHERE id = %s", [entry.pk])

    assert "append-only" in message
    assert ActivityLogEntry.objects.get().customer_name == ""


def test_a_raw_delete_is_refused(entry):
    message = refused(f"DELETE FROM {TABLE} WHERE id = %s", [entry.pk])

    assert "append-only" in message
    assert ActivityLogEntry.objects.filter(pk=entry.pk).exists()


def test_truncate_is_refused(entry):
    # The entry's foreign key checks would otherwise still be pending and refuse TRUNCATE for that.
    message = refused(f"SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE {TABLE}")

    assert "append-only" in message
    assert ActivityLogEntry.objects.count() == 1


def test_purge_anchors_cannot_be_changed_or_removed(entry):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM activitylog_purge(clock_timestamp())")
    anchor = ActivityLogAnchor.objects.get()

    assert "append-only" in refused(f"UPDATE {ANCHORS} SET last_purged_hash = 'x'")
    assert "append-only" in refused(f"DELETE FROM {ANCHORS}")
    assert "append-only" in refused(f"SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE {ANCHORS}")
    assert ActivityLogAnchor.objects.get().last_purged_hash == anchor.last_purged_hash


def test_a_role_that_does_not_own_the_table_cannot_disable_the_triggers(entry):
    with app_role(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON {TABLE} TO {{role}}") as as_role:
        message = as_role(f"ALTER TABLE {TABLE} DISABLE TRIGGER activitylog_no_update_delete")
        assert "must be owner" in message
        assert "must be owner" in as_role(f"ALTER TABLE {TABLE} DISABLE TRIGGER ALL")
        assert "must be owner" in as_role(f"DROP TRIGGER activitylog_no_update_delete ON {TABLE}")
        assert "permission denied" in as_role("SET LOCAL session_replication_role = replica")

        # Even granted every privilege on the table, the role is refused by the triggers.
        assert "append-only" in as_role(f"UPDATE {TABLE} SET customer_name = 'Tampered'")
        assert "append-only" in as_role(f"DELETE FROM {TABLE}")
        assert "append-only" in as_role(f"SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE {TABLE}")

    assert ActivityLogEntry.objects.get().customer_name == ""


def test_a_role_that_does_not_own_the_table_cannot_fake_the_purge_path(entry):
    with app_role(f"GRANT SELECT, DELETE ON {TABLE} TO {{role}}") as as_role:
        message = as_role(f"SELECT set_config('activitylog.purge_through', '{entry.pk}', true); "
                          f"DELETE FROM {TABLE} WHERE id = {entry.pk}")

        assert "append-only" in message

    assert ActivityLogEntry.objects.filter(pk=entry.pk).exists()


def test_the_purge_function_is_not_open_to_every_role(entry):
    with app_role(f"GRANT SELECT, INSERT ON {TABLE} TO {{role}}") as as_role:
        message = as_role("SELECT * FROM activitylog_purge(now())")

        assert "permission denied for function activitylog_purge" in message

    assert ActivityLogEntry.objects.filter(pk=entry.pk).exists()


def test_a_role_allowed_to_purge_removes_only_old_entries_and_leaves_an_anchor(entry):
    with app_role(f"GRANT SELECT, INSERT ON {TABLE} TO {{role}}",
                  "GRANT EXECUTE ON FUNCTION activitylog_purge(timestamptz) TO {role}") as as_role:
        assert "not in the past" in as_role("SELECT * FROM activitylog_purge(now() + interval '1 day')")
        assert as_role("SELECT * FROM activitylog_purge(now() - interval '1 day')") is None

        assert ActivityLogEntry.objects.filter(pk=entry.pk).exists()
        assert not ActivityLogAnchor.objects.exists()

        assert as_role("SELECT * FROM activitylog_purge(clock_timestamp())") is None

    assert not ActivityLogEntry.objects.exists()
    assert ActivityLogAnchor.objects.get().last_purged_hash == entry.entry_hash


def test_the_purge_service_goes_through_the_narrow_path(entry):
    result = purge(retention_days=0)

    assert result.purged == 1
    assert list(ActivityLogEntry.objects.all()) == [result.entry]
    assert result.entry.prev_hash == entry.entry_hash


NAMES = "activitylog_customer_name"


@pytest.fixture
def mueller(entry) -> ActivityLogEntry:
    return log_entry(customer_name="Café Müller", customer_tenant_id=uuid.UUID(int=7, version=4))


def test_the_app_role_cannot_hide_a_customer_by_deleting_its_name(mueller, auditor):
    with app_role(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON {NAMES} TO {{role}}") as as_role:
        assert "append-only" in as_role(f"DELETE FROM {NAMES} WHERE customer_name ILIKE '%%Müller%%'")
        assert "append-only" in as_role(f"UPDATE {NAMES} SET customer_name = 'x' WHERE customer_name "
                                        "ILIKE '%%Müller%%'")
        assert "append-only" in as_role(f"TRUNCATE {NAMES}")
        assert "must be owner" in as_role(f"ALTER TABLE {NAMES} DISABLE TRIGGER activitylog_no_update_delete")
        assert "must be owner" in as_role(f"DROP TRIGGER activitylog_no_update_delete ON {NAMES}")

    assert selectors.customers_named("müller") == {mueller.customer_tenant_id: True}
    page = auditor.get("/activity-log/", {"customer": "Müller"})
    assert page.status_code == 200
    assert page.content.count(b'<tbody class="log-entry') == 1
    assert "Café Müller" in page.content.decode()


def test_even_the_owner_cannot_delete_a_name_without_dropping_the_trigger(mueller):
    assert "append-only" in refused(f"DELETE FROM {NAMES} WHERE customer_name ILIKE '%%Müller%%'")


def test_a_back_dated_entry_the_app_role_inserts_without_the_key_fails_verify(entry):
    grants = (f"GRANT SELECT, INSERT ON {TABLE} TO {{role}}",
              f"GRANT USAGE, SELECT ON SEQUENCE {TABLE}_id_seq TO {{role}}")
    with app_role(*grants) as as_role:
        for key_id in ("", "tests"):  # no key id, or the one the real entries carry
            sql, params = forged_row(days_ago=10, key_id=key_id)
            assert as_role(sql, params) is None  # the role may insert: the chain is what catches it
            forged = ActivityLogEntry.objects.order_by("-id").first()
            kind = "unkeyed" if not key_id else "altered"

            with pytest.raises(CommandError, match=f"entry {forged.pk}: {kind}"):
                call_command("verify_activity_log")
            with transaction.atomic(), connection.cursor() as cursor:  # remove it again, as the superuser
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER activitylog_no_update_delete")
                cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [forged.pk])
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER activitylog_no_update_delete")

    call_command("verify_activity_log")
