"""The Account page's benchmark baseline (bench/views.py) shows the data the Account page shows: if the
page gains data and the baseline does not, the comparison flatters the page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from purchases.models import BillingPolicy, CustomerPurchase, Kind, PurchaseLimit
from tests.factories import PurchasePermissionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bench_urls(settings):
    settings.ROOT_URLCONF = "bench.urls"


def test_the_baseline_shows_what_the_account_page_shows(bench_urls, signed_in, admin_agent, customer):
    PurchasePermissionFactory(customer=customer, granted_by=admin_agent)
    PurchaseLimit.objects.create(customer=customer, amount=Decimal("2500"))
    BillingPolicy.objects.create(customer=customer, view_charges=BillingPolicy.ViewCharges.ALLOWED)
    CustomerPurchase.objects.create(customer=customer, kind=Kind.RESERVATION, azure_order_id="o-1",
                                    commitment=Decimal("1200.50"), currency_code="USD",
                                    purchased_at=timezone.now() - timedelta(days=3))
    owner = customer.subscriptions.get().role_assignments.get()
    owner.principal_name = "Olga Owner"
    owner.save()
    client = signed_in(admin_agent)

    bare = client.get(f"/bench/bare/{customer.tenant_id}/").content.decode()
    account = client.get(f"/customers/{customer.tenant_id}/account/").content.decode()

    for shown in ("Contoso Ltd", str(customer.tenant_id), "Azure plan", "Olga Owner",
                  "AzureReservedInstances", "1,200.5", "2,500", "Allowed"):
        assert shown in bare
    assert "Contoso Ltd" in account and "Azure plan" in account and "1,200.50 of 2,500.00 USD" in account
    minimal = client.get(f"/bench/minimal/{customer.tenant_id}/").content.decode()
    assert "Contoso Ltd" in minimal and "Azure plan" not in minimal
