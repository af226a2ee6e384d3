import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, transaction

from activitylog.models import Action, ActivityLogEntry, Status
from customers.models import Customer, CustomerUser, RoleAssignment, Subscription
from customers.services import (
    add_customer,
    add_customer_user,
    buy_azure_plan,
    grant_role,
    remove_role,
    set_subscription_status,
)
from permissions.selectors import purchase_readiness

from ..activitylog import assert_from, reject_log_entries
from ..factories import (
    AgentFactory,
    CustomerFactory,
    CustomerUserFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

REFUSED = "Only Admin agents can add customers, buy subscriptions, add users or change roles."


def assert_succeeded(entry: ActivityLogEntry, action: Action) -> None:
    assert (entry.action, entry.status, entry.failure_reason) == (action, Status.SUCCEEDED, "")


def assert_failed(entry: ActivityLogEntry, action: Action, reason: str) -> None:
    assert (entry.action, entry.status) == (action, Status.FAILED)
    assert reason in entry.failure_reason


@pytest.fixture
def subscription(customer) -> Subscription:
    return customer.subscriptions.get()


@pytest.fixture
def owner(customer) -> RoleAssignment:
    return RoleAssignment.objects.get(subscription__customer=customer)


# Add Customer


def test_admin_agent_adds_a_customer(admin_agent, origin):
    customer = add_customer(actor=admin_agent, company_name="  Northwind Traders ",
                            domain=" Northwind.OnMicrosoft.com", city="Bandung", country="ID",
                            origin=origin)

    customer.refresh_from_db()
    assert (customer.company_name, customer.domain) == ("Northwind Traders", "northwind.onmicrosoft.com")
    assert (customer.city, customer.country) == ("Bandung", "ID")
    entry = ActivityLogEntry.objects.get()
    assert_succeeded(entry, Action.ADD_CUSTOMER)
    assert (entry.resource_type, entry.resource_id) == ("customer", str(customer.tenant_id))
    assert entry.old_value is None
    assert entry.new_value == {"company_name": "Northwind Traders", "domain": "northwind.onmicrosoft.com",
                               "city": "Bandung", "country": "ID"}
    assert_from(entry, actor=admin_agent, customer=customer, origin=origin)


def test_non_admin_agent_cannot_add_a_customer(non_admin_agent, origin):
    with pytest.raises(PermissionDenied):
        add_customer(actor=non_admin_agent, company_name="Northwind Traders",
                     domain="northwind.onmicrosoft.com", origin=origin)

    assert not Customer.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert_failed(entry, Action.ADD_CUSTOMER, REFUSED)
    assert entry.resource_type == "customer"
    assert entry.new_value == {"company_name": "Northwind Traders", "domain": "northwind.onmicrosoft.com"}
    assert_from(entry, actor=non_admin_agent, customer=None, origin=origin)


def test_a_domain_in_use_is_refused_whatever_its_case(admin_agent, customer, origin):
    with pytest.raises(ValidationError) as refused:
        add_customer(actor=admin_agent, company_name="Contoso again", domain="CONTOSO.onmicrosoft.com",
                     origin=origin)

    assert refused.value.messages == [
        "Another customer already uses the domain contoso.onmicrosoft.com."]
    assert list(Customer.objects.all()) == [customer]
    entry = ActivityLogEntry.objects.get()
    assert_failed(entry, Action.ADD_CUSTOMER, "already uses the domain contoso.onmicrosoft.com")
    assert_from(entry, actor=admin_agent, customer=None, origin=origin)


def test_the_database_refuses_a_domain_not_in_lower_case_so_uniqueness_ignores_case(customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(company_name="Contoso again", domain="Contoso.onmicrosoft.com")

    assert list(Customer.objects.all()) == [customer]


def test_unknown_customer_details_are_a_programming_error(admin_agent, origin):
    with pytest.raises(TypeError):
        add_customer(actor=admin_agent, company_name="Northwind", domain="northwind.onmicrosoft.com",
                     origin=origin, credit_limit="1000000")

    assert not Customer.objects.exists()
    assert not ActivityLogEntry.objects.exists()


# Create Order (buy an Azure plan)


@pytest.mark.parametrize("offer", [Subscription.Offer.AZURE_PLAN, Subscription.Offer.AZURE_GLOBAL])
def test_admin_agent_buys_an_azure_subscription(admin_agent, unready_customer, origin, offer):
    subscription = buy_azure_plan(actor=admin_agent, customer=unready_customer, friendly_name=" Production ",
                                  offer=offer, origin=origin)

    subscription.refresh_from_db()
    assert subscription.customer == unready_customer
    assert (subscription.offer, subscription.friendly_name, subscription.status) == (
        offer, "Production", Subscription.Status.ACTIVE)
    entry = ActivityLogEntry.objects.get()
    assert_succeeded(entry, Action.CREATE_ORDER)
    assert (entry.resource_type, entry.resource_id) == ("subscription", str(subscription.subscription_id))
    assert entry.old_value is None
    assert entry.new_value == {"offer": offer.value, "friendly_name": "Production", "status": "active"}
    assert_from(entry, actor=admin_agent, customer=unready_customer, origin=origin)


def test_non_admin_agent_cannot_buy_an_azure_plan(non_admin_agent, unready_customer, origin):
    with pytest.raises(PermissionDenied):
        buy_azure_plan(actor=non_admin_agent, customer=unready_customer, friendly_name="Production",
                       origin=origin)

    assert not Subscription.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert_failed(entry, Action.CREATE_ORDER, REFUSED)
    assert entry.new_value == {"offer": "azure_plan", "friendly_name": "Production"}
    assert_from(entry, actor=non_admin_agent, customer=unready_customer, origin=origin)


def test_a_licence_based_subscription_cannot_be_bought_as_an_azure_plan(admin_agent, unready_customer,
                                                                        origin):
    with pytest.raises(ValidationError) as refused:
        buy_azure_plan(actor=admin_agent, customer=unready_customer, friendly_name="Office",
                       offer=Subscription.Offer.MICROSOFT_365, origin=origin)

    assert refused.value.messages == ["Only Azure plan and Azure Global can be bought here."]
    assert not Subscription.objects.exists()
    assert_failed(ActivityLogEntry.objects.get(), Action.CREATE_ORDER, "Only Azure plan")


# Update Subscription (suspend, reactivate, cancel)


@pytest.mark.parametrize(("before", "after"), [
    ("active", "suspended"), ("suspended", "active"), ("active", "cancelled"), ("suspended", "cancelled"),
])
def test_admin_agent_changes_a_subscription_status(admin_agent, customer, subscription, origin, before,
                                                   after):
    Subscription.objects.filter(pk=subscription.pk).update(status=before)
    subscription.refresh_from_db()

    changed = set_subscription_status(actor=admin_agent, subscription=subscription, status=after,
                                      origin=origin)

    assert changed is True
    assert subscription.status == after
    subscription.refresh_from_db()
    assert subscription.status == after
    entry = ActivityLogEntry.objects.get()
    assert_succeeded(entry, Action.UPDATE_SUBSCRIPTION)
    assert (entry.resource_type, entry.resource_id) == ("subscription", str(subscription.subscription_id))
    assert (entry.old_value, entry.new_value) == ({"status": before, "friendly_name": "Azure plan"},
                                                  {"status": after, "friendly_name": "Azure plan"})
    assert_from(entry, actor=admin_agent, customer=customer, origin=origin)


def test_non_admin_agent_cannot_suspend_a_subscription(non_admin_agent, customer, subscription, origin):
    with pytest.raises(PermissionDenied):
        set_subscription_status(actor=non_admin_agent, subscription=subscription, status="suspended",
                                origin=origin)

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    entry = ActivityLogEntry.objects.get()
    assert_failed(entry, Action.UPDATE_SUBSCRIPTION, REFUSED)
    assert entry.resource_id == str(subscription.subscription_id)
    assert entry.new_value == {"status": "suspended", "friendly_name": subscription.friendly_name}
    assert_from(entry, actor=non_admin_agent, customer=customer, origin=origin)


@pytest.mark.parametrize("status", ["active", "suspended", "cancelled"])
def test_setting_a_subscription_to_its_current_status_changes_and_logs_nothing(admin_agent, subscription,
                                                                             origin, status):
    Subscription.objects.filter(pk=subscription.pk).update(status=status)
    subscription.refresh_from_db()

    assert set_subscription_status(actor=admin_agent, subscription=subscription, status=status,
                                   origin=origin) is False

    subscription.refresh_from_db()
    assert subscription.status == status
    assert not ActivityLogEntry.objects.exists()


@pytest.mark.parametrize("status", ["active", "suspended"])
def test_a_cancelled_subscription_stays_cancelled(admin_agent, subscription, origin, status):
    Subscription.objects.filter(pk=subscription.pk).update(status="cancelled")

    with pytest.raises(ValidationError) as refused:
        set_subscription_status(actor=admin_agent, subscription=subscription, status=status,
                                origin=origin)

    assert refused.value.messages == ["A cancelled subscription cannot be changed."]
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED
    assert_failed(ActivityLogEntry.objects.get(), Action.UPDATE_SUBSCRIPTION, "cancelled")


def test_an_unknown_status_is_rejected_before_anything_happens(admin_agent, subscription, origin):
    with pytest.raises(ValueError):
        set_subscription_status(actor=admin_agent, subscription=subscription, status="paused",
                                origin=origin)

    assert not ActivityLogEntry.objects.exists()


# Add Customer User


def test_admin_agent_adds_a_customer_user(admin_agent, unready_customer, origin):
    user = add_customer_user(actor=admin_agent, customer=unready_customer,
                             user_principal_name=" Alex@Fabrikam.OnMicrosoft.com ",
                             display_name=" Alex Wilber ", origin=origin)

    user.refresh_from_db()
    assert user.customer == unready_customer
    assert (user.user_principal_name, user.display_name) == ("alex@fabrikam.onmicrosoft.com", "Alex Wilber")
    entry = ActivityLogEntry.objects.get()
    assert_succeeded(entry, Action.ADD_CUSTOMER_USER)
    assert (entry.resource_type, entry.resource_id) == ("customer_user", "alex@fabrikam.onmicrosoft.com")
    assert entry.old_value is None
    assert entry.new_value == {"user_principal_name": "alex@fabrikam.onmicrosoft.com",
                               "display_name": "Alex Wilber"}
    assert_from(entry, actor=admin_agent, customer=unready_customer, origin=origin)


def test_non_admin_agent_cannot_add_a_customer_user(non_admin_agent, unready_customer, origin):
    with pytest.raises(PermissionDenied):
        add_customer_user(actor=non_admin_agent, customer=unready_customer,
                          user_principal_name="alex@fabrikam.onmicrosoft.com", display_name="Alex Wilber",
                          origin=origin)

    assert not CustomerUser.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert_failed(entry, Action.ADD_CUSTOMER_USER, REFUSED)
    assert entry.resource_id == "alex@fabrikam.onmicrosoft.com"
    assert_from(entry, actor=non_admin_agent, customer=unready_customer, origin=origin)


def test_a_customer_user_cannot_be_added_twice_whatever_the_case(admin_agent, unready_customer, origin):
    existing = CustomerUserFactory(customer=unready_customer,
                                   user_principal_name="Alex@fabrikam.onmicrosoft.com")

    with pytest.raises(ValidationError) as refused:
        add_customer_user(actor=admin_agent, customer=unready_customer,
                          user_principal_name="ALEX@FABRIKAM.ONMICROSOFT.COM", display_name="Alex again",
                          origin=origin)

    assert refused.value.messages == ["alex@fabrikam.onmicrosoft.com is already a user of this customer."]
    assert list(CustomerUser.objects.all()) == [existing]
    assert_failed(ActivityLogEntry.objects.get(), Action.ADD_CUSTOMER_USER, "already a user")


def test_the_same_sign_in_name_may_exist_at_two_customers(admin_agent, unready_customer, origin):
    CustomerUserFactory(user_principal_name="alex@fabrikam.onmicrosoft.com")

    add_customer_user(actor=admin_agent, customer=unready_customer,
                      user_principal_name="alex@fabrikam.onmicrosoft.com", display_name="Alex",
                      origin=origin)

    assert CustomerUser.objects.filter(user_principal_name="alex@fabrikam.onmicrosoft.com").count() == 2
    assert_succeeded(ActivityLogEntry.objects.get(), Action.ADD_CUSTOMER_USER)


# Create Role Assignment


@pytest.mark.parametrize("role", list(RoleAssignment.Role))
def test_admin_agent_grants_a_role(admin_agent, unready_customer, origin, role):
    subscription = SubscriptionFactory(customer=unready_customer)
    user = CustomerUserFactory(customer=unready_customer, user_principal_name="alex@fabrikam.example")

    assignment = grant_role(actor=admin_agent, subscription=subscription, customer_user=user, role=role,
                            origin=origin)

    assert RoleAssignment.objects.get() == assignment
    assert (assignment.subscription, assignment.customer_user, assignment.role) == (subscription, user, role)
    entry = ActivityLogEntry.objects.get()
    assert_succeeded(entry, Action.CREATE_ROLE_ASSIGNMENT)
    assert (entry.resource_type, entry.resource_id) == (
        "role_assignment", f"{subscription.subscription_id}/alex@fabrikam.example/{role.value}")
    assert entry.old_value is None
    assert entry.new_value == {"role": role.value, "user_principal_name": "alex@fabrikam.example",
                               "display_name": user.display_name,
                               "subscription_id": str(subscription.subscription_id),
                               "friendly_name": subscription.friendly_name}
    assert_from(entry, actor=admin_agent, customer=unready_customer, origin=origin)


def test_granting_the_owner_role_is_what_makes_a_customer_ready(admin_agent, unready_customer, origin):
    subscription = buy_azure_plan(actor=admin_agent, customer=unready_customer, friendly_name="Azure plan",
                                  origin=origin)
    user = add_customer_user(actor=admin_agent, customer=unready_customer,
                             user_principal_name="alex@fabrikam.example", display_name="Alex", origin=origin)
    assert not purchase_readiness(unready_customer).ready

    grant_role(actor=admin_agent, subscription=subscription, customer_user=user, origin=origin)

    assert purchase_readiness(unready_customer).ready
    assert list(ActivityLogEntry.objects.order_by("id").values_list("action", flat=True)) == [
        Action.CREATE_ORDER, Action.ADD_CUSTOMER_USER, Action.CREATE_ROLE_ASSIGNMENT]


def test_non_admin_agent_cannot_grant_the_owner_role(non_admin_agent, unready_customer, origin):
    subscription = SubscriptionFactory(customer=unready_customer)
    user = CustomerUserFactory(customer=unready_customer)

    with pytest.raises(PermissionDenied):
        grant_role(actor=non_admin_agent, subscription=subscription, customer_user=user, origin=origin)

    assert not RoleAssignment.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert_failed(entry, Action.CREATE_ROLE_ASSIGNMENT, REFUSED)
    # Shaped as the granted assignment would have been logged: the same resource id and value.
    assert (entry.resource_type, entry.resource_id) == (
        "role_assignment", f"{subscription.subscription_id}/{user.user_principal_name}/owner")
    assert entry.new_value == {"role": "owner", "user_principal_name": user.user_principal_name,
                               "display_name": user.display_name,
                               "subscription_id": str(subscription.subscription_id),
                               "friendly_name": subscription.friendly_name}
    assert_from(entry, actor=non_admin_agent, customer=unready_customer, origin=origin)


def test_a_role_cannot_be_granted_twice(admin_agent, customer, owner, origin):
    with pytest.raises(ValidationError) as refused:
        grant_role(actor=admin_agent, subscription=owner.subscription, customer_user=owner.customer_user,
                   origin=origin)

    assert refused.value.messages == [
        f"{owner.customer_user.display_name} already has the Owner role on Azure plan."]
    assert list(RoleAssignment.objects.all()) == [owner]
    assert_failed(ActivityLogEntry.objects.get(), Action.CREATE_ROLE_ASSIGNMENT, "already has the Owner role")


def test_another_role_on_the_same_subscription_is_not_a_duplicate(admin_agent, owner, origin):
    grant_role(actor=admin_agent, subscription=owner.subscription, customer_user=owner.customer_user,
               role=RoleAssignment.Role.READER, origin=origin)

    assert RoleAssignment.objects.count() == 2


def test_roles_cannot_be_granted_on_a_licence_based_subscription(admin_agent, unready_customer, origin):
    licence = SubscriptionFactory(customer=unready_customer, offer=Subscription.Offer.MICROSOFT_365,
                                  friendly_name="Microsoft 365")
    user = CustomerUserFactory(customer=unready_customer)

    with pytest.raises(ValidationError) as refused:
        grant_role(actor=admin_agent, subscription=licence, customer_user=user, origin=origin)

    assert refused.value.messages == [
        "Roles can only be granted on Azure plan or Azure Global subscriptions."]
    assert not RoleAssignment.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert_failed(entry, Action.CREATE_ROLE_ASSIGNMENT, "only be granted on Azure")
    assert_from(entry, actor=admin_agent, customer=unready_customer, origin=origin)


def test_roles_cannot_be_granted_on_a_cancelled_subscription(admin_agent, unready_customer, origin):
    cancelled = SubscriptionFactory(customer=unready_customer, status=Subscription.Status.CANCELLED)
    user = CustomerUserFactory(customer=unready_customer)

    with pytest.raises(ValidationError) as refused:
        grant_role(actor=admin_agent, subscription=cancelled, customer_user=user, origin=origin)

    assert refused.value.messages == ["The subscription is cancelled."]
    assert not RoleAssignment.objects.exists()
    assert_failed(ActivityLogEntry.objects.get(), Action.CREATE_ROLE_ASSIGNMENT, "cancelled")


def test_a_role_cannot_be_granted_to_a_user_of_another_customer(admin_agent, unready_customer, origin):
    subscription = SubscriptionFactory(customer=unready_customer)
    stranger = CustomerUserFactory(customer=CustomerFactory(company_name="Litware"))

    with pytest.raises(ValidationError) as refused:
        grant_role(actor=admin_agent, subscription=subscription, customer_user=stranger, origin=origin)

    assert refused.value.messages == ["That user belongs to another customer."]
    assert not RoleAssignment.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert_failed(entry, Action.CREATE_ROLE_ASSIGNMENT, "another customer")
    assert_from(entry, actor=admin_agent, customer=unready_customer, origin=origin)


def test_an_unknown_role_is_rejected_before_anything_happens(admin_agent, owner, origin):
    with pytest.raises(ValueError):
        grant_role(actor=admin_agent, subscription=owner.subscription, customer_user=owner.customer_user,
                   role="billing_admin", origin=origin)

    assert RoleAssignment.objects.count() == 1
    assert not ActivityLogEntry.objects.exists()


# Delete Role Assignment


def test_admin_agent_removes_a_role(admin_agent, customer, owner, origin):
    user = owner.customer_user

    assert remove_role(actor=admin_agent, assignment=owner, origin=origin) is True

    assert not RoleAssignment.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert_succeeded(entry, Action.DELETE_ROLE_ASSIGNMENT)
    assert (entry.resource_type, entry.resource_id) == (
        "role_assignment", f"{owner.subscription.subscription_id}/{user.user_principal_name}/owner")
    assert entry.old_value == {"role": "owner", "user_principal_name": user.user_principal_name,
                               "display_name": user.display_name,
                               "subscription_id": str(owner.subscription.subscription_id),
                               "friendly_name": owner.subscription.friendly_name}
    assert entry.new_value is None
    assert_from(entry, actor=admin_agent, customer=customer, origin=origin)


def test_non_admin_agent_cannot_remove_a_role(non_admin_agent, customer, owner, origin):
    with pytest.raises(PermissionDenied):
        remove_role(actor=non_admin_agent, assignment=owner, origin=origin)

    assert list(RoleAssignment.objects.all()) == [owner]
    entry = ActivityLogEntry.objects.get()
    assert_failed(entry, Action.DELETE_ROLE_ASSIGNMENT, REFUSED)
    upn = owner.customer_user.user_principal_name
    assert entry.resource_id == f"{owner.subscription.subscription_id}/{upn}/owner"
    assert entry.old_value["role"] == "owner"
    assert_from(entry, actor=non_admin_agent, customer=customer, origin=origin)


def test_removing_a_role_already_removed_changes_and_logs_nothing(admin_agent, owner, origin):
    RoleAssignment.objects.filter(pk=owner.pk).delete()

    assert remove_role(actor=admin_agent, assignment=owner, origin=origin) is False

    assert not RoleAssignment.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_removing_a_role_twice_logs_it_once(admin_agent, owner, origin):
    assert remove_role(actor=admin_agent, assignment=owner, origin=origin) is True
    assert remove_role(actor=admin_agent, assignment=owner, origin=origin) is False

    assert ActivityLogEntry.objects.count() == 1


def test_inactive_admin_agent_cannot_manage_customers(customer, owner, origin):
    former = AgentFactory(email="former@partner.example", is_active=False)

    with pytest.raises(PermissionDenied):
        remove_role(actor=former, assignment=owner, origin=origin)

    assert RoleAssignment.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert (entry.status, entry.actor_email) == (Status.FAILED, "former@partner.example")


# Rollback: when the log entry cannot be written, the change does not persist. The log write is
# made to fail for real by a trigger on the log table (see tests.activitylog.reject_log_entries),
# so the service under test runs unchanged.


def test_a_customer_is_not_added_when_its_log_entry_fails(admin_agent, origin):
    reject_log_entries("NEW.status = 'succeeded'")

    with pytest.raises(DatabaseError):
        add_customer(actor=admin_agent, company_name="Northwind", domain="northwind.onmicrosoft.com",
                     origin=origin)

    assert not Customer.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_an_azure_plan_is_not_bought_when_its_log_entry_fails(admin_agent, unready_customer, origin):
    reject_log_entries("NEW.status = 'succeeded'")

    with pytest.raises(DatabaseError):
        buy_azure_plan(actor=admin_agent, customer=unready_customer, friendly_name="Azure plan",
                       origin=origin)

    assert not Subscription.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_a_subscription_keeps_its_status_when_the_log_entry_fails(admin_agent, subscription, origin):
    reject_log_entries("NEW.status = 'succeeded'")

    with pytest.raises(DatabaseError):
        set_subscription_status(actor=admin_agent, subscription=subscription, status="suspended",
                                origin=origin)

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert not ActivityLogEntry.objects.exists()


def test_a_customer_user_is_not_added_when_its_log_entry_fails(admin_agent, unready_customer, origin):
    reject_log_entries("NEW.status = 'succeeded'")

    with pytest.raises(DatabaseError):
        add_customer_user(actor=admin_agent, customer=unready_customer,
                          user_principal_name="alex@fabrikam.example", display_name="Alex", origin=origin)

    assert not CustomerUser.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_a_role_is_not_granted_when_its_log_entry_fails(admin_agent, unready_customer, origin):
    subscription = SubscriptionFactory(customer=unready_customer)
    user = CustomerUserFactory(customer=unready_customer)
    reject_log_entries("NEW.status = 'succeeded'")

    with pytest.raises(DatabaseError):
        grant_role(actor=admin_agent, subscription=subscription, customer_user=user, origin=origin)

    assert not RoleAssignment.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_a_role_is_not_removed_when_its_log_entry_fails(admin_agent, owner, origin):
    reject_log_entries("NEW.status = 'succeeded'")

    with pytest.raises(DatabaseError):
        remove_role(actor=admin_agent, assignment=owner, origin=origin)

    assert list(RoleAssignment.objects.all()) == [owner]
    assert not ActivityLogEntry.objects.exists()
