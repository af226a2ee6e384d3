"""Partner Center's own activity log, imported into the portal's (issue 11 step 6, MICROSOFT.md §4.3).

Partner Center keeps audit records for 90 days and answers at most 30 days a query. Each import walks from
the high-water mark (AuditImportState.imported_through: every day up to it was imported whole) to today, in
windows of at most MICROSOFT_AUDIT_WINDOW_DAYS (never more than 30) days, re-reading the mark's day and the
day before it for records that land late. The first import, and one after more than 90 days without any,
starts OLDEST_DAY days back, the oldest start Partner Center accepts.

Each window is fetched whole first (client.audit_records, following the continuation token), then written in
one transaction: the ids of its records not seen before (ImportedAuditRecord, unique, so a rerun after a
crash, or two imports at once, never writes one twice), the mark moved to the window's last day, and, last,
one activity log entry per new record, source Partner Center, through the log's own entry() and
bulk_create (stamped and chained like any entry). A page Microsoft spoils (an HTML page, cut JSON, a missing
items list) fails its window after the client's retries: nothing of that window is written, the run keeps
the error (the connection page shows it) and the next import starts at that window again.

An entry keeps the record as Partner Center wrote it: operationType as its action (a type the portal does
not know is kept as it comes), operationStatus as its status, the user, the customer (linked when the
portal knows the tenant), resource type, old and new values (JSON text parsed; text that is not JSON kept as
text), originalCorrelationId as its correlation id, and everything else (id, operationDate, applicationId,
customizedData, ...) in its source_record. Its time is when the portal recorded it (the chain never goes
back in time); Partner Center's operationDate is in source_record. Entries are kept as long as the
portal's own retention (ACTIVITY_LOG_RETENTION_DAYS) says, whatever Partner Center's 90 days.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from activitylog.models import ActivityLogEntry, Source
from activitylog.services import Origin, entry
from customers.models import Customer

from .client import PARTNER_CENTER, CredentialsRefused, MicrosoftClient, MicrosoftError, Stats, new_session
from .credentials import mark_needs_reconnecting
from .models import AuditImportRun, AuditImportState, ImportedAuditRecord
from .tokens import Tokens

logger = logging.getLogger(__name__)

MAX_WINDOW_DAYS = 30      # Partner Center answers at most 30 days a query
OLDEST_DAY = 89           # today - 89 days: the oldest start date inside Partner Center's 90 days
OVERLAP_DAYS = 1          # the day before the mark is read again too: records land a little late
PAGE_SIZE = 500
WRITE_CHUNK = 2000        # entries chained and inserted at a time, inside the window's transaction
FORGET_AFTER = timedelta(days=120)   # ids of records Partner Center can no longer return
# The record's fields that the entry's own columns hold (each kept in source_record too when it did not fit).
COLUMNS = {"operationType": 64, "operationStatus": 16, "userPrincipalName": 254, "customerName": 200,
           "resourceType": 64, "originalCorrelationId": 64}
MAPPED = {"customerId", "resourceOldValue", "resourceNewValue", *COLUMNS}
DROPPED = {"attributes"}   # {"objectType": "AuditRecord"} on every record


@dataclass(frozen=True)
class Record:
    """One audit record, reduced to what the log keeps (so that a 30-day window stays small in memory)."""

    record_id: str
    operation_date: datetime | None
    fields: dict


@dataclass
class ImportResult:
    run: AuditImportRun
    windows: list[tuple[date, date]] = field(default_factory=list)
    pages: int = 0
    fetched: int = 0
    imported: int = 0
    duplicates: int = 0
    skipped: int = 0
    stats: Stats = field(default_factory=Stats)
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        return self.run.outcome


# --------------------------------------------------------------------------------------------- windows
def window_days() -> int:
    days = int(getattr(settings, "MICROSOFT_AUDIT_WINDOW_DAYS", MAX_WINDOW_DAYS))
    return max(1, min(MAX_WINDOW_DAYS, days))


def windows(start: date, end: date, days: int | None = None) -> list[tuple[date, date]]:
    """[start, end] cut into consecutive windows of at most ``days`` days (both ends included)."""
    days = days or window_days()
    found, day = [], start
    while day <= end:
        last = min(end, day + timedelta(days=days - 1))
        found.append((day, last))
        day = last + timedelta(days=1)
    return found


def plan(today: date, imported_through: date | None, *, days: int | None = None) -> tuple[date, date | None]:
    """The first day to import and the first day lost (None: none) when the import was down too long."""
    oldest = today - timedelta(days=OLDEST_DAY)
    if days is not None:
        return max(oldest, today - timedelta(days=max(1, days) - 1)), None
    if imported_through is None:
        return oldest, None
    start = imported_through - timedelta(days=OVERLAP_DAYS)
    if start < oldest:
        return oldest, imported_through + timedelta(days=1)
    return min(start, today), None


# --------------------------------------------------------------------------------------------- parsing
def _json_value(value):
    """resourceOldValue / resourceNewValue: JSON text, parsed; other text kept as the text it is."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value


def _when(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = parse_datetime(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.utc)
    return moment


def _record_id(item: dict) -> str:
    """Partner Center's id; a record without one is known by its content (the same record, the same id)."""
    given = item.get("id")
    if isinstance(given, str | int) and not isinstance(given, bool) and str(given).strip():
        return str(given).strip()[:200]
    text = json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def parse(item) -> Record | None:
    """One audit record as the log keeps it; None for what is not a record at all (not a JSON object)."""
    if not isinstance(item, dict):
        return None
    record_id = _record_id(item)
    columns = {}
    kept = {key: value for key, value in item.items() if key not in MAPPED and key not in DROPPED}
    for key, limit in COLUMNS.items():
        value = item.get(key)
        text = "" if value is None else (value if isinstance(value, str) else json.dumps(value))
        columns[key] = text[:limit]
        if len(text) > limit or (value is not None and not isinstance(value, str)):
            kept[key] = value   # the whole of it, as it came
    tenant = None
    if item.get("customerId"):
        try:
            tenant = uuid.UUID(str(item["customerId"]))
        except ValueError:
            kept["customerId"] = item["customerId"]
    kept["id"] = item["id"] if item.get("id") not in (None, "") else record_id
    fields = {
        "action": columns["operationType"] or "undefined",
        "status": columns["operationStatus"].lower(),
        "actor_email": columns["userPrincipalName"],
        "customer_name": columns["customerName"],
        "customer_tenant_id": tenant,
        "resource_type": columns["resourceType"],
        "old_value": _json_value(item.get("resourceOldValue")),
        "new_value": _json_value(item.get("resourceNewValue")),
        "correlation_id": columns["originalCorrelationId"],
        "source_record": kept,
    }
    return Record(record_id=record_id, operation_date=_when(item.get("operationDate")), fields=fields)


def origin_of(run: AuditImportRun) -> Origin:
    return Origin(source=Source.PARTNER_CENTER, request_id=f"partner-center-audit-import-{run.pk}")


def log_entry(record: Record, customer_pk: int | None, origin: Origin) -> ActivityLogEntry:
    """The record's activity log entry, not yet written (made by the log's own entry())."""
    fields = record.fields
    made = entry(action=fields["action"], actor=None, origin=origin, resource_type=fields["resource_type"],
                 old_value=fields["old_value"], new_value=fields["new_value"], status=fields["status"],
                 performer=fields["actor_email"])
    made.customer_id = customer_pk
    made.customer_name = fields["customer_name"]
    made.customer_tenant_id = fields["customer_tenant_id"]
    made.correlation_id = fields["correlation_id"]
    made.source_record = fields["source_record"]
    return made


# --------------------------------------------------------------------------------------------- one run
def fetch(client: MicrosoftClient, start: date, end: date, result: ImportResult) -> list[Record]:
    """Every record of one window, each once; raises MicrosoftError for a page that cannot be used."""
    found: dict[str, Record] = {}
    before = client.stats.requests
    for item in client.audit_records(start, end, size=PAGE_SIZE):
        record = parse(item)
        if record is None:
            result.skipped += 1
            continue
        found.setdefault(record.record_id, record)
    result.pages += client.stats.requests - before
    return list(found.values())


def write(records: list[Record], end: date, origin: Origin) -> tuple[int, int]:
    """One window in one transaction: the new records' ids, the mark, then their entries. (new, seen)."""
    with transaction.atomic():
        state = AuditImportState.objects.select_for_update(no_key=True, of=("self",)).get(pk=1)
        ids = [record.record_id for record in records]
        seen = set()
        for start in range(0, len(ids), WRITE_CHUNK):
            seen.update(ImportedAuditRecord.objects.filter(record_id__in=ids[start:start + WRITE_CHUNK])
                        .values_list("record_id", flat=True))
        new = [record for record in records if record.record_id not in seen]
        tenants = {record.fields["customer_tenant_id"] for record in new} - {None}
        customers = dict(Customer.objects.filter(tenant_id__in=tenants).values_list("tenant_id", "pk")) \
            if tenants else {}
        ImportedAuditRecord.objects.bulk_create(
            [ImportedAuditRecord(record_id=record.record_id, operation_date=record.operation_date)
             for record in new], batch_size=WRITE_CHUNK)
        if state.imported_through is None or state.imported_through < end:
            state.imported_through = end
            state.save(update_fields=["imported_through"])
        for start in range(0, len(new), WRITE_CHUNK):   # the log's entries last: its lock is held to commit
            ActivityLogEntry.objects.bulk_create(
                [log_entry(record, customers.get(record.fields["customer_tenant_id"]), origin)
                 for record in new[start:start + WRITE_CHUNK]])
    return len(new), len(seen)


def _fail(run: AuditImportRun, exc: Exception, window: tuple[date, date] | None) -> None:
    run.message = str(exc)[:2000] or type(exc).__name__
    if window is not None:
        run.failed_window_start, run.failed_window_end = window
    if isinstance(exc, MicrosoftError):
        run.error_code, run.request_id = exc.code[:100], exc.request_id[:100]
        run.status_code = exc.status


def run_import(*, days: int | None = None, client: MicrosoftClient | None = None,
               today: date | None = None) -> ImportResult:
    """Import what Partner Center has that the portal has not (the last ``days`` days when given)."""
    started = time.monotonic()
    run = AuditImportRun.objects.create(started_at=timezone.now())
    own_client = client is None
    if own_client:
        stats = Stats()
        session = new_session(stats)
        client = MicrosoftClient(tokens=Tokens(session=session), stats=stats, session=session)
    result = ImportResult(run=run, stats=client.stats)
    requests_before = client.stats.requests
    today = today or timezone.now().date()
    state = AuditImportState.get()
    start, lost_from = plan(today, state.imported_through, days=days)
    result.windows = windows(start, today)
    current = None
    origin = origin_of(run)
    try:
        # The token first, so that each window's requests are its pages (and retries of them).
        client.tokens.app_only(client.tokens.partner_tenant, PARTNER_CENTER)
        for current in result.windows:
            records = fetch(client, *current, result)
            result.fetched += len(records)
            try:
                new, seen = write(records, current[1], origin)
            except IntegrityError:   # another import wrote some of these between our check and insert
                new, seen = write(records, current[1], origin)
            result.imported += new
            result.duplicates += seen
        current = None
        ImportedAuditRecord.objects.filter(operation_date__lt=timezone.now() - FORGET_AFTER).delete()
        run.outcome = AuditImportRun.Outcome.SUCCEEDED
    except CredentialsRefused as exc:
        mark_needs_reconnecting(str(exc))
        _fail(run, exc, current)
        run.outcome = AuditImportRun.Outcome.NEEDS_RECONNECTING
    except (MicrosoftError, DatabaseError) as exc:
        logger.warning("Partner Center audit import: window %s: %s", current, exc)
        _fail(run, exc, current)
        run.outcome = AuditImportRun.Outcome.FAILED
    except Exception as exc:   # a shape nobody foresaw: kept on the run, never a crash of the worker
        logger.exception("Partner Center audit import failed")
        _fail(run, RuntimeError(f"Unexpected {type(exc).__name__}: {exc}"), current)
        run.outcome = AuditImportRun.Outcome.FAILED
    finally:
        if own_client:
            client.tokens.save_rotated()
            client.close()
    result.seconds = time.monotonic() - started
    run.finished_at = timezone.now()
    run.imported_through = AuditImportState.get().imported_through
    run.counts = {"windows": len(result.windows), "windowsDone": _done(result, run), "pages": result.pages,
                  "fetched": result.fetched, "imported": result.imported, "duplicates": result.duplicates,
                  "skipped": result.skipped, "requests": client.stats.requests - requests_before,
                  "seconds": round(result.seconds, 3),
                  "from": result.windows[0][0].isoformat() if result.windows else None,
                  "lostFrom": lost_from.isoformat() if lost_from else None}
    run.save()
    return result


def _done(result: ImportResult, run: AuditImportRun) -> int:
    if run.failed_window_start is None:
        return len(result.windows) if run.outcome == AuditImportRun.Outcome.SUCCEEDED else 0
    return [window[0] for window in result.windows].index(run.failed_window_start)


# ------------------------------------------------------------------------------- the connection page
RECENT_RUNS = 5


def audit_import_context() -> dict:
    """What the Microsoft connection page shows of the import: the mark, the last runs, the last error."""
    runs = list(AuditImportRun.objects.all()[:RECENT_RUNS])
    finished = [run for run in runs if run.finished_at is not None]
    # The last finished run's error, until a later run succeeds.
    error = finished[0] if finished and finished[0].outcome != AuditImportRun.Outcome.SUCCEEDED else None
    return {"audit_import": AuditImportState.objects.filter(pk=1).first(), "audit_runs": runs,
            "audit_error": error, "audit_hours": settings.MICROSOFT_AUDIT_IMPORT_HOURS}
