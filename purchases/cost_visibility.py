"""Cost visibility, pushed to Azure through the outbox (issue 11) and read back by the poll (MICROSOFT.md §6).

Azure's billing policy on the partner's Microsoft Partner Agreement billing account:
    PUT /providers/Microsoft.Billing/billingAccounts/{ba}/customers/{tenant}/policies/default
        ?api-version=2020-05-01   {"properties": {"viewCharges": "Allowed" | "NotAllowed"}}
with a partner-tenant App+User token. The billing account is the first MPA account the partner's agent
sees (GET /providers/Microsoft.Billing/billingAccounts).
"""

from __future__ import annotations

from django.utils import timezone

from activitylog.models import Action, ResourceType, Source, Status
from activitylog.services import Origin, record
from microsoft.client import AZURE_MANAGEMENT, MicrosoftClient, MicrosoftError
from microsoft.self_serve import applying
from outbox.models import OutboxChange
from outbox.services import enqueue
from outbox.worker import Applied, register_handler

from .models import BillingPolicy

BILLING_API = "2020-05-01"
KIND = "azure.billing_policy"


def queue_push(*, customer, view_charges: str, origin, actor=None) -> None:
    """Inside the service's transaction: the customer's desired viewCharges, for the worker to apply."""
    enqueue(kind=KIND, customer=customer, desired={"viewCharges": view_charges}, origin=origin, actor=actor)


def _arm(client: MicrosoftClient, method: str, path: str, body=None) -> dict:
    partner = client.tokens.partner_tenant
    return client.request(method, client.management_url + path, json_body=body,
                          token=lambda: client.tokens.app_user(partner, AZURE_MANAGEMENT),
                          pace=lambda: client._arm_buckets.take(partner))


def billing_account(client: MicrosoftClient) -> str:
    accounts = _arm(client, "GET", f"/providers/Microsoft.Billing/billingAccounts?api-version={BILLING_API}")
    for account in accounts.get("value") or []:
        if (account.get("properties") or {}).get("agreementType", "MicrosoftPartnerAgreement") == \
                "MicrosoftPartnerAgreement" and account.get("name"):
            return account["name"]
    raise MicrosoftError("No Microsoft Partner Agreement billing account is visible to the partner's agent.")


def policy_path(account: str, tenant) -> str:
    return (f"/providers/Microsoft.Billing/billingAccounts/{account}/customers/{tenant}/policies/default"
            f"?api-version={BILLING_API}")


def read_policy(client: MicrosoftClient, tenant) -> str:
    answer = _arm(client, "GET", policy_path(billing_account(client), tenant))
    return str((answer.get("properties") or {}).get("viewCharges") or BillingPolicy.ViewCharges.NOT_ALLOWED)


def _push(client: MicrosoftClient, change: OutboxChange) -> Applied:
    want = change.desired["viewCharges"]
    account = billing_account(client)
    answer = _arm(client, "PUT", policy_path(account, change.customer.tenant_id),
                  {"properties": {"viewCharges": want}})
    return Applied({"viewCharges": (answer.get("properties") or {}).get("viewCharges", want)})


def apply(change: OutboxChange) -> Applied:
    """Microsoft's answers become the outbox's outcomes as for every push (microsoft.self_serve.applying)."""
    return applying(_push, change)


def settled(change: OutboxChange) -> None:
    """In the outcome's transaction: what Azure holds now, and the push's entry (source Microsoft)."""
    applied = change.state == OutboxChange.State.APPLIED
    if applied:
        BillingPolicy.objects.filter(customer=change.customer).update(
            held_view_charges=change.result.get("viewCharges", change.desired["viewCharges"]),
            read_at=timezone.now())
    record(action=Action.UPDATE_CUSTOMER_BILLING_POLICY, actor=change.actor,
           origin=Origin(source=Source.MICROSOFT, request_id=str(change.ms_request_id),
                         correlation_id=change.correlation_id),
           customer=change.customer, resource_type=ResourceType.BILLING_POLICY,
           resource_id=str(change.customer.tenant_id), new_value=change.desired,
           status=Status.SUCCEEDED if applied else Status.FAILED,
           failure_reason="" if applied else f"{change.error_message} (code {change.error_code})"[:2000])


def register() -> None:
    register_handler(KIND, apply, settled=settled)
