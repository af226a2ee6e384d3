"""Queueing a change for Microsoft: called by a service inside its own transaction."""

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import OutboxChange

if TYPE_CHECKING:
    from activitylog.services import Origin
    from customers.models import Customer
    from portal.models import Agent


def change_key(kind: str, customer: "Customer | None", subject: str = "") -> str:
    return f"{kind}:{customer.tenant_id if customer is not None else '-'}:{subject}"


def enqueue(*, kind: str, customer: "Customer | None", desired: Any, origin: "Origin",
            actor: "Agent | None" = None, subject: str = "") -> OutboxChange:
    """Queue ``desired`` for Microsoft, in the caller's transaction (the decision and the change commit
    together, or neither). Waiting changes of the same key that no worker is applying are superseded:
    the worker applies the latest desired state once.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("enqueue() belongs inside the service's transaction.")
    now = timezone.now()
    key = change_key(kind, customer, subject)
    change = OutboxChange.objects.create(
        kind=kind, key=key, customer=customer, desired=desired, available_at=now,
        correlation_id=(origin.correlation_id or origin.request_id)[:100],
        actor=actor, actor_email=actor.email if actor is not None else "")
    OutboxChange.objects.filter(key=key, state=OutboxChange.State.WAITING, id__lt=change.id).filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    ).update(state=OutboxChange.State.SUPERSEDED, superseded_by=change, updated_at=now)
    transaction.on_commit(_wake_worker)
    return change


_wakers: list = []


def on_enqueue(fn) -> None:
    """Called after the commit of a transaction that queued changes (the worker's task enqueues itself)."""
    if fn not in _wakers:
        _wakers.append(fn)


def _wake_worker() -> None:
    for fn in _wakers:
        fn()


def retry(change: OutboxChange) -> None:
    """Put a change that was not applied back in the queue, with its own MS-RequestId (Microsoft never
    applied it), its attempts counted afresh. In the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("retry() belongs inside the service's transaction.")
    OutboxChange.objects.filter(pk=change.pk).update(
        state=OutboxChange.State.WAITING, attempts=0, available_at=timezone.now(), leased_by="",
        leased_until=None, blocked=False)
    transaction.on_commit(_wake_worker)
