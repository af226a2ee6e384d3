"""The activity log's hash chain: what each entry's SHA-256 covers, how it is written, how it is checked.

Each entry stores ``entry_hash = SHA-256(prev_hash + canonical content)``, where ``prev_hash`` is the
previous entry's hash in id order (``GENESIS`` for the first entry, or the purge anchor's hash once older
entries were purged). The canonical content is JSON with sorted keys and no spaces, the time in UTC with
microseconds and the JSON values normalised through a JSON round trip, so that the same entry read back
from PostgreSQL or SQLite serialises to the same bytes. A field added to the content later (see
OPTIONAL_CONTENT_FIELDS) is left out while null, so entries hashed before it existed still verify.

Writers take one lock (a transaction-level advisory lock on PostgreSQL; SQLite has one writer anyway),
read the chain head, stamp the time and insert while holding it. So id order is time order is chain order
is commit order: a reader paging by (time, id) never sees an entry appear behind it. The time stamped is
never before the head's, even if this server's clock is behind another's, so verify can refuse time going
backwards along ids.

Since migration 0008 the hash is keyed: ``entry_hash = HMAC-SHA256(key, prev_hash + canonical content)``
with a key from the environment (settings.ACTIVITY_LOG_KEYS) that the database never sees, and the entry
keeps the key's id (``hmac_key_id``) so that keys can rotate. A role that may insert rows (the
application's own must) can still write a row that links to the head, but not one that verifies. Entries
written before the key existed have an empty key id and a plain SHA-256; they verify as before and are
reported as unkeyed, and an unkeyed entry after a keyed one is refused.
"""

import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
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
OPTIONAL_CONTENT_FIELDS = ("failure_messages", "source_record")
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


def digest(prev_hash: str, content: dict, key: bytes | None = None) -> str:
    """The entry's hash: HMAC-SHA256 with ``key``, or plain SHA-256 (``key=None``) as before keys existed."""
    message = (prev_hash + canonical(content)).encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def keys() -> dict[str, bytes]:
    """Every key that may have signed an entry, by id (the signing key and the retired ones)."""
    return {key_id: secret.encode() for key_id, secret in settings.ACTIVITY_LOG_KEYS.items()}


def signing_key() -> tuple[str, bytes]:
    """The id and secret that sign new entries."""
    return settings.ACTIVITY_LOG_KEY_ID, settings.ACTIVITY_LOG_KEYS[settings.ACTIVITY_LOG_KEY_ID].encode()


def content_of(entry) -> dict:
    # getattr's default: a migration's historical model may predate an optional field.
    return {field: getattr(entry, field, None) for field in HASHED_FIELDS}


@dataclass(frozen=True)
class Head:
    entry_hash: str
    occurred_at: dt.datetime | None


def lock_and_read_head(using: str) -> Head:
    """Take the log's write lock for the rest of the transaction and return the chain head."""
    from . import db
    from .models import ActivityLogAnchor, ActivityLogEntry

    db.lock_log(connections[using])
    head = (ActivityLogEntry.objects.using(using).order_by("-id")
            .values_list("entry_hash", "occurred_at").first())
    if head is not None:
        return Head(*head)
    anchor = (ActivityLogAnchor.objects.using(using).order_by("-last_purged_id")
              .values_list("last_purged_hash", flat=True).first())
    return Head(anchor or GENESIS, None)


def chain(entries: Iterable, using: str) -> None:
    """Stamp, link and sign unsaved entries, in order. The caller holds a transaction open until they
    are saved."""
    head = lock_and_read_head(using)
    key_id, key = signing_key()
    now = timezone.now()
    if head.occurred_at is not None and head.occurred_at > now:
        # Another server's clock is ahead of ours: never stamp an entry before the one it follows.
        now = head.occurred_at
    prev_hash = head.entry_hash
    for entry in entries:
        if entry.occurred_at is None:
            entry.occurred_at = now
        entry.prev_hash = prev_hash
        entry.hmac_key_id = key_id
        entry.entry_hash = prev_hash = digest(prev_hash, content_of(entry), key)


@dataclass(frozen=True)
class Break:
    """The first link that does not hold, in words an auditor can act on."""

    entry_id: int
    kind: str  # "altered", "removed", "inserted", "unkeyed", "unknown key", "back-dated"
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
    # Entries written before the key existed (no key id, plain SHA-256): how many, and the last one's id.
    unkeyed: int = 0
    last_unkeyed_id: int | None = None
    keyed: dict[str, int] = dataclasses.field(default_factory=dict)


# What verify reads of each entry, in this order.
ROW_FIELDS = ("id", "prev_hash", "entry_hash", "hmac_key_id", *HASHED_FIELDS)


def walk(rows: Iterator[tuple], start_hash: str, anchor_id: int | None,
         known_keys: dict[str, bytes]) -> Walk:
    """Check rows of ROW_FIELDS in id order, stopping at the first break.

    A row whose own content does not give its hash under its key was altered, or forged by someone
    without the key. A row whose ``prev_hash`` is not its predecessor's hash follows a removal, unless it
    links to the entry before its predecessor, in which case that predecessor was inserted. A keyed row
    stamped before the row before it was back-dated: writers stamp the time under the log's lock. An
    unkeyed row after a keyed one was written without the key.
    """
    result = Walk(head=start_hash, anchor_id=anchor_id)
    expected, before_previous, previous_id, previous_time = start_hash, None, anchor_id, None
    for entry_id, prev_hash, entry_hash, key_id, *values in rows:
        content = dict(zip(HASHED_FIELDS, values, strict=True))
        if key_id and key_id not in known_keys:
            result.broken = Break(entry_id, "unknown key", f"it names the key {key_id!r}, which is neither "
                                  "ACTIVITY_LOG_KEY_ID nor in ACTIVITY_LOG_RETIRED_KEYS")
            return result
        if not key_id and result.keyed:
            result.broken = Break(entry_id, "unkeyed", "it carries no key while entries before it do: "
                                                       "it was written by someone without the key")
            return result
        if digest(prev_hash, content, known_keys[key_id] if key_id else None) != entry_hash:
            result.broken = Break(entry_id, "altered", "its content or stored hashes were changed after it "
                                                       "was written, or it was written without the key")
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
        occurred_at = content["occurred_at"]
        if key_id and previous_time is not None and occurred_at < previous_time:
            result.broken = Break(entry_id, "back-dated", f"its time {utc_text(occurred_at)} is before "
                                  f"entry {previous_id}'s {utc_text(previous_time)}; entries are stamped "
                                  "in the order they are written")
            return result
        if key_id:
            result.keyed[key_id] = result.keyed.get(key_id, 0) + 1
        else:
            result.unkeyed += 1
            result.last_unkeyed_id = entry_id
        before_previous, expected, previous_id, previous_time = expected, entry_hash, entry_id, occurred_at
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
            .values_list(*ROW_FIELDS)
            .iterator(chunk_size=chunk_size))
    return walk(rows, start, anchor_id, keys())
