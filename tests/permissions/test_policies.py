"""Who may do what (PRODUCT.md's capability table), and when a customer is ready to buy itself."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from activitylog.models import ActivityLogEntry
from activitylog.policies import can_view_activity_log
from customers.models import Customer, RoleAssignment, Subscription
from customers.policies import can_manage_customers
from permissions.models import Resource
from permissions.policies import can_change_purchase_permissions
from permissions.selectors import customer_account, purchase_readiness, readiness_of
from permissions.services import set_purchase_permissions
from portal.models import Agent

from ..factories import AgentFactory, CustomerFactory, RoleAssignmentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

ADMIN, SALES, HELPDESK, OPERATOR = (role.value for role in Agent.Role)


@pytest.mark.parametrize(("policy", "allowed_roles"), [
    (can_change_purchase_permissions, {ADMIN}),
    (can_manage_customers, {ADMIN}),
    (can_view_activity_log, {ADMIN, OPERATOR}),
], ids=lambda value: getattr(value, "__name__", ""))
def test_each_role_gets_exactly_its_capabilities(any_agent, policy, allowed_roles):
    assert policy(any_agent) is (any_agent.role in allowed_roles)


@pytest.mark.parametrize("policy", [can_change_purchase_permissions, can_manage_customers,
                                    can_view_activity_log], ids=lambda policy: policy.__name__)
@pytest.mark.parametrize("role", [ADMIN, OPERATOR])
def test_an_inactive_agent_may_do_nothing(policy, role):
    agent = AgentFactory(role=role, is_active=False)

    assert policy(agent) is False


@pytest.mark.parametrize("policy", [can_change_purchase_permissions, can_manage_customers,
                                    can_view_activity_log], ids=lambda policy: policy.__name__)
def test_an_anonymous_visitor_may_do_nothing(policy):
    assert policy(AnonymousUser()) is False


def test_a_superuser_gets_only_what_their_role_gives():
    # Superusers manage staff in the Django admin; their portal powers still come from their role.
    superuser = Agent.objects.create_superuser("root@partner.example", "x")

    assert superuser.role == OPERATOR
    assert can_view_activity_log(superuser)
    assert not can_change_purchase_permissions(superuser)
    assert not can_manage_customers(superuser)


# Readiness


def test_a_customer_with_an_active_azure_plan_and_an_owner_is_ready(customer):
    readiness = purchase_readiness(customer)

    assert (readiness.has_azure_subscription, readiness.has_owner, readiness.ready) == (True, True, True)
    assert [step.done for step in readiness.steps] == [True, True]
    assert readiness.missing_steps == []


def test_azure_global_counts_as_an_azure_subscription():
    assignment = RoleAssignmentFactory(subscription__offer=Subscription.Offer.AZURE_GLOBAL)

    assert purchase_readiness(assignment.subscription.customer).ready


def with_owner_on(status: str) -> Customer:
    return RoleAssignmentFactory(subscription__status=status).subscription.customer


def with_roles(*roles: str) -> Customer:
    subscription = SubscriptionFactory()
    for role in roles:
        RoleAssignmentFactory(subscription=subscription, role=role)
    return subscription.customer


def owner_on_suspended_plan_beside_an_active_one() -> Customer:
    customer = with_owner_on(status=Subscription.Status.SUSPENDED)
    SubscriptionFactory(customer=customer)
    return customer


def owner_on_another_customers_plan() -> Customer:
    RoleAssignmentFactory()
    return SubscriptionFactory().customer


NOT_READY = [
    pytest.param(lambda: CustomerFactory(), False, False, id="no_subscription"),
    pytest.param(lambda: SubscriptionFactory(offer=Subscription.Offer.MICROSOFT_365).customer,
                 False, False, id="only_microsoft_365"),
    pytest.param(lambda: with_owner_on(status=Subscription.Status.SUSPENDED), False, False,
                 id="owner_on_suspended_azure_plan"),
    pytest.param(lambda: with_owner_on(status=Subscription.Status.CANCELLED), False, False,
                 id="owner_on_cancelled_azure_plan"),
    pytest.param(lambda: with_roles(), True, False, id="azure_plan_without_roles"),
    pytest.param(lambda: with_roles(RoleAssignment.Role.CONTRIBUTOR, RoleAssignment.Role.READER),
                 True, False, id="only_contributor_and_reader"),
    pytest.param(owner_on_suspended_plan_beside_an_active_one, True, False,
                 id="owner_only_on_the_suspended_plan"),
    pytest.param(owner_on_another_customers_plan, True, False, id="owner_at_another_customer"),
]


@pytest.mark.parametrize(("make_customer", "has_azure", "has_owner"), NOT_READY)
def test_a_customer_that_is_not_ready_is_told_what_is_missing(make_customer, has_azure, has_owner):
    customer = make_customer()

    readiness = purchase_readiness(customer)

    assert (readiness.has_azure_subscription, readiness.has_owner) == (has_azure, has_owner)
    assert readiness.ready is False
    assert [step.done for step in readiness.steps] == [has_azure, has_owner]
    assert len(readiness.missing_steps) == [has_azure, has_owner].count(False)
    subscriptions_page = reverse("customers:subscriptions", args=[customer.tenant_id])
    for step in readiness.missing_steps:
        assert step.fix_url == subscriptions_page
        assert step.missing and step.fix_label


@pytest.mark.parametrize(("make_customer", "has_azure", "has_owner"), [
    *NOT_READY,
    pytest.param(lambda: RoleAssignmentFactory().subscription.customer, True, True, id="ready"),
])
def test_the_account_page_query_agrees_with_the_services_on_readiness(make_customer, has_azure,
                                                                      has_owner):
    # One definition of readiness, in two queries: the Account page's and the service's under its lock.
    customer = make_customer()

    shown = readiness_of(customer_account(customer.tenant_id))

    assert (shown.has_azure_subscription, shown.has_owner) == (has_azure, has_owner)
    assert shown == purchase_readiness(customer)


def test_the_missing_steps_name_what_to_do():
    first, second = purchase_readiness(CustomerFactory()).missing_steps

    assert "Buy an Azure plan" in str(first.missing)
    assert "Grant the Owner role" in str(second.missing)


def test_readiness_takes_one_query_however_many_subscriptions_and_roles(django_assert_num_queries):
    customer = CustomerFactory()
    for _ in range(5):
        subscription = SubscriptionFactory(customer=customer, status=Subscription.Status.SUSPENDED)
        RoleAssignmentFactory.create_batch(3, subscription=subscription)

    with django_assert_num_queries(1):
        assert purchase_readiness(customer).ready is False


def test_the_account_query_gives_each_last_change_as_an_aware_utc_time(admin_agent, customer, origin):
    """On every database, so no caller (the Account page, the API's JSON) has to guess a zone."""
    set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                             allowed={Resource.AZURE_SAVINGS_PLAN: True})
    written = ActivityLogEntry.objects.get().occurred_at

    account = customer_account(customer.tenant_id)

    assert account.last_changed_at_AzureSavingsPlan == written
    assert account.last_changed_at_AzureSavingsPlan.utcoffset() == dt.timedelta(0)
    assert account.last_changed_at_AzureReservedInstances is None
