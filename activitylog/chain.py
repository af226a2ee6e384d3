"""The activity log's hash chain: what each entry's SHA-256 covers, how it is written, how it is checked.

Each entry stores ``entry_hash = SHA-256(prev_hash + canonical content)``, where ``prev_hash`` is the
previous entry's hash in id order (``GENESIS`` for the first entry, or the purge anchor's hash once older
entries were purged). The canonical content is JSON with sorted keys and no spaces, the time in UTC with
microseconds and the JSON values normalised through a JSON round trip, so that the same entry read back
from PostgreSQL or SQLite serialises to the same bytes. A field added to the content later (see
OPTIONAL_CONTENT_FIELDS) is left out while null, so entries hashed before it existed still verify.

Writers take one lock (a transaction-level advisory lock on PostgreSQL; SQLite has one writer anyway),
read the chain head, stamp the time and insert while holding it. So id order is time order is chain order
is commit order: a reader paging by (time, id) never sees an entry appear behind it.
"""

import datetime as dt
import hashlib
import ipaddress
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.utils import timezone

GENESIS = "0" * 64
# pg_advisory_xact_lock key shared by every writer of the log and by the purge ("ACTLOG" in ASCII).
LOCK_KEY = 0x4143544C4F47

# The fields the hash covers, in the order verify reads them. The id is not among them: an entry's place
# in the chain is fixed by the previous entry's hash, which it covers.
CONTENT_FIELDS = (
    "occurred_at", "action", "status", "failure_reason", "actor_id", "actor_email", "customer_id",
    "customer_name", "customer_tenant_id", "resource_type", "resource_id", "old_value", "new_value",
    "source", "request_id", "correlation_id", "client_ip",
)
# Fields added after entries were already chained: covered only when not null, so that every entry
# written before a field existed (or without it) keeps the hash it was given.
OPTIONAL_CONTENT_FIELDS = ("failure_messages",)
HASHED_FIELDS = CONTENT_FIELDS + OPTIONAL_CONTENT_FIELDS


def normalised_json(value):
    """A JSON value as it reads back from the database: tuples become lists, UUIDs strings, and so on."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def utc_text(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical(content: dict) -> str:
    """The bytes an entry's hash covers, the same whether the values came from Python or the database."""
    tenant = content["customer_tenant_id"]
    ip = content["client_ip"]
    fields = {
        **content,
        "occurred_at": utc_text(content["occurred_at"]),
        "customer_tenant_id": str(uuid.UUID(str(tenant))) if tenant else None,
        "client_ip": str(ipaddress.ip_address(ip)) if ip else None,
        "old_value": normalised_json(content["old_value"]),
        "new_value": normalised_json(content["new_value"]),
        "resource_id": str(content["resource_id"]),
    }
    for field in OPTIONAL_CONTENT_FIELDS:
        value = normalised_json(content.get(field))
        if value is None:
            fields.pop(field, None)
        else:
            fields[field] = value
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      cls=DjangoJSONEncoder)


def digest(prev_hash: str, content: dict) -> str:
    return hashlib.sha256((prev_hash + canonical(content)).encode()).hexdigest()


def content_of(entry) -> dict:
    # getattr's default: a migration's historical model may predate an optional field.
    return {field: getattr(entry, field, None) for field in HASHED_FIELDS}


def lock_and_read_head(using: str) -> str:
    """Take the log's write lock for the rest of the transaction and return the chain head's hash."""
    from .models import ActivityLogAnchor, ActivityLogEntry

    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A statement of its own: the head is read after the lock is granted, in a fresh snapshot.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        elif connection.vendor == "sqlite":
            # Take SQLite's one write lock before reading the head (a no-op write), not at the insert.
            cursor.execute("UPDATE sqlite_sequence SET seq = seq WHERE name = %s",
                           [ActivityLogEntry._meta.db_table])
    head = (ActivityLogEntry.objects.using(using).order_by("-id")
            .values_list("entry_hash", flat=True).first())
    if head is None:
        head = (ActivityLogAnchor.objects.using(using).order_by("-last_purged_id")
                .values_list("last_purged_hash", flat=True).first())
    return head or GENESIS


def chain(entries: Iterable, using: str) -> None:
    """Stamp and link unsaved entries, in order. The caller holds a transaction open until they are saved."""
    prev_hash = lock_and_read_head(using)
    now = timezone.now()
    for entry in entries:
        if entry.occurred_at is None:
            entry.occurred_at = now
        entry.prev_hash = prev_hash
        entry.entry_hash = prev_hash = digest(prev_hash, content_of(entry))


@dataclass(frozen=True)
class Break:
    """The first link that does not hold, in words an auditor can act on."""

    entry_id: int
    kind: str  # "altered", "removed", "inserted"
    detail: str

    def __str__(self) -> str:
        return f"entry {self.entry_id}: {self.kind}: {self.detail}"


@dataclass
class Walk:
    checked: int = 0
    head: str = GENESIS
    head_id: int | None = None
    anchor_id: int | None = None
    broken: Break | None = None


def walk(rows: Iterator[tuple], start_hash: str, anchor_id: int | None) -> Walk:
    """Check rows of (id, prev_hash, entry_hash, *HASHED_FIELDS) in id order, stopping at the first break.

    A row whose own content does not give its hash was altered (or forged with a wrong hash). A row whose
    ``prev_hash`` is not its predecessor's hash follows a removal, unless it links to the entry before its
    predecessor, in which case that predecessor was inserted.
    """
    result = Walk(head=start_hash, anchor_id=anchor_id)
    expected, before_previous, previous_id = start_hash, None, anchor_id
    for entry_id, prev_hash, entry_hash, *values in rows:
        if digest(prev_hash, dict(zip(HASHED_FIELDS, values, strict=True))) != entry_hash:
            result.broken = Break(entry_id, "altered",
                                  "its content or stored hashes were changed after it was written")
            return result
        if prev_hash != expected:
            if before_previous is not None and prev_hash == before_previous:
                result.broken = Break(previous_id, "inserted", "it does not belong between the entry "
                                                               f"before it and entry {entry_id}")
            elif previous_id is None:
                result.broken = Break(entry_id, "removed",
                                      "it does not start the chain: the entries before it were removed")
            else:
                result.broken = Break(entry_id, "removed",
                                      f"one or more entries between entry {previous_id} and it were removed")
            return result
        before_previous, expected, previous_id = expected, entry_hash, entry_id
        result.checked += 1
        result.head, result.head_id = entry_hash, entry_id
    return result


def verify(using: str = "default", chunk_size: int = 5000) -> Walk:
    """Walk the whole chain in id order, in constant memory (a server-side cursor on PostgreSQL)."""
    from .models import ActivityLogAnchor, ActivityLogEntry

    anchor = (ActivityLogAnchor.objects.using(using).order_by("-last_purged_id")
              .values_list("last_purged_id", "last_purged_hash").first())
    anchor_id, start = anchor if anchor else (None, GENESIS)
    rows = (ActivityLogEntry.objects.using(using).order_by("id")
            .values_list("id", "prev_hash", "entry_hash", *HASHED_FIELDS)
            .iterator(chunk_size=chunk_size))
    return walk(rows, start, anchor_id)
