"""The one write path into the activity log."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest

from .models import Action, ActivityLogEntry, Source, Status

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


def record(
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
) -> ActivityLogEntry:
    """Append one entry. Callers write it in the same transaction as the change it describes."""
    return ActivityLogEntry.objects.create(
        action=action,
        status=status,
        failure_reason=failure_reason,
        actor=actor,
        actor_email=actor.email if actor is not None else "",
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


def refusal_reason(exc: PermissionDenied | ValidationError) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(str(message) for message in exc.messages)
    return str(exc) or "Permission denied."


@dataclass
class Attempt:
    """What a refused operation leaves in the log; the service narrows it as it learns more."""

    customer: "Customer | None"
    entries: list[dict]


@contextmanager
def refusals_recorded(
    *, actor: "Agent", origin: Origin, customer: "Customer | None" = None, **entry: Any
) -> Iterator[Attempt]:
    """Record a refused write as Failed, in its own transaction, after the change rolled back.

    The keyword arguments describe the one entry a refusal writes; a service that may refuse
    several things at once replaces ``attempt.entries``.
    """
    attempt = Attempt(customer=customer, entries=[entry] if entry else [])
    try:
        yield attempt
    except (PermissionDenied, ValidationError) as exc:
        reason = refusal_reason(exc)
        with transaction.atomic():
            for failed in attempt.entries:
                record(
                    actor=actor,
                    origin=origin,
                    customer=attempt.customer,
                    status=Status.FAILED,
                    failure_reason=reason,
                    **failed,
                )
        raise
