"""The readiness advice names the actual cause and fix: a suspended Azure plan is reactivated."""

from django.urls import reverse

from customers.models import Subscription
from permissions.selectors import purchase_readiness
from tests.factories import CustomerFactory, SubscriptionFactory


def account(client, customer) -> str:
    return client.get(reverse("customers:account", args=[customer.tenant_id])).content.decode()


def test_a_suspended_plan_with_its_owner_is_told_to_reactivate_not_to_buy(signed_in, admin_agent, customer):
    Subscription.objects.filter(customer=customer).update(status=Subscription.Status.SUSPENDED)

    page = account(signed_in(admin_agent), customer)

    assert "the customer&#x27;s Azure plan is suspended" in page
    assert "the Owner holds it on the suspended Azure plan" in page
    assert ">Reactivate the Azure plan</a>" in page
    assert ">Buy an Azure plan</a>" not in page and ">Grant the Owner role</a>" not in page
    readiness = purchase_readiness(customer)
    assert not readiness.ready and readiness.has_suspended_azure and readiness.has_owner_on_suspended


def test_a_suspended_plan_without_an_owner_still_asks_for_one(signed_in, admin_agent):
    customer = CustomerFactory()
    SubscriptionFactory(customer=customer, status=Subscription.Status.SUSPENDED)

    page = account(signed_in(admin_agent), customer)

    assert ">Reactivate the Azure plan</a>" in page and ">Grant the Owner role</a>" in page
    assert ">Buy an Azure plan</a>" not in page


def test_no_plan_at_all_is_told_to_buy_one(signed_in, admin_agent, unready_customer):
    page = account(signed_in(admin_agent), unready_customer)

    assert ">Buy an Azure plan</a>" in page and "Reactivate" not in page


def test_read_only_roles_read_the_advice_as_text(signed_in, sales_agent, customer):
    Subscription.objects.filter(customer=customer).update(status=Subscription.Status.SUSPENDED)

    page = account(signed_in(sales_agent), customer)

    assert "An Admin agent can do this: Reactivate the Azure plan." in page
    assert ">Reactivate the Azure plan</a>" not in page
