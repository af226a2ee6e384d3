"""A customer's SelfServePolicy, pushed to Partner Center through the outbox (MICROSOFT.md §3).

The worker applies the customer's latest desired state: it reads the policy first, then POSTs (none yet),
PUTs with the current etag (one exists) or DELETEs (nothing allowed), and recovers from what Partner
Center says: 409/600041 on POST → read, then PUT; 404/600039 on PUT → POST; 412 → read again and retry.
Every write carries the change's own MS-RequestId (the same on every retry) and the decision's
MS-CorrelationId. A read that finds the desired state already there writes nothing: after a worker died
between Partner Center's answer and our commit, the next attempt finds its own write done.
"""

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activitylog.models import Action, ResourceType, Source, Status
from activitylog.services import Origin, record
from outbox.models import OutboxChange
from outbox.worker import Applied, Blocked, Refused, Retry, register_handler, remember
from permissions.models import SELF_SERVE_POLICY_CHANGE, PartnerCenterPolicy, Resource, policy_permissions

from .client import (
    CredentialsRefused,
    MalformedResponse,
    MicrosoftClient,
    MicrosoftError,
    Stats,
    ThrottledError,
    UnavailableError,
    new_session,
)
from .credentials import mark_needs_reconnecting
from .tokens import Tokens

OPERATIONS = {
    "create": Action.CREATE_SELF_SERVE_POLICY,
    "update": Action.UPDATE_SELF_SERVE_POLICY,
    "delete": Action.DELETE_SELF_SERVE_POLICY,
}
ROUNDS = 4  # reads and writes within one attempt, while Partner Center's policy changes under us

def _client() -> MicrosoftClient:
    """A client of its own for each attempt: the stored credentials are read afresh."""
    stats = Stats()
    session = new_session(stats)
    return MicrosoftClient(tokens=Tokens(session=session), stats=stats, session=session)


def policy_id(tenant_id) -> str:
    return f"{settings.PARTNER_TENANT_ID}_{tenant_id}"


def resources_of(policy: dict | None) -> list[str]:
    """A policy's purchase permissions, in Resource order (unknown resources kept at the end)."""
    if not policy:
        return []
    found = {str(p.get("resource")) for p in policy.get("permissions") or []
             if isinstance(p, dict) and str(p.get("action", "")).lower() == "purchase"}
    return [r for r in Resource.values if r in found] + sorted(found - set(Resource.values))


def new_policy(tenant_id, resources) -> dict:
    return {"selfServeEntity": {"selfServeEntityType": "customer", "tenantID": str(tenant_id)},
            "grantor": {"grantorType": "billToPartner", "tenantID": settings.PARTNER_TENANT_ID},
            "permissions": policy_permissions(resources)}


def _is(exc: MicrosoftError, status: int, code: str | None = None) -> bool:
    return exc.status == status and (code is None or exc.code == code)


def apply(change: OutboxChange) -> Applied:
    return applying(_push, change)


def applying(push, change: OutboxChange):
    """``push(client, change)`` with a client of its own, Microsoft's answers turned into the outbox's
    outcomes (the readiness steps use it too, microsoft/steps.py)."""
    client = _client()
    try:
        return push(client, change)
    except CredentialsRefused as exc:
        mark_needs_reconnecting(str(exc))
        raise Blocked(str(exc), code=exc.code, request_id=exc.request_id, status=exc.status) from None
    except ThrottledError as exc:
        raise Retry(str(exc), code=exc.code or "429", request_id=exc.request_id, status=429,
                    after=exc.retry_after) from None
    except (UnavailableError, MalformedResponse) as exc:
        raise Retry(str(exc), code=exc.code, request_id=exc.request_id, status=exc.status) from None
    except MicrosoftError as exc:
        kind = Retry if exc.status in (None, 401, 408) or (exc.status or 0) >= 500 else Refused
        raise kind(str(exc), code=exc.code, request_id=exc.request_id, status=exc.status) from None
    finally:
        client.tokens.save_rotated()
        client.close()


def _push(client: MicrosoftClient, change: OutboxChange) -> Applied:
    tenant = change.customer.tenant_id
    want = resources_of({"permissions": policy_permissions(change.desired.get("permissions") or [])})
    ids = {"request_id": str(change.ms_request_id), "correlation_id": change.correlation_id}
    operation = change.progress.get("operation", "")
    for _round in range(ROUNDS):
        current = client.self_serve_policy(str(tenant))
        have = resources_of(current)
        if "before" not in change.progress:
            remember(change, before=have)
        if have == want:
            return _applied(operation or "none", change, current)
        if current is None:
            operation = "create"
            remember(change, operation=operation)
            try:
                created = client.create_self_serve_policy(new_policy(tenant, want), **ids)
            except MicrosoftError as exc:
                if _is(exc, 409, "600041"):
                    continue  # someone created it meanwhile: read it, then PUT
                raise
            return _applied(operation, change, created)
        if not want:
            operation = "delete"
            remember(change, operation=operation)
            try:
                client.delete_self_serve_policy(current.get("id") or policy_id(tenant), **ids)
            except MicrosoftError as exc:
                if not _is(exc, 404):
                    raise
            return _applied(operation, change, None)
        operation = "update"
        remember(change, operation=operation)
        body = {**current, "permissions": policy_permissions(want)}
        try:
            updated = client.update_self_serve_policy(current.get("id") or policy_id(tenant), body, **ids)
        except MicrosoftError as exc:
            if _is(exc, 412):
                continue  # a stale etag: read again, then PUT
            if _is(exc, 404, "600039"):
                operation = "create"
                remember(change, operation=operation)
                try:
                    created = client.create_self_serve_policy(new_policy(tenant, want), **ids)
                except MicrosoftError as again:
                    if _is(again, 409, "600041"):
                        continue
                    raise
                return _applied(operation, change, created)
            raise
        return _applied(operation, change, updated)
    raise Retry(str(_("Partner Center's self-serve policy kept changing while the portal applied it.")))


def _applied(operation: str, change: OutboxChange, policy: dict | None) -> Applied:
    attributes = (policy or {}).get("attributes") or {}
    return Applied({"operation": operation, "policyId": (policy or {}).get("id", ""),
                    "etag": attributes.get("etag", ""), "permissions": resources_of(policy),
                    "before": change.progress.get("before", [])})


def settled(change: OutboxChange) -> None:
    """In the outcome's transaction: Partner Center's known policy, and the push's log entry."""
    customer = change.customer
    want = list(change.desired.get("permissions") or [])
    applied = change.state == OutboxChange.State.APPLIED
    if applied:
        PartnerCenterPolicy.objects.update_or_create(customer=customer, defaults={
            "permissions": change.result.get("permissions", want), "etag": change.result.get("etag", ""),
            "read_at": timezone.now(), "drift_found_at": None})
    operation = (change.result.get("operation") if applied else change.progress.get("operation")) or ""
    if applied and operation == "none":
        return  # Partner Center already held the desired state: nothing was written there
    if not operation:
        operation = "delete" if not want else "update"
    before = change.result.get("before") if applied else change.progress.get("before")
    reason = "" if applied else failure_reason(change)
    record(action=OPERATIONS[operation], actor=change.actor,
           origin=Origin(source=Source.MICROSOFT, request_id=str(change.ms_request_id),
                         correlation_id=change.correlation_id),
           customer=customer, resource_type=ResourceType.SELF_SERVE_POLICY, resource_id=policy_id(
               customer.tenant_id),
           old_value={"permissions": policy_permissions(before or [])} if before is not None else None,
           new_value={"permissions": policy_permissions(want)},
           status=Status.SUCCEEDED if applied else Status.FAILED, failure_reason=reason[:2000])


def failure_reason(change: OutboxChange) -> str:
    """Microsoft's words, with its error code and request id, for a Failed entry."""
    details = ", ".join(part for part in (
        f"code {change.error_code}" if change.error_code else "",
        f"request id {change.error_request_id}" if change.error_request_id else "") if part)
    return change.error_message + (f" ({details})" if details else "")


def register() -> None:
    register_handler(SELF_SERVE_POLICY_CHANGE, apply, settled=settled)
