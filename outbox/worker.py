"""Applying queued changes in Microsoft: the handler registry, the lease and the retries.

A worker claims one due change under a lease (``select_for_update(skip_locked=True)`` on PostgreSQL and
a compare-and-set on the lease, so several workers on several machines never hold one change at once),
calls its kind's handler outside any transaction, and records the outcome in a transaction that first
locks the customer's row, as every write about a customer does. A worker that dies between Microsoft's
answer and that commit leaves the lease to expire; the next worker tries again with the same
``MS-RequestId``, which Microsoft recognises as a repeat, and handlers read before they write.
"""

import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from customers.services import lock_customer

from .models import OutboxChange

logger = logging.getLogger(__name__)
State = OutboxChange.State


# --- what a handler answers ---------------------------------------------------------------------------

@dataclass
class Applied:
    """Microsoft has the desired state; ``result`` is kept on the change (what it created, its etag…)."""

    result: dict = field(default_factory=dict)


@dataclass
class PollLater:
    """A long-running operation is under way (202 + Azure-AsyncOperation): look again in ``after`` s."""

    after: float = 5.0
    progress: dict = field(default_factory=dict)


class Failure(Exception):
    """Microsoft did not apply the change; its words, error code, request id and HTTP status."""

    def __init__(self, message: str, *, code: str = "", request_id: str = "", status: int | None = None,
                 after: float | None = None):
        super().__init__(message)
        self.message, self.code, self.request_id, self.status, self.after = (
            message, code, request_id, status, after)


class Retry(Failure):
    """Worth another attempt (429 after Retry-After ``after``, 5xx, a timeout, a dropped connection)."""


class Refused(Failure):
    """Microsoft refused the change for good: not applied at once, with its reason."""


class Blocked(Failure):
    """The connection to Microsoft needs a person (credentials refused): the queue waits, no attempt
    is spent, nothing is lost."""


@dataclass(frozen=True)
class Handler:
    apply: Callable[[OutboxChange], "Applied | PollLater"]
    # Called in the transaction that records the final outcome (applied or not applied): the kind's
    # log entry and its mirror rows, committed with the outcome.
    settled: Callable[[OutboxChange], None] | None = None


_registry: dict[str, Handler] = {}


def register_handler(kind: str, apply: Callable[[OutboxChange], "Applied | PollLater"], *,
                     settled: Callable[[OutboxChange], None] | None = None) -> None:
    _registry[kind] = Handler(apply=apply, settled=settled)


def unregister_handler(kind: str) -> None:
    _registry.pop(kind, None)


def registered_kinds() -> list[str]:
    return sorted(_registry)


# --- settings -------------------------------------------------------------------------------------

def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return _setting("OUTBOX_MAX_ATTEMPTS", 8)


def backoff(attempt: int) -> float:
    """Exponential, capped, with jitter (so workers retrying together spread out)."""
    base = _setting("OUTBOX_BACKOFF_SECONDS", 2.0)
    return min(_setting("OUTBOX_BACKOFF_MAX_SECONDS", 300.0), base * 2 ** max(0, attempt - 1)) * \
        random.uniform(0.5, 1.5)  # noqa: S311


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- the lease ---------------------------------------------------------------------------------------

def due(now: datetime | None = None):
    """Changes a worker may take now: waiting, due, not leased, and the oldest waiting one of their key."""
    now = now or timezone.now()
    older = OutboxChange.objects.filter(key=OuterRef("key"), state=State.WAITING, id__lt=OuterRef("id"))
    return (OutboxChange.objects.filter(state=State.WAITING, available_at__lte=now,
                                        kind__in=list(_registry))
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .exclude(Exists(older)))


def claim(worker: str, *, now: datetime | None = None) -> OutboxChange | None:
    """Lease one due change to ``worker`` (one attempt), or None when nothing is due."""
    now = now or timezone.now()
    lease = timedelta(seconds=_setting("OUTBOX_LEASE_SECONDS", 120))
    with transaction.atomic():
        candidates = due(now).order_by("available_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(no_key=True, of=("self",), skip_locked=True)
        change = candidates.first()
        if change is None:
            return None
        taken = OutboxChange.objects.filter(pk=change.pk, state=State.WAITING).filter(
            Q(leased_until__isnull=True) | Q(leased_until__lt=now)
        ).update(leased_by=worker, leased_until=now + lease, attempts=F("attempts") + 1)
        if not taken:
            return None
    change.refresh_from_db()
    return change


def _finish(change: OutboxChange, worker: str, *, settle: bool, **fields) -> bool:
    """Record an attempt's outcome, if the lease is still ours. Returns whether it was recorded."""
    with transaction.atomic():
        if change.customer_id is not None:
            lock_customer(change.customer)
        row = OutboxChange.objects.select_for_update(no_key=True, of=("self",)).get(pk=change.pk)
        if row.leased_by != worker:
            logger.warning("Outbox: change %s was taken over by %s; dropping our outcome", row.pk,
                           row.leased_by)
            return False
        for name, value in {**fields, "leased_by": "", "leased_until": None}.items():
            setattr(row, name, value)
        row.save()
        handler = _registry.get(row.kind)
        if settle and handler is not None and handler.settled is not None:
            handler.settled(row)
    change.__dict__.update(row.__dict__)
    return True


def _failure_fields(exc: Failure) -> dict:
    return {"error_message": exc.message[:2000], "error_code": exc.code[:100],
            "error_request_id": exc.request_id[:100], "error_status": exc.status}


def attempt(change: OutboxChange, worker: str) -> str:
    """One attempt at a claimed change; returns its state afterwards."""
    handler = _registry[change.kind]
    now = timezone.now
    try:
        outcome = handler.apply(change)
    except Blocked as exc:
        wait = exc.after if exc.after is not None else _setting("OUTBOX_BLOCKED_SECONDS", 60.0)
        _finish(change, worker, settle=False, blocked=True, attempts=max(0, change.attempts - 1),
                available_at=now() + timedelta(seconds=wait), **_failure_fields(exc))
    except Refused as exc:
        _finish(change, worker, settle=True, state=State.NOT_APPLIED, blocked=False, **_failure_fields(exc))
    except Exception as exc:  # Retry, or anything unexpected: bounded retries either way
        if not isinstance(exc, Retry):
            logger.exception("Outbox: change %s (%s) failed unexpectedly", change.pk, change.kind)
            exc = Retry(f"{type(exc).__name__}: {exc}")
        if change.attempts >= max_attempts():
            _finish(change, worker, settle=True, state=State.NOT_APPLIED, blocked=False,
                    **_failure_fields(exc))
        else:
            wait = exc.after if exc.after is not None else backoff(change.attempts)
            _finish(change, worker, settle=False, blocked=False,
                    available_at=now() + timedelta(seconds=wait), **_failure_fields(exc))
    else:
        if isinstance(outcome, PollLater):
            # Polling is not failing: it spends no attempt.
            _finish(change, worker, settle=False, blocked=False, progress=outcome.progress,
                    attempts=max(0, change.attempts - 1),
                    available_at=now() + timedelta(seconds=outcome.after))
        else:
            _finish(change, worker, settle=True, state=State.APPLIED, applied_at=now(), blocked=False,
                    result=outcome.result, error_message="", error_code="", error_request_id="",
                    error_status=None)
    return change.state


def remember(change: OutboxChange, **progress) -> None:
    """Keep what a handler learned during an attempt (what it is about to write), should the worker die
    before the attempt ends: the next attempt reads it in ``change.progress``."""
    change.progress = {**change.progress, **progress}
    OutboxChange.objects.filter(pk=change.pk, leased_by=change.leased_by).update(progress=change.progress)


def next_due() -> datetime | None:
    """When the earliest waiting change becomes due (for the worker's next wake-up)."""
    first = (OutboxChange.objects.filter(state=State.WAITING, kind__in=list(_registry))
             .order_by("available_at").values_list("available_at", flat=True).first())
    return first


def drain(*, worker: str | None = None, max_wait: float = 0.0, limit: int | None = None) -> int:
    """Apply what is due until nothing is; wait up to ``max_wait`` s for a change that becomes due
    soon (a Retry-After, a backoff). Returns the number of attempts made."""
    worker = worker or worker_name()
    attempts = 0
    deadline = time.monotonic() + max_wait
    while limit is None or attempts < limit:
        change = claim(worker)
        if change is not None:
            attempt(change, worker)
            attempts += 1
            continue
        upcoming = next_due()
        if upcoming is None:
            break
        wait = (upcoming - timezone.now()).total_seconds()
        if time.monotonic() + max(wait, 0) > deadline:
            break
        time.sleep(min(max(wait, 0.05), 1.0))
    return attempts
