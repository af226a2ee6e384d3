"""The one write path into the activity log."""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from . import chain, db
from .models import Action, ActivityLogAnchor, ActivityLogEntry, ResourceType, Source, Status

if TYPE_CHECKING:
    from customers.models import Customer
    from portal.models import Agent


@dataclass(frozen=True)
class Origin:
    """Where a write came from: the web, the API or a command, with the request's trace."""

    source: Source
    request_id: str = ""
    correlation_id: str = ""
    client_ip: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest, source: Source = Source.WEB) -> "Origin":
        return cls(
            source=source,
            request_id=getattr(request, "request_id", ""),
            correlation_id=getattr(request, "correlation_id", ""),
            client_ip=request.META.get("REMOTE_ADDR") or None,
        )

    @classmethod
    def system(cls, name: str = "") -> "Origin":
        return cls(source=Source.SYSTEM, request_id=name)


def entry(
    *,
    action: Action,
    actor: "Agent | None",
    origin: Origin,
    customer: "Customer | None" = None,
    resource_type: str = "",
    resource_id: str = "",
    old_value: Any = None,
    new_value: Any = None,
    status: Status = Status.SUCCEEDED,
    failure_reason: str = "",
    failure_messages: list[dict] | None = None,
    performer: str = "",
) -> ActivityLogEntry:
    """An entry not yet written: record() writes one, ``ActivityLogEntry.objects.bulk_create`` many.

    ``performer`` names who did it when no agent did (the Microsoft service a synchronised change came from).
    """
    return ActivityLogEntry(
        occurred_at=None,
        action=action,
        status=status,
        failure_reason=failure_reason,
        failure_messages=failure_messages,
        actor=actor,
        actor_email=actor.email if actor is not None else performer,
        customer=customer,
        customer_name=customer.company_name if customer is not None else "",
        customer_tenant_id=customer.tenant_id if customer is not None else None,
        resource_type=resource_type,
        resource_id=str(resource_id),
        old_value=old_value,
        new_value=new_value,
        source=origin.source,
        request_id=origin.request_id,
        correlation_id=origin.correlation_id,
        client_ip=origin.client_ip,
    )


def record(**fields: Any) -> ActivityLogEntry:
    """Append one entry (the fields as entry() takes them). Callers write it in the same transaction as
    the change it describes.

    The entry is stamped with the time and linked into the hash chain under the log's lock, which is held
    until the caller's transaction ends: keep the entry the last write of a transaction.
    """
    written = entry(**fields)
    written.save()
    return written


PERMISSION_DENIED = _("Permission denied.")


def refusal_reason(exc: PermissionDenied | ValidationError) -> str:
    """The refusal in English, whatever language the actor used: the log's language-neutral text."""
    with translation.override("en"):
        if isinstance(exc, ValidationError):
            return " ".join(str(message) for message in exc.messages)
        return str(_denial(exc))


def _denial(exc: PermissionDenied) -> Any:
    return exc.args[0] if exc.args and exc.args[0] else PERMISSION_DENIED


def refusal_messages(exc: PermissionDenied | ValidationError) -> list[dict]:
    """The refusal's messages, language-neutral, for showing later in the reader's language.

    A translatable (lazy) message is kept as its English msgid, unformatted, with its params: a lazy
    param (a role's label, say) as its English msgid too, named under "translate". Any other message
    is kept as the text it is: {"text": ...}.
    """
    if isinstance(exc, ValidationError):
        errors = (exc.error_list if not hasattr(exc, "error_dict")
                  else [error for errors in exc.error_dict.values() for error in errors])
        pairs = [(error.message, error.params or {}) for error in errors]
    else:
        pairs = [(_denial(exc), {})]
    with translation.override("en"):
        return [_neutral(message, params) for message, params in pairs]


def _neutral(message: Any, params: dict) -> dict:
    if not isinstance(message, Promise):
        return {"text": str(message % params if params else message)}
    stored: dict[str, Any] = {"message": str(message)}
    if params:
        stored["params"] = {key: str(value) if isinstance(value, Promise) else value
                            for key, value in params.items()}
        lazy = sorted(key for key, value in params.items() if isinstance(value, Promise))
        if lazy:
            stored["translate"] = lazy
    return stored


@dataclass
class Audit:
    """One service's write as the log tells it: described once, recorded as Succeeded or as Failed."""

    actor: "Agent | None"
    origin: Origin
    customer: "Customer | None"
    entry: dict[str, Any]
    # What a refusal logs, when it is not the one described entry (none, or several).
    refused: list[dict[str, Any]] | None = None

    def succeeded(self, **fields: Any) -> ActivityLogEntry:
        """Record the described entry, completed with what the service learned while acting.

        Call it as the last write of the service: the log's lock is held from here to the commit.
        """
        fields.setdefault("customer", self.customer)
        return record(actor=self.actor, origin=self.origin, **{**self.entry, **fields})

    def record_refusal(self, exc: PermissionDenied | ValidationError) -> None:
        """Record the refusal as Failed, once the refused work has rolled back."""
        reason, messages = refusal_reason(exc), refusal_messages(exc)
        # A transaction of its own, after the refused work rolled back: the refusal holds no row lock
        # while it waits for the log's lock, so it cannot deadlock with a writer (see README).
        with transaction.atomic(durable=True):
            for failed in [self.entry] if self.refused is None else self.refused:
                record(actor=self.actor, origin=self.origin, customer=self.customer,
                       status=Status.FAILED, failure_reason=reason, failure_messages=messages,
                       **failed)


@contextmanager
def audited(
    *, actor: "Agent | None", origin: Origin, customer: "Customer | None" = None, **entry: Any
) -> Iterator[Audit]:
    """A service's one transaction, with its activity log entry; a refusal is logged as Failed.

    The keyword arguments describe the entry (action, resource_type, resource_id, old_value,
    new_value): ``audit.succeeded(...)`` records it, completed, as the transaction's last write. A
    PermissionDenied or ValidationError raised inside rolls the change back, is recorded as Failed in
    a transaction of its own, and is raised again; a service that refuses several things at once sets
    ``audit.refused``. The transaction is durable: a service called inside a caller's transaction
    raises RuntimeError instead of letting its refusal roll back with the caller's work.
    """
    audit = Audit(actor=actor, origin=origin, customer=customer, entry=entry)
    try:
        with transaction.atomic(durable=True):
            yield audit
    except (PermissionDenied, ValidationError) as exc:
        audit.record_refusal(exc)
        raise


@dataclass(frozen=True)
class Purge:
    cutoff: dt.datetime
    purged: int
    anchor: ActivityLogAnchor | None
    entry: ActivityLogEntry


def purge(*, retention_days: int, now: dt.datetime | None = None) -> Purge:
    """Remove the entries older than the retention period and log the run, in one transaction.

    Only a prefix of the chain goes (the oldest entries, up to the first one inside the period), and the
    last removed entry's hash is kept as the anchor that the chain now starts from. On PostgreSQL the
    deletion is done by activitylog_purge(), the one path past the append-only triggers.
    """
    if retention_days < 0:
        raise ValueError("retention_days must not be negative")
    cutoff = (now or timezone.now()) - dt.timedelta(days=retention_days)
    with transaction.atomic():
        if db.purges_through_function():
            with connection.cursor() as cursor:
                cursor.execute("SELECT purged, last_id FROM activitylog_purge(%s)", [cutoff])
                purged, last_id = cursor.fetchone()
            anchor = ActivityLogAnchor.objects.filter(last_purged_id=last_id).first() if purged else None
        else:
            purged, anchor = _purge_without_triggers(cutoff)
        entry = record(
            action=Action.PURGE_ACTIVITY_LOG, actor=None, origin=Origin.system("purge_activity_log"),
            resource_type=ResourceType.ACTIVITY_LOG, old_value=None,
            new_value={
                "retention_days": retention_days,
                "cutoff": chain.utc_text(cutoff),
                "purged": purged,
                "anchor": None if anchor is None else {
                    "last_purged_id": anchor.last_purged_id, "last_purged_hash": anchor.last_purged_hash},
            },
        )
    return Purge(cutoff=cutoff, purged=purged, anchor=anchor, entry=entry)


def _purge_without_triggers(cutoff: dt.datetime) -> tuple[int, ActivityLogAnchor | None]:
    """What activitylog_purge() does, for databases without it (SQLite in development and tests)."""
    chain.lock_and_read_head(connection.alias)
    first_kept = (ActivityLogEntry.objects.filter(occurred_at__gte=cutoff).order_by("id")
                  .values_list("id", flat=True).first())
    older = ActivityLogEntry.objects.all()
    if first_kept is not None:
        older = older.filter(id__lt=first_kept)
    last = older.order_by("-id").values_list("id", "entry_hash").first()
    if last is None:
        return 0, None
    table = ActivityLogEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id <= %s", [last[0]])  # noqa: S608 (our table's name)
        purged = cursor.rowcount
    anchor = ActivityLogAnchor.objects.create(cutoff=cutoff, last_purged_id=last[0],
                                              last_purged_hash=last[1], purged_count=purged)
    return purged, anchor
