"""What the activity log does differently on PostgreSQL (production) and SQLite (`make run`, tests).

Every ``connection.vendor`` branch of the app is here, each saying why SQLite differs; everything else
runs the same SQL on both. PostgreSQL has what production needs at scale and under concurrency: an
advisory lock, the append-only triggers and the narrow purge function (migration 0004), the customer
names table kept by a statement trigger (0007), loose index scans and COPY. SQLite has one writer at a
time and no triggers of ours, so it takes simpler paths that give the same answers.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from .chain import LOCK_KEY


def _postgresql(connection: BaseDatabaseWrapper | None = None) -> bool:
    return (connection or default_connection).vendor == "postgresql"


def lock_log(connection: BaseDatabaseWrapper) -> None:
    """Take the log's write lock until the transaction ends, before the chain head is read."""
    with connection.cursor() as cursor:
        if _postgresql(connection):
            # A statement of its own: the head is read after the lock is granted, in a fresh snapshot.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        elif connection.vendor == "sqlite":
            # SQLite has no advisory locks, but only one writer: take its write lock now (a no-op write)
            # rather than at the insert, so that the head read next cannot change before the insert.
            from .models import ActivityLogEntry

            cursor.execute("UPDATE sqlite_sequence SET seq = seq WHERE name = %s",
                           [ActivityLogEntry._meta.db_table])


def purges_through_function() -> bool:
    """Whether old entries go through activitylog_purge() (PostgreSQL). SQLite has no append-only
    triggers to pass, so the service deletes the same prefix itself (services._purge_without_triggers)."""
    return _postgresql()


def has_customer_names_table() -> bool:
    """Whether activitylog_customer_name exists (PostgreSQL, migration 0007). SQLite's logs are small
    (development and tests): filtering by the name itself is as quick there, and gives the same entries."""
    return _postgresql()


def has_loose_index_scan() -> bool:
    """Whether "performed by" finds the log's distinct addresses by a recursive loose index scan
    (PostgreSQL). SQLite's small logs are filtered by the address substring directly: the same entries."""
    return _postgresql()


def exports_with_copy() -> bool:
    """Whether the CSV is written by PostgreSQL's COPY. SQLite has no COPY: the same CSV is written row by
    row in Python (views._written_rows), which is quick enough for a development log."""
    return _postgresql()


@contextmanager
def planned_for_these_filters() -> Iterator[None]:
    """Have PostgreSQL plan the log's queries in this block for the values given, never generically.

    With prepared statements (DJANGO_DB_PREPARED_STATEMENTS) PostgreSQL may switch to a generic plan
    after five runs of the same query, and a generic plan cannot tell a customer name that matches a few
    entries (read them through the trigram index) from one that matches thousands (walk the time index).
    SQLite prepares no server-side plans to cache: nothing to do there.
    """
    if not _postgresql():
        yield
        return
    with transaction.atomic(), default_connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield
