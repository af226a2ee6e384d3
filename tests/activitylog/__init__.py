import datetime as dt
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from activitylog.models import Action, ActivityLogEntry, Source, Status


def reject_log_entries(condition: str) -> None:
    """Make the database itself refuse activity log inserts matching ``condition`` (SQL about NEW).

    A real failure rather than a mock of record(): a trigger on the log table, created inside the
    test's transaction, so it disappears when the test rolls back. Use only in non-transactional
    tests (plain ``django_db``).
    """
    table = ActivityLogEntry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_reject_log_entry() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'activity log unavailable (test)'; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER test_reject_log_entry BEFORE INSERT ON {table} FOR EACH ROW "
                f"WHEN ({condition}) EXECUTE FUNCTION test_reject_log_entry()"
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE TRIGGER test_reject_log_entry BEFORE INSERT ON {table} "
                f"WHEN {condition} BEGIN SELECT RAISE(ABORT, 'activity log unavailable (test)'); END"
            )
        else:
            pytest.skip(f"no test trigger written for {connection.vendor}")


def assert_from(entry: ActivityLogEntry, *, actor, customer, origin) -> None:
    """The entry names who acted, on whom, and where the request came from, all kept as text."""
    assert entry.actor == actor
    assert entry.actor_email == actor.email
    if customer is None:
        assert (entry.customer, entry.customer_name, entry.customer_tenant_id) == (None, "", None)
    else:
        assert entry.customer == customer
        assert entry.customer_name == customer.company_name
        assert entry.customer_tenant_id == customer.tenant_id
    assert entry.source == Source.WEB
    assert entry.request_id == origin.request_id == "test-request"
    assert entry.client_ip == origin.client_ip == "203.0.113.7"


def log_entry(*, days_ago: float = 0, at: dt.datetime | None = None, **fields) -> ActivityLogEntry:
    """An entry as the services write it, at a chosen time."""
    values = {
        "action": Action.ADD_CUSTOMER,
        "status": Status.SUCCEEDED,
        "actor_email": "admin@partner.example",
        "customer_name": "Contoso Ltd",
        "customer_tenant_id": uuid.UUID("11111111-1111-4111-8111-111111111111"),
        "resource_type": "customer",
        "source": Source.WEB,
        **fields,
    }
    occurred_at = at or timezone.now() - dt.timedelta(days=days_ago)
    return ActivityLogEntry.objects.create(occurred_at=occurred_at, **values)
