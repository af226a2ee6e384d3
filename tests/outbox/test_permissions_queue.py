"""Allow / Don't allow queue the customer's desired SelfServePolicy with the decision, or nothing."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from activitylog.models import ActivityLogEntry, Source
from activitylog.services import Origin
from outbox.models import OutboxChange
from permissions.models import SELF_SERVE_POLICY_CHANGE, Resource
from permissions.services import set_purchase_permissions

from ..factories import CustomerFactory, PurchasePermissionFactory, ready_customer

pytestmark = pytest.mark.django_db

RI, SP = Resource.AZURE_RESERVATIONS, Resource.AZURE_SAVINGS_PLAN
ORIGIN = Origin(source=Source.WEB, request_id="req-1", correlation_id="corr-1")


def test_a_decision_queues_the_customers_whole_desired_state_with_its_correlation_id(admin_agent):
    customer = ready_customer()
    PurchasePermissionFactory(customer=customer, resource=SP)
    set_purchase_permissions(actor=admin_agent, customer=customer, allowed={RI: True}, origin=ORIGIN)
    change = OutboxChange.objects.get()
    assert change.kind == SELF_SERVE_POLICY_CHANGE and change.customer == customer
    assert change.desired == {"permissions": [RI, SP]}
    assert change.correlation_id == "corr-1" and change.actor == admin_agent
    assert change.state == OutboxChange.State.WAITING
    entry = ActivityLogEntry.objects.get()
    assert entry.correlation_id == change.correlation_id

    set_purchase_permissions(actor=admin_agent, customer=customer, allowed={RI: False, SP: False},
                             origin=ORIGIN)
    latest = OutboxChange.objects.order_by("-id").first()
    assert latest.desired == {"permissions": []}
    change.refresh_from_db()
    assert change.state == OutboxChange.State.SUPERSEDED


def test_nothing_is_queued_for_a_no_op_a_refusal_or_a_customer_not_ready(agents):
    customer = ready_customer()
    PurchasePermissionFactory(customer=customer, resource=RI)
    admin = agents["admin_agent"]
    set_purchase_permissions(actor=admin, customer=customer, allowed={RI: True}, origin=ORIGIN)
    for agent in agents.values():
        if agent.role != "admin_agent":
            with pytest.raises(PermissionDenied):
                set_purchase_permissions(actor=agent, customer=customer, allowed={SP: True}, origin=ORIGIN)
    not_ready = CustomerFactory()
    with pytest.raises(ValidationError):
        set_purchase_permissions(actor=admin, customer=not_ready, allowed={RI: True}, origin=ORIGIN)
    assert not OutboxChange.objects.exists()
