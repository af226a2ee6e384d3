"""One purchases poll: read each watched customer from Partner Center and Azure, ingest, then notify.

Watched customers: those that may buy something themselves now (a purchase permission) and those Microsoft
has shown a purchase of before (their mirrors are refreshed). The worker runs a poll every
PURCHASES_POLL_MINUTES (purchases.tasks); `manage.py poll_purchases` runs one now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from activitylog.models import Source
from activitylog.services import Origin
from customers.models import Customer
from microsoft.client import (
    AZURE_MANAGEMENT,
    PARTNER_CENTER,
    MicrosoftClient,
    MicrosoftError,
    Stats,
    new_session,
)
from microsoft.tokens import Tokens
from permissions.models import PurchasePermission

from .limits import check_limit
from .models import CustomerPurchase
from .notifications import deliver_due
from .sync import Fetched, ingest

logger = logging.getLogger(__name__)

CAPACITY_API = "2022-11-01"
BENEFITS_API = "2022-11-01"
# Audit records are read back this far each poll (a record lands a little after its order; §4.3).
AUDIT_LOOKBACK = timedelta(days=2)


@dataclass
class PollResult:
    customers: int = 0
    new: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    deliveries: dict = field(default_factory=dict)


class Reader:
    """The reads a purchases poll makes, through the portal's Microsoft client (pacing, retries, tokens)."""

    def __init__(self, client: MicrosoftClient):
        self.client = client
        self.partner = client.tokens.partner_tenant

    def _pc_app_user(self, path: str) -> dict:
        return self.client.request("GET", self.client.partner_center_url + path,
                                   token=lambda: self.client.tokens.app_user(self.partner, PARTNER_CENTER),
                                   pace=lambda: self.client._pc_buckets.take(self.partner))

    def orders(self, tenant: str) -> list[dict]:
        return list(self.client.pc_collection(f"/v1/customers/{tenant}/orders"))

    def entitlements(self, tenant: str) -> list[dict]:
        """Reserved-instance entitlements (App+User only, MICROSOFT.md §4.1)."""
        page = self._pc_app_user(f"/v1/customers/{tenant}/entitlements?entitlementType=reservedInstance")
        return [item for item in page.get("items") or [] if isinstance(item, dict)]

    def create_order_records(self, since) -> dict[str, list[dict]]:
        """The create_order audit records since `since`, by customer tenant id (one partner-wide read)."""
        query = {"Field": "ResourceType", "Value": "order", "Operator": "equals"}
        found: dict[str, list[dict]] = {}
        for item in self.client.audit_records(since, size=500, query_filter=query):
            if str(item.get("operationType", "")).lower() == "create_order":
                found.setdefault(str(item.get("customerId", "")).lower(), []).append(item)
        return found

    def _arm_list(self, tenant: str, path: str) -> list[dict]:
        url, items, seen = self.client.management_url + path, [], set()
        while url and url not in seen:
            seen.add(url)
            page = self.client.request("GET", url,
                                       token=lambda: self.client.tokens.customer(tenant, AZURE_MANAGEMENT),
                                       pace=lambda: self.client._arm_buckets.take(tenant))
            items.extend(item for item in page.get("value") or [] if isinstance(item, dict))
            following = page.get("nextLink")
            url = self.client._same_host(following, self.client.management_url) if following else None
        return items

    def reservation_orders(self, tenant: str) -> list[dict]:
        orders = self._arm_list(tenant, f"/providers/Microsoft.Capacity/reservationOrders"
                                        f"?api-version={CAPACITY_API}")
        reservations = self._arm_list(tenant, f"/providers/Microsoft.Capacity/reservations"
                                              f"?api-version={CAPACITY_API}")
        return _grouped(orders, reservations, "reservations", "/reservations/")

    def savings_plan_orders(self, tenant: str) -> list[dict]:
        orders = self._arm_list(tenant, f"/providers/Microsoft.BillingBenefits/savingsPlanOrders"
                                        f"?api-version={BENEFITS_API}")
        plans = self._arm_list(tenant, f"/providers/Microsoft.BillingBenefits/savingsPlans"
                                       f"?api-version={BENEFITS_API}")
        return _grouped(orders, plans, "savingsPlans", "/savingsPlans/")


def _grouped(orders: list[dict], children: list[dict], key: str, marker: str) -> list[dict]:
    """Each order with its children, matched by the order's id in the child's id."""
    by_order: dict[str, list[dict]] = {}
    for child in children:
        order_path = str(child.get("id") or "").lower().split(marker.lower())[0]
        by_order.setdefault(order_path.rsplit("/", 1)[-1], []).append(child)
    return [{**order, key: by_order.get(str(order.get("name") or str(order.get("id", "")).rsplit("/", 1)[-1])
                                        .lower(), [])} for order in orders]


def watched_customers():
    return Customer.objects.filter(
        Exists(PurchasePermission.objects.filter(customer=OuterRef("pk"))) |
        Exists(CustomerPurchase.objects.filter(customer=OuterRef("pk")))
    ).order_by("pk")


def _read(reader: Reader, tenant: str, records: list[dict], errors: list) -> Fetched:
    fetched = Fetched(audit_records=records)
    for name, call in (("orders", reader.orders), ("entitlements", reader.entitlements),
                       ("reservation_orders", reader.reservation_orders),
                       ("savings_plan_orders", reader.savings_plan_orders)):
        try:
            setattr(fetched, name, call(tenant))
        except MicrosoftError as exc:   # that source is left as it was; the others go on
            errors.append(f"{tenant} {name}: {exc}")
    return fetched


def _read_back_billing_policies(client: MicrosoftClient, errors: list) -> None:
    """Cost visibility as Azure holds it, for the customers whose policy the portal has set."""
    from .cost_visibility import read_policy
    from .models import BillingPolicy

    for policy in BillingPolicy.objects.select_related("customer"):
        try:
            held = read_policy(client, policy.customer.tenant_id)
        except MicrosoftError as exc:
            errors.append(f"{policy.customer.tenant_id} billing policy: {exc}")
            continue
        BillingPolicy.objects.filter(pk=policy.pk).update(held_view_charges=held, read_at=timezone.now())


def poll(*, client: MicrosoftClient | None = None, only: Q | None = None) -> PollResult:
    result = PollResult()
    own_client = client is None
    if own_client:
        session = new_session(Stats())
        client = MicrosoftClient(tokens=Tokens(session=session), session=session)
    origin = Origin(source=Source.MICROSOFT, request_id="purchases-poll",
                    correlation_id=client.correlation_id)
    try:
        reader = Reader(client)
        try:
            records = reader.create_order_records(timezone.now() - AUDIT_LOOKBACK)
        except MicrosoftError as exc:
            records = {}
            result.errors.append(f"audit records: {exc}")
        customers = watched_customers()
        if only is not None:
            customers = customers.filter(only)
        for customer in customers:
            result.customers += 1
            tenant = str(customer.tenant_id)
            fetched = _read(reader, tenant, records.get(tenant.lower(), []), result.errors)
            result.new.extend(ingest(customer, fetched, origin=origin))
            check_limit(customer)
        _read_back_billing_policies(client, result.errors)
    finally:
        if own_client:
            client.tokens.save_rotated()
            client.close()
    result.deliveries = deliver_due()
    for error in result.errors:
        logger.warning("Purchases poll: %s", error)
    return result
