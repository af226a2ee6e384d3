"""The purchase pages and writes, for every role; the confirmation step on Allow."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from activitylog.models import Action, ActivityLogEntry, Status
from permissions.models import PurchasePermission, Resource
from purchases.models import BillingPolicy, CustomerPurchase, Kind, PurchaseLimit


def make_purchase(customer, *, days_ago=1, commitment="1000.00", buyer="owner@contoso.example", **extra):
    number = CustomerPurchase.objects.count() + 1
    return CustomerPurchase.objects.create(
        customer=customer, kind=extra.pop("kind", Kind.RESERVATION), azure_order_id=f"order-{number}",
        product=extra.pop("product", "Standard_D2s_v3"), quantity=1, term="P1Y",
        commitment=Decimal(commitment), currency_code="USD", buyer=buyer,
        purchased_at=timezone.now() - timedelta(days=days_ago), **extra)


@pytest.mark.parametrize("name", ["orders", "reservations", "savings_plans", "account"])
def test_every_role_sees_the_customer_pages(signed_in, any_agent, customer, name):
    response = signed_in(any_agent).get(reverse(f"customers:{name}", args=[customer.tenant_id]))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Order history" in html and "Azure reservations" in html and "Savings plans" in html


def test_the_pages_need_sign_in(client, customer):
    for url in (reverse("customers:orders", args=[customer.tenant_id]), reverse("purchases:list"),
                reverse("purchases:export"), reverse("purchases:profile")):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND and "/accounts/login/" in response["Location"]


def test_the_account_cards_show_the_last_12_months_against_the_limit_and_the_cost_visibility(
        signed_in, any_agent, customer, unready_customer):
    url = reverse("customers:account", args=[customer.tenant_id])
    html = signed_in(any_agent).get(url).content.decode()
    assert "0.00 in the last 12 months; no limit set." in html
    assert "cannot see its Azure usage costs (the default)" in html

    make_purchase(customer, commitment="1234.50", days_ago=60)
    make_purchase(customer, commitment="100.25", days_ago=2)
    make_purchase(customer, commitment="5000.00", days_ago=400)         # older than 12 months
    make_purchase(unready_customer, commitment="777.00", days_ago=3)    # another customer's
    PurchaseLimit.objects.create(customer=customer, amount=Decimal("10000"), turn_off_at_limit=True)
    BillingPolicy.objects.create(customer=customer, view_charges=BillingPolicy.ViewCharges.ALLOWED)

    html = signed_in(any_agent).get(url).content.decode()

    assert "1,334.75 of 10,000.00 USD in the last 12 months (13 %)." in html
    assert 'value="13"' in html
    assert "can see its Azure usage costs at pay-as-you-go prices" in html
    assert "6,334.75" not in html and "2,111.75" not in html


def test_customer_purchases_filters_and_totals(signed_in, any_agent, customer, unready_customer):
    make_purchase(customer, product="D2s reserved", days_ago=2)
    make_purchase(customer, kind=Kind.SAVINGS_PLAN, product="Compute plan", commitment="8760.00")
    make_purchase(unready_customer, product="Fabrikam thing", buyer="x@fabrikam.example", days_ago=400)
    client = signed_in(any_agent)
    html = client.get(reverse("purchases:list")).content.decode()
    assert "D2s reserved" in html and "Compute plan" in html and "Fabrikam thing" in html
    assert "9,760.00 USD" in html   # Contoso's last 12 months
    html = client.get(reverse("purchases:list"), {"kind": Kind.SAVINGS_PLAN}).content.decode()
    assert "Compute plan" in html and "D2s reserved" not in html
    html = client.get(reverse("purchases:list"), {"buyer": "fabrikam"}).content.decode()
    assert "Fabrikam thing" in html and "Compute plan" not in html
    bad = client.get(reverse("purchases:list"), {"date_from": "2026-05-01", "date_to": "2026-01-01"})
    assert bad.status_code == HTTPStatus.BAD_REQUEST


def test_the_date_filter_takes_whole_days_at_both_ends(signed_in, operator, customer):
    from datetime import datetime
    first = make_purchase(customer, product="First of May, midnight")
    last = make_purchase(customer, product="Last of May, a second before midnight")
    before = make_purchase(customer, product="April, a second before May")
    after = make_purchase(customer, product="June, midnight")
    for purchase, moment in ((first, "2026-05-01T00:00:00"), (last, "2026-05-31T23:59:59"),
                             (before, "2026-04-30T23:59:59"), (after, "2026-06-01T00:00:00")):
        CustomerPurchase.objects.filter(pk=purchase.pk).update(
            purchased_at=timezone.make_aware(datetime.fromisoformat(moment)))

    html = signed_in(operator).get(reverse("purchases:list"),
                                   {"date_from": "2026-05-01", "date_to": "2026-05-31"}).content.decode()

    assert "First of May, midnight" in html and "Last of May, a second before midnight" in html
    assert "April, a second before May" not in html and "June, midnight" not in html


def test_the_export_streams_quoted_neutralised_csv(signed_in, sales_agent, customer):
    make_purchase(customer, product="=HYPERLINK(\"http://evil\")", buyer="+cmd@x")
    response = signed_in(sales_agent).get(reverse("purchases:export"))
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeff\"")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[1][4] == "'=HYPERLINK(\"http://evil\")" and rows[1][10] == "'+cmd@x"


def test_an_admin_sets_the_limit_and_others_are_refused_and_logged(signed_in, admin_agent, non_admin_agent,
                                                                   customer):
    url = reverse("customers:purchase_limit", args=[customer.tenant_id])
    response = signed_in(non_admin_agent).post(url, {"amount": "5000", "turn_off_at_limit": "on"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not PurchaseLimit.objects.exists()
    assert ActivityLogEntry.objects.get(action=Action.UPDATE_PURCHASE_LIMIT).status == Status.FAILED
    signed_in(admin_agent).post(url, {"amount": "5000", "turn_off_at_limit": "on"})
    limit = PurchaseLimit.objects.get()
    assert (limit.amount, limit.turn_off_at_limit) == (Decimal("5000"), True)
    make_purchase(customer, commitment="1000.00")
    html = signed_in(admin_agent).get(
        reverse("customers:account", args=[customer.tenant_id])).content.decode()
    assert "1,000.00 of 5,000.00 USD" in html
    bad = signed_in(admin_agent).post(url, {"amount": "-4"})
    assert bad.status_code == HTTPStatus.FOUND and PurchaseLimit.objects.get().amount == Decimal("5000")


def test_cost_visibility_is_off_by_default_admin_only_and_logged(
        signed_in, admin_agent, sales_agent, customer):
    account = reverse("customers:account", args=[customer.tenant_id])
    html = signed_in(sales_agent).get(account).content.decode()
    assert "cannot see its Azure usage costs" in html and "never show in that cost data" in html
    assert 'name="view_charges"' not in html
    url = reverse("customers:cost_visibility", args=[customer.tenant_id])
    assert signed_in(sales_agent).post(url, {"view_charges": "Allowed"}).status_code == HTTPStatus.FORBIDDEN
    assert not BillingPolicy.objects.filter(view_charges="Allowed").exists()
    signed_in(admin_agent).post(url, {"view_charges": "Allowed"})
    assert BillingPolicy.objects.get().view_charges == "Allowed"
    entries = ActivityLogEntry.objects.filter(action=Action.UPDATE_CUSTOMER_BILLING_POLICY)
    assert sorted(entries.values_list("status", flat=True)) == [Status.FAILED, Status.SUCCEEDED]


def test_allowing_asks_for_confirmation_first_and_a_skipping_post_changes_nothing(signed_in, admin_agent,
                                                                                   customer):
    url = reverse("customers:permissions", args=[customer.tenant_id])
    data = {Resource.AZURE_RESERVATIONS.value: "allow", Resource.AZURE_SAVINGS_PLAN.value: "deny"}
    client = signed_in(admin_agent)
    step = client.post(url, data)
    html = step.content.decode()
    assert step.status_code == HTTPStatus.OK and "Savings plans can never be cancelled" in html
    assert "you pay Microsoft for everything the customer buys".lower() in html.lower()
    assert not PurchasePermission.objects.exists()
    assert not ActivityLogEntry.objects.filter(action=Action.CREATE_PURCHASE_PERMISSION).exists()
    forged = client.post(url, {**data, "confirmation": "made-up"})
    assert forged.status_code == HTTPStatus.OK and not PurchasePermission.objects.exists()
    token = html.split('name="confirmation" value="')[1].split('"')[0]
    widened = client.post(url, {**data, Resource.AZURE_SAVINGS_PLAN.value: "allow", "confirmation": token})
    assert widened.status_code == HTTPStatus.OK and not PurchasePermission.objects.exists()
    done = client.post(url, {**data, "confirmation": token})
    assert done.status_code == HTTPStatus.FOUND
    assert list(PurchasePermission.objects.values_list("resource", flat=True)) == ["AzureReservedInstances"]
    # Turning off needs no confirmation.
    off = client.post(url, {Resource.AZURE_RESERVATIONS.value: "deny",
                            Resource.AZURE_SAVINGS_PLAN.value: "deny"})
    assert off.status_code == HTTPStatus.FOUND and not PurchasePermission.objects.exists()


def test_the_profile_choice_is_off_by_default_and_saved(signed_in, sales_agent):
    client = signed_in(sales_agent)
    html = client.get(reverse("purchases:profile")).content.decode()
    assert "Tell me when a customer buys" in html and "checked" not in html
    client.post(reverse("purchases:profile"), {"notify_purchases": "on"})
    assert sales_agent.purchase_preference.notify_purchases is True
