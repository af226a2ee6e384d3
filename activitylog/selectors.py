"""Reads of the activity log: the filters behind the Activity log page, its export and /v1/auditrecords."""

import datetime as dt
import uuid

from django.db import connection
from django.db.models import Q

from . import db
from .models import ActivityLogEntry, ActivityLogQuerySet

# Up to this many customers matching a name are filtered by their tenant ids; more, by the name itself.
FEW_CUSTOMERS = 20


def filtered(entries: ActivityLogQuerySet, *, date_from: dt.date, date_to: dt.date, customer: str = "",
             performed_by: str = "", action: str = "", status: str = "", source: str = ""
             ) -> ActivityLogQuerySet:
    """The entries every given filter allows: a day range (UTC, both days included), a customer (a tenant
    id, or text its name contains), text the performer's address contains, and exact codes."""
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=dt.UTC)
    # The end of the To day, not the start of the next: 9999-12-31 has no next day.
    end = dt.datetime.combine(date_to, dt.time.max, tzinfo=dt.UTC)
    entries = entries.filter(occurred_at__gte=start, occurred_at__lte=end)
    if customer := customer.strip():
        try:
            entries = entries.filter(customer_tenant_id=uuid.UUID(customer))
        except ValueError:
            entries = entries.filter(customer_named(customer))
    if performed_by := performed_by.strip():
        if db.has_loose_index_scan():
            entries = entries.filter(actor_email__in=actor_emails_containing(performed_by))
        else:
            entries = entries.filter(actor_email__icontains=performed_by)
    for field, value in (("action", action), ("status", status), ("source", source)):
        if value:
            entries = entries.filter(**{field: value})
    return entries


def actor_emails_containing(text: str) -> list[str]:
    """The distinct e-mail addresses in the log that contain ``text``, ignoring case (PostgreSQL).

    A loose index scan over activity_actor_time_idx: one index probe per distinct address, so a few
    hundred agents cost a millisecond or two whatever the size of the log. The page then filters on those
    exact addresses, which PostgreSQL's statistics know well, instead of a substring of addresses that all
    share the partner's domain, which no index serves.
    """
    table = ActivityLogEntry._meta.db_table
    pattern = "%" + connection.ops.prep_for_like_query(text) + "%"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH RECURSIVE emails(email) AS (
                    (SELECT actor_email FROM {table} ORDER BY actor_email LIMIT 1)
                    UNION ALL
                    SELECT (SELECT actor_email FROM {table} WHERE actor_email > emails.email
                            ORDER BY actor_email LIMIT 1)
                    FROM emails WHERE emails.email IS NOT NULL
                )
                SELECT email FROM emails WHERE upper(email) LIKE upper(%s)""",  # noqa: S608 (our table)
            [pattern])
        return [email for (email,) in cursor.fetchall()]


def customer_named(text: str) -> Q:
    """Entries whose customer name contains ``text``, ignoring case: exactly customer_name__icontains.

    On PostgreSQL, when the names of only a few customers match, the same entries are asked for by those
    customers' tenant ids (and by the name too if a tenant's entries also carry a name that does not
    match, as after a rename), so that a page walks activity_tenant_time_idx in time order and stops
    after one page. When many customers match, the name alone: walking the time index finds a page soon.
    """
    contains = Q(customer_name__icontains=text)
    if not db.has_customer_names_table():
        return contains
    found = customers_named(text)
    if found is None:
        return contains
    tenants = Q(customer_tenant_id__in=list(found))
    return tenants if all(found.values()) else tenants & contains


def customers_named(text: str) -> dict[uuid.UUID, bool] | None:
    """The tenant ids whose entries carry a name containing ``text`` (PostgreSQL), each with whether
    every name its entries carry contains it; None when more than FEW_CUSTOMERS match, or when a
    matching name has no tenant id.

    Read from activitylog_customer_name (migration 0007), every (tenant id, name) pair in the log.
    """
    pattern = "%" + connection.ops.prep_for_like_query(text) + "%"
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT m.customer_tenant_id,
                      (SELECT bool_and(upper(o.customer_name::text) LIKE upper(%s))
                       FROM activitylog_customer_name o WHERE o.customer_tenant_id = m.customer_tenant_id)
               FROM (SELECT DISTINCT customer_tenant_id FROM activitylog_customer_name
                     WHERE upper(customer_name::text) LIKE upper(%s)) m
               LIMIT %s""",
            [pattern, pattern, FEW_CUSTOMERS + 1])
        rows = cursor.fetchall()
    if len(rows) > FEW_CUSTOMERS or any(tenant is None for tenant, _every in rows):
        return None
    return dict(rows)


def keyset_filter(cursor: str, *, older: bool) -> Q:
    """Entries strictly older (or newer) than the cursor "<ISO time>_<id>"; ValueError if malformed."""
    when, _sep, pk = cursor.rpartition("_")
    occurred_at = dt.datetime.fromisoformat(when)
    if occurred_at.tzinfo is None:
        raise ValueError("cursor time without a zone")
    try:
        occurred_at = occurred_at.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("cursor time out of range") from None
    pk = int(pk)
    lookup = "lt" if older else "gt"
    # The first, redundant bound lets the database start its index scan at the cursor, however deep.
    bound = Q(occurred_at__lte=occurred_at) if older else Q(occurred_at__gte=occurred_at)
    return bound & (Q(**{f"occurred_at__{lookup}": occurred_at})
                    | Q(occurred_at=occurred_at, **{f"id__{lookup}": pk}))


def cursor_for(entry) -> str:
    return f"{entry.occurred_at.isoformat()}_{entry.pk}"
