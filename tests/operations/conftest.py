"""Fixtures for the partner's operations: a customer known to the portal and to the simulator, with a
reservation and a savings plan in both (the mirror as the sync would hold it)."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customers.models import AzureSubscription, Subscription
from microsoft.scenario import CustomerBuilder
from purchases.models import Reservation, ReservationOrder, SavingsPlan, SavingsPlanOrder
from tests.factories import CustomerFactory
from tests.microsoft.conftest import PARTNER, microsoft  # noqa: F401 - the fixture, shared


def iso(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def azure_order(name: str, *, total: float, kind: str = "VirtualMachines") -> dict:
    """A one-year order half gone: its refund is about half of `total`."""
    return {
        "name": name,
        "properties": {
            "displayName": name,
            "term": "P1Y",
            "billingPlan": "Upfront",
            "originalQuantity": 1,
            "benefitStartTime": iso(-182),
            "expiryDateTime": iso(183),
            "provisioningState": "Succeeded",
            "planInformation": {"pricingCurrencyTotal": {"currencyCode": "USD", "amount": total}},
        },
        "reservations": [
            {
                "name": f"{name}-r",
                "properties": {
                    "displayName": f"{name} VMs",
                    "quantity": 1,
                    "reservedResourceType": kind,
                    "appliedScopeType": "Shared",
                    "renew": False,
                    "provisioningState": "Succeeded",
                },
            }
        ],
    }


class World:
    def __init__(self, microsoft_fixture, customer, builder, azure_id):
        self.ms, self.sim, self.customer, self.builder, self.azure_id = (
            microsoft_fixture,
            microsoft_fixture.sim,
            customer,
            builder,
            azure_id,
        )
        self.reservations: dict[str, Reservation] = {}
        self.plan: SavingsPlan | None = None

    def load(self, *orders, refunds=None, plan: bool = True):
        self.builder.doc["reservationOrders"] = list(orders)
        self.builder.doc["refunds"] = refunds or []
        if plan:
            self.builder.doc["savingsPlanOrders"] = [
                {
                    "name": "spo-1",
                    "properties": {"displayName": "Compute", "term": "P1Y", "provisioningState": "Succeeded"},
                    "savingsPlans": [
                        {
                            "name": "sp-1",
                            "properties": {
                                "displayName": "Compute",
                                "appliedScopeType": "Shared",
                                "renew": False,
                                "displayProvisioningState": "Succeeded",
                                "commitment": {"grain": "Hourly", "currencyCode": "USD", "amount": 5},
                            },
                        }
                    ],
                }
            ]
        self.ms.load([self.builder])
        self.sim.control.settings(reservationOperations={"retryAfterSeconds": 0})
        now = datetime.now(UTC)
        for order in orders:
            row = ReservationOrder.objects.create(
                customer=self.customer,
                order_id=order["name"],
                display_name=order["name"],
                term="P1Y",
                billing_plan="Upfront",
                amount=Decimal(str(order["properties"]["planInformation"]["pricingCurrencyTotal"]["amount"])),
                currency_code="USD",
                purchased_at=now - timedelta(days=182),
                provisioning_state="Succeeded",
            )
            reservation = order["reservations"][0]
            self.reservations[order["name"]] = Reservation.objects.create(
                order=row,
                reservation_id=reservation["name"],
                display_name=reservation["properties"]["displayName"],
                sku="Standard_D2s_v5",
                location="westeurope",
                resource_type=reservation["properties"]["reservedResourceType"],
                quantity=1,
                scope="Shared",
                renew=False,
                provisioning_state="Succeeded",
            )
        if plan:
            order = SavingsPlanOrder.objects.create(
                customer=self.customer,
                order_id="spo-1",
                display_name="Compute",
                term="P1Y",
                purchased_at=now,
                provisioning_state="Succeeded",
            )
            self.plan = SavingsPlan.objects.create(
                order=order,
                plan_id="sp-1",
                display_name="Compute",
                hourly_commitment=Decimal(5),
                currency_code="USD",
                scope="Shared",
                provisioning_state="Succeeded",
            )
        self.sim.control.clear_requests()
        return self

    def requests(self, method: str | None = None) -> list[dict]:
        return [
            r
            for r in self.sim.control.requests()
            if r["service"] == "management" and (method is None or r["method"] == method)
        ]


@pytest.fixture
def world(microsoft, db):  # noqa: F811 - the shared fixture
    customer = CustomerFactory(
        company_name="Contoso Ltd", domain="contoso.onmicrosoft.com", tenant_id=uuid.uuid4()
    )
    builder = CustomerBuilder(
        "Contoso Ltd", domain="contoso.onmicrosoft.com", tenant_id=str(customer.tenant_id)
    )
    plan = builder.subscription()
    azure = builder.azure_subscription(plan, name="Production")
    subscription = Subscription.objects.create(
        customer=customer, offer=Subscription.Offer.AZURE_PLAN, friendly_name="Azure plan"
    )
    AzureSubscription.objects.create(
        subscription=subscription, azure_subscription_id=azure["id"], friendly_name="Production"
    )
    return World(microsoft, customer, builder, azure["id"])
