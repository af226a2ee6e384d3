import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from activitylog.models import Action, ActivityLogEntry, Status
from permissions.models import PurchasePermission, Resource
from permissions.services import set_purchase_permission

pytestmark = pytest.mark.django_db


def test_admin_agent_allows_reservations_for_a_ready_customer(admin_agent, customer, origin):
    changed = set_purchase_permission(actor=admin_agent, customer=customer,
                                      resource=Resource.AZURE_RESERVATIONS, allowed=True,
                                      origin=origin)

    assert changed is True
    permission = PurchasePermission.objects.get(customer=customer)
    assert permission.resource == Resource.AZURE_RESERVATIONS
    assert permission.granted_by == admin_agent
    entry = ActivityLogEntry.objects.get()
    assert entry.action == Action.CREATE_PURCHASE_PERMISSION
    assert entry.status == Status.SUCCEEDED
    assert entry.actor_email == "admin@partner.example"
    assert entry.customer_tenant_id == customer.tenant_id
    assert entry.resource_id == "AzureReservedInstances"
    assert entry.old_value == {"permissions": []}
    assert entry.new_value == {"permissions": [{"resource": "AzureReservedInstances",
                                                "action": "Purchase"}]}


def test_sales_agent_cannot_allow_reservations(sales_agent, customer, origin):
    with pytest.raises(PermissionDenied):
        set_purchase_permission(actor=sales_agent, customer=customer,
                                resource=Resource.AZURE_RESERVATIONS, allowed=True, origin=origin)

    assert not PurchasePermission.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert entry.status == Status.FAILED
    assert entry.actor_email == "sales@partner.example"


def test_turning_on_for_an_unready_customer_names_the_missing_step(admin_agent, unready_customer,
                                                                   origin):
    with pytest.raises(ValidationError) as refused:
        set_purchase_permission(actor=admin_agent, customer=unready_customer,
                                resource=Resource.AZURE_SAVINGS_PLAN, allowed=True, origin=origin)

    assert "Azure plan" in " ".join(refused.value.messages)
    assert not PurchasePermission.objects.exists()
    assert ActivityLogEntry.objects.get().status == Status.FAILED
