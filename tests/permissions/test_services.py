import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError

from activitylog.models import Action, ActivityLogEntry, Status
from customers.models import RoleAssignment, Subscription
from customers.services import remove_role
from permissions.models import PurchasePermission, Resource
from permissions.selectors import permission_set
from permissions.services import (
    Expected,
    NoPolicy,
    PolicyChanged,
    PolicyExists,
    set_purchase_permission,
    set_purchase_permissions,
)

from ..activitylog import assert_from, reject_log_entries
from ..factories import (
    AgentFactory,
    CustomerFactory,
    PurchasePermissionFactory,
    RoleAssignmentFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

RESERVATIONS = Resource.AZURE_RESERVATIONS
SAVINGS_PLAN = Resource.AZURE_SAVINGS_PLAN
NO_AZURE = "no active Azure plan or Azure Global subscription"
NO_OWNER = "No customer user holds the Owner role"


def policy(*resources: str) -> dict:
    return {"permissions": [{"resource": resource, "action": "Purchase"} for resource in resources]}


def allowed_resources(customer) -> set[str]:
    return set(PurchasePermission.objects.filter(customer=customer).values_list("resource", flat=True))


def allow(actor, customer, resource, origin, allowed=True) -> bool:
    return set_purchase_permission(actor=actor, customer=customer, resource=resource,
                                   allowed=allowed, origin=origin)


# Allowed: Admin agents.


def test_admin_agent_allows_reservations_for_a_ready_customer(admin_agent, customer, origin):
    changed = allow(admin_agent, customer, RESERVATIONS, origin)

    assert changed is True
    permission = PurchasePermission.objects.get(customer=customer)
    assert permission.resource == RESERVATIONS
    assert permission.granted_by == admin_agent
    entry = ActivityLogEntry.objects.get()
    assert entry.action == Action.CREATE_PURCHASE_PERMISSION
    assert entry.status == Status.SUCCEEDED
    assert entry.failure_reason == ""
    assert entry.resource_type == "self_serve_policy"
    assert entry.resource_id == "AzureReservedInstances"
    assert entry.old_value == {"permissions": []}
    assert entry.new_value == {"permissions": [{"resource": "AzureReservedInstances",
                                                "action": "Purchase"}]}
    assert_from(entry, actor=admin_agent, customer=customer, origin=origin)


def test_admin_agent_allows_savings_plans_beside_reservations(admin_agent, customer, origin):
    PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)

    assert allow(admin_agent, customer, SAVINGS_PLAN, origin) is True

    assert allowed_resources(customer) == {RESERVATIONS, SAVINGS_PLAN}
    entry = ActivityLogEntry.objects.get()
    assert entry.action == Action.CREATE_PURCHASE_PERMISSION
    assert entry.resource_id == "AzureSavingsPlan"
    assert entry.old_value == policy(RESERVATIONS)
    assert entry.new_value == policy(RESERVATIONS, SAVINGS_PLAN)


def test_admin_agent_disallows_reservations(admin_agent, customer, origin):
    PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)

    assert allow(admin_agent, customer, RESERVATIONS, origin, allowed=False) is True

    assert allowed_resources(customer) == set()
    entry = ActivityLogEntry.objects.get()
    assert entry.action == Action.DELETE_PURCHASE_PERMISSION
    assert entry.status == Status.SUCCEEDED
    assert entry.resource_type == "self_serve_policy"
    assert entry.resource_id == "AzureReservedInstances"
    assert entry.old_value == policy(RESERVATIONS)
    assert entry.new_value == policy()
    assert_from(entry, actor=admin_agent, customer=customer, origin=origin)


def test_admin_agent_changes_both_permissions_in_one_request(admin_agent, customer, origin):
    PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)

    changed = set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                                       allowed={RESERVATIONS: False, SAVINGS_PLAN: True})

    assert set(changed) == {RESERVATIONS, SAVINGS_PLAN}
    assert allowed_resources(customer) == {SAVINGS_PLAN}
    entries = list(ActivityLogEntry.objects.order_by("id"))
    assert [(e.action, e.resource_id, e.status) for e in entries] == [
        (Action.DELETE_PURCHASE_PERMISSION, RESERVATIONS, Status.SUCCEEDED),
        (Action.CREATE_PURCHASE_PERMISSION, SAVINGS_PLAN, Status.SUCCEEDED),
    ]
    # Each entry shows the policy just before and just after its own step.
    assert (entries[0].old_value, entries[0].new_value) == (policy(RESERVATIONS), policy())
    assert (entries[1].old_value, entries[1].new_value) == (policy(), policy(SAVINGS_PLAN))


def test_azure_global_with_an_owner_is_ready_too(admin_agent, origin):
    assignment = RoleAssignmentFactory(subscription__offer=Subscription.Offer.AZURE_GLOBAL)
    customer = assignment.subscription.customer

    assert allow(admin_agent, customer, SAVINGS_PLAN, origin) is True

    assert allowed_resources(customer) == {SAVINGS_PLAN}


def test_unknown_resource_is_rejected_before_anything_happens(admin_agent, customer, origin):
    with pytest.raises(ValueError):
        allow(admin_agent, customer, "AzureEverything", origin)

    assert not PurchasePermission.objects.exists()
    assert not ActivityLogEntry.objects.exists()


# Refused: every other role, and inactive Admin agents.


@pytest.mark.parametrize("allowed", [True, False], ids=["allow", "disallow"])
def test_non_admin_agent_cannot_change_a_permission(non_admin_agent, customer, origin, allowed):
    if not allowed:
        PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)
    before = allowed_resources(customer)

    with pytest.raises(PermissionDenied):
        allow(non_admin_agent, customer, RESERVATIONS, origin, allowed=allowed)

    assert allowed_resources(customer) == before
    entry = ActivityLogEntry.objects.get()
    assert entry.status == Status.FAILED
    assert entry.failure_reason == "Only Admin agents can change customer purchase permissions."
    assert entry.action == (Action.CREATE_PURCHASE_PERMISSION if allowed
                            else Action.DELETE_PURCHASE_PERMISSION)
    assert entry.resource_type == "self_serve_policy"
    assert entry.resource_id == "AzureReservedInstances"
    assert_from(entry, actor=non_admin_agent, customer=customer, origin=origin)


def test_sales_agent_cannot_allow_reservations(sales_agent, customer, origin):
    with pytest.raises(PermissionDenied):
        allow(sales_agent, customer, RESERVATIONS, origin)

    assert not PurchasePermission.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert entry.status == Status.FAILED
    assert entry.actor_email == "sales@partner.example"


def test_non_admin_refusal_of_two_changes_logs_each_refused_change(non_admin_agent, customer, origin):
    with pytest.raises(PermissionDenied):
        set_purchase_permissions(actor=non_admin_agent, customer=customer, origin=origin,
                                 allowed={RESERVATIONS: True, SAVINGS_PLAN: True})

    assert not PurchasePermission.objects.exists()
    assert sorted(ActivityLogEntry.objects.values_list("resource_id", "status")) == [
        (RESERVATIONS, Status.FAILED), (SAVINGS_PLAN, Status.FAILED),
    ]


def test_inactive_admin_agent_cannot_allow_reservations(customer, origin):
    former = AgentFactory(email="former@partner.example", is_active=False)

    with pytest.raises(PermissionDenied):
        allow(former, customer, RESERVATIONS, origin)

    assert not PurchasePermission.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert (entry.status, entry.actor_email) == (Status.FAILED, "former@partner.example")


# Readiness: turning on needs an active Azure subscription with an Owner on it.


def no_subscription():
    return CustomerFactory()


def only_microsoft_365():
    return SubscriptionFactory(offer=Subscription.Offer.MICROSOFT_365,
                               friendly_name="Microsoft 365 Business Standard").customer


def suspended_azure_plan_with_owner():
    return RoleAssignmentFactory(subscription__status=Subscription.Status.SUSPENDED).subscription.customer


def cancelled_azure_plan_with_owner():
    return RoleAssignmentFactory(subscription__status=Subscription.Status.CANCELLED).subscription.customer


def azure_plan_without_any_role():
    return SubscriptionFactory().customer


def azure_plan_with_contributor_and_reader_only():
    subscription = SubscriptionFactory()
    for role in (RoleAssignment.Role.CONTRIBUTOR, RoleAssignment.Role.READER):
        RoleAssignmentFactory(subscription=subscription, role=role)
    return subscription.customer


def owner_only_on_a_suspended_subscription_beside_an_active_one():
    customer = suspended_azure_plan_with_owner()
    SubscriptionFactory(customer=customer, friendly_name="Production")
    return customer


@pytest.mark.parametrize(("make_customer", "missing"), [
    pytest.param(make, missing, id=make.__name__) for make, missing in [
        (no_subscription, [NO_AZURE, NO_OWNER]),
        (only_microsoft_365, [NO_AZURE, NO_OWNER]),
        # The advice names the cause: reactivate the plan (not buy another), which restores its Owner.
        (suspended_azure_plan_with_owner, ["The customer's Azure plan is suspended. Reactivate it",
                                           "The Owner holds the role on the suspended Azure plan"]),
        (cancelled_azure_plan_with_owner, [NO_AZURE, NO_OWNER]),
        (azure_plan_without_any_role, [NO_OWNER]),
        (azure_plan_with_contributor_and_reader_only, [NO_OWNER]),
        (owner_only_on_a_suspended_subscription_beside_an_active_one, [NO_OWNER]),
    ]
])
@pytest.mark.parametrize("resource", list(Resource))
def test_turning_on_for_an_unready_customer_names_the_missing_steps(admin_agent, origin, make_customer,
                                                                    missing, resource):
    customer = make_customer()

    with pytest.raises(ValidationError) as refused:
        allow(admin_agent, customer, resource, origin)

    messages = refused.value.messages
    assert len(messages) == len(missing)
    for message, expected in zip(messages, missing, strict=True):
        assert expected in message
    assert {error.code for error in refused.value.error_list} == {"not_ready"}
    assert not PurchasePermission.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert entry.status == Status.FAILED
    assert entry.action == Action.CREATE_PURCHASE_PERMISSION
    assert entry.resource_id == resource
    assert entry.failure_reason == " ".join(messages)
    assert_from(entry, actor=admin_agent, customer=customer, origin=origin)


def test_turning_on_for_an_unready_customer_names_the_missing_step(admin_agent, unready_customer, origin):
    with pytest.raises(ValidationError) as refused:
        allow(admin_agent, unready_customer, SAVINGS_PLAN, origin)

    assert "Azure plan" in " ".join(refused.value.messages)
    assert not PurchasePermission.objects.exists()
    assert ActivityLogEntry.objects.get().status == Status.FAILED


def test_turning_off_is_allowed_after_the_last_owner_is_removed(admin_agent, customer, origin):
    allow(admin_agent, customer, RESERVATIONS, origin)
    remove_role(actor=admin_agent, assignment=RoleAssignment.objects.get(), origin=origin)

    assert allow(admin_agent, customer, RESERVATIONS, origin, allowed=False) is True

    assert not PurchasePermission.objects.exists()
    assert list(ActivityLogEntry.objects.order_by("id").values_list("action", "status")) == [
        (Action.CREATE_PURCHASE_PERMISSION, Status.SUCCEEDED),
        (Action.DELETE_ROLE_ASSIGNMENT, Status.SUCCEEDED),
        (Action.DELETE_PURCHASE_PERMISSION, Status.SUCCEEDED),
    ]


@pytest.mark.parametrize("make_customer", [no_subscription, only_microsoft_365,
                                           suspended_azure_plan_with_owner],
                         ids=lambda make: make.__name__)
def test_turning_off_is_never_refused_for_readiness(admin_agent, origin, make_customer):
    customer = make_customer()
    PurchasePermissionFactory(customer=customer, resource=SAVINGS_PLAN)

    assert allow(admin_agent, customer, SAVINGS_PLAN, origin, allowed=False) is True

    assert not PurchasePermission.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.status) == (Action.DELETE_PURCHASE_PERMISSION, Status.SUCCEEDED)


def test_one_refused_turn_on_refuses_the_whole_request(admin_agent, unready_customer, origin):
    PurchasePermissionFactory(customer=unready_customer, resource=RESERVATIONS)

    with pytest.raises(ValidationError):
        set_purchase_permissions(actor=admin_agent, customer=unready_customer, origin=origin,
                                 allowed={RESERVATIONS: False, SAVINGS_PLAN: True})

    # The turn-off alone would have been fine, but the request is all or nothing.
    assert allowed_resources(unready_customer) == {RESERVATIONS}
    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.resource_id, entry.status) == (
        Action.CREATE_PURCHASE_PERMISSION, SAVINGS_PLAN, Status.FAILED)


# No-ops: asking for the state a permission already has.


@pytest.mark.parametrize("allowed", [True, False], ids=["already_on", "already_off"])
def test_setting_a_permission_to_its_current_state_changes_and_logs_nothing(admin_agent, customer,
                                                                            origin, allowed):
    if allowed:
        existing = PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)

    assert allow(admin_agent, customer, RESERVATIONS, origin, allowed=allowed) is False

    if allowed:
        kept = PurchasePermission.objects.get()
        assert (kept.pk, kept.granted_by, kept.granted_at) == (
            existing.pk, existing.granted_by, existing.granted_at)
    else:
        assert not PurchasePermission.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_no_op_is_not_refused_for_an_unready_customer(admin_agent, unready_customer, origin):
    PurchasePermissionFactory(customer=unready_customer, resource=RESERVATIONS)

    changed = set_purchase_permissions(actor=admin_agent, customer=unready_customer, origin=origin,
                                       allowed={RESERVATIONS: True, SAVINGS_PLAN: False})

    assert changed == []
    assert allowed_resources(unready_customer) == {RESERVATIONS}
    assert not ActivityLogEntry.objects.exists()


def test_only_the_real_change_of_a_request_is_logged(admin_agent, customer, origin):
    PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)

    changed = set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                                       allowed={RESERVATIONS: True, SAVINGS_PLAN: True})

    assert changed == [SAVINGS_PLAN]
    assert list(ActivityLogEntry.objects.values_list("resource_id", flat=True)) == [SAVINGS_PLAN]


def test_repeating_a_request_is_harmless(admin_agent, customer, origin):
    assert allow(admin_agent, customer, RESERVATIONS, origin) is True
    assert allow(admin_agent, customer, RESERVATIONS, origin) is False

    assert PurchasePermission.objects.count() == 1
    assert ActivityLogEntry.objects.count() == 1


# Rollback: the change and its log entry commit together or not at all. The log write is made to
# fail for real by a trigger on the log table (see tests.activitylog.reject_log_entries), so the
# service under test runs unchanged.


def test_when_the_log_entry_cannot_be_written_the_permission_is_not_changed(admin_agent, customer,
                                                                          origin):
    reject_log_entries("NEW.status = 'succeeded'")

    with pytest.raises(DatabaseError):
        allow(admin_agent, customer, RESERVATIONS, origin)

    assert not PurchasePermission.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_when_the_log_entry_cannot_be_written_the_permission_is_not_removed(admin_agent, customer,
                                                                          origin):
    PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)
    reject_log_entries("NEW.status = 'succeeded'")

    with pytest.raises(DatabaseError):
        allow(admin_agent, customer, RESERVATIONS, origin, allowed=False)

    assert allowed_resources(customer) == {RESERVATIONS}
    assert not ActivityLogEntry.objects.exists()


def test_when_the_second_log_entry_fails_the_first_change_is_undone_too(admin_agent, customer, origin):
    # The reservations change and its entry are written; the savings plan's entry is refused.
    reject_log_entries("NEW.resource_id = 'AzureSavingsPlan'")

    with pytest.raises(DatabaseError):
        set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                                 allowed={RESERVATIONS: True, SAVINGS_PLAN: True})

    assert not PurchasePermission.objects.exists()
    assert not ActivityLogEntry.objects.exists()


# What a caller expected (the API's etag), checked under the service's lock before the role check.


def test_a_stale_version_changes_and_logs_nothing_for_any_role(any_agent, customer, origin):
    PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)
    stale = permission_set(customer).version
    PurchasePermission.objects.filter(customer=customer).delete()
    PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)

    with pytest.raises(PolicyChanged):
        set_purchase_permissions(actor=any_agent, customer=customer, origin=origin,
                                 allowed={RESERVATIONS: False}, expected=Expected(exists=True, version=stale))

    assert allowed_resources(customer) == {RESERVATIONS}
    assert not ActivityLogEntry.objects.exists()


def test_the_current_version_lets_the_change_through(admin_agent, customer, origin):
    PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)
    current = permission_set(customer).version

    changed = set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                                       allowed={RESERVATIONS: False, SAVINGS_PLAN: True},
                                       expected=Expected(exists=True, version=current))

    assert set(changed) == {RESERVATIONS, SAVINGS_PLAN}
    assert permission_set(customer).version != current


@pytest.mark.parametrize(("expected", "error"), [
    (Expected(exists=True), NoPolicy),
    (Expected(exists=True, version="anything"), NoPolicy),
], ids=["missing", "missing_with_version"])
def test_expecting_permissions_that_are_not_there_is_no_refusal(non_admin_agent, customer, origin, expected,
                                                                 error):
    with pytest.raises(error):
        set_purchase_permissions(actor=non_admin_agent, customer=customer, origin=origin,
                                 allowed={RESERVATIONS: True}, expected=expected)

    assert allowed_resources(customer) == set()
    assert not ActivityLogEntry.objects.exists()


def test_expecting_no_permission_where_there_is_one_is_no_refusal(admin_agent, customer, origin):
    PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)

    with pytest.raises(PolicyExists):
        set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                                 allowed={SAVINGS_PLAN: True}, expected=Expected(exists=False))

    assert allowed_resources(customer) == {RESERVATIONS}
    assert not ActivityLogEntry.objects.exists()


def test_a_service_called_inside_a_callers_transaction_fails_loudly(sales_agent, customer, origin):
    from django.db import transaction

    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        allow(sales_agent, customer, RESERVATIONS, origin)

    assert allowed_resources(customer) == set()
    assert not ActivityLogEntry.objects.exists()
