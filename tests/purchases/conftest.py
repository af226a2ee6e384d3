import pytest

from microsoft.scenario import CustomerBuilder
from microsoft.sync import run_sync
from tests.microsoft.conftest import PARTNER, microsoft  # noqa: F401 - the fixture, shared

__all__ = ["PARTNER", "microsoft"]


class Shop:
    """A customer in the simulator that may buy itself, synchronised into the portal."""

    def __init__(self, microsoft, *, name="Contoso",
                 permissions=("AzureReservedInstances", "AzureSavingsPlan")):
        self.builder = CustomerBuilder(name)
        self.buyer_id = self.builder.user("Olga Owner")
        self.buyer = self.builder.doc["users"][0]["userPrincipalName"]
        plan = self.builder.subscription()
        self.azure = self.builder.azure_subscription(plan)["id"]
        self.builder.assign(self.builder.doc["subscriptions"][0]["azureSubscriptions"][0], self.buyer_id)
        if permissions:
            self.builder.self_serve(*permissions)
        self.microsoft = microsoft
        self.sim = microsoft.sim
        self.tenant = self.builder.tenant_id

    def load(self):
        self.microsoft.load([self.builder])
        assert run_sync().outcome == "succeeded"
        return self

    def buy(self, kind="reservation", **body):
        defaults = {"reservation": {"term": "P1Y", "scope": "Shared", "quantity": 1, "billingPlan": "Upfront",
                                    "amount": 1200.0},
                    "savingsPlan": {"term": "P1Y", "scope": "Shared", "hourlyCommitment": 0.5}}[kind]
        return self.sim.control.purchase(self.tenant, kind=kind, buyer=self.buyer, subscriptionId=self.azure,
                                         **{**defaults, **body})


@pytest.fixture
def shop(microsoft, settings):
    settings.PURCHASE_WEBHOOK_URL = ""
    settings.NOTIFY_EMAILS = ["billing@partner.example"]
    return Shop(microsoft).load()
