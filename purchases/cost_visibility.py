"""Cost visibility's push to Azure: PUT .../billingAccounts/{ba}/customers/{tenant}/policies/default
{"properties": {"viewCharges": ...}} (MICROSOFT.md §6).

queue_push() is called inside the service's transaction. Until issue 11's outbox is merged it is a thin call
that records the desired state on the BillingPolicy row; with the outbox it enqueues a change of kind
"billing_policy" whose handler (apply_billing_policy) the worker runs.
"""

from __future__ import annotations

BILLING_API = "2020-05-01"
KIND = "billing_policy"


def queue_push(*, customer, view_charges: str, origin) -> None:
    try:
        from microsoft.outbox import enqueue  # issue 11
    except ImportError:   # before issue 11: the sync reads the policy back and shows the difference
        return
    enqueue(kind=KIND, customer=customer, desired={"viewCharges": view_charges}, origin=origin)
