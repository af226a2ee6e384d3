from datetime import UTC

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from activitylog.models import Action, ActivityLogEntry, ResourceType, Source, Status
from activitylog.services import Origin, audited, record, refusal_reason
from customers.models import Customer

from ..factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_record_writes_one_succeeded_entry_with_everything_kept_as_text(admin_agent, origin):
    customer = CustomerFactory(company_name="Contoso Ltd")
    before = timezone.now()

    entry = record(action=Action.CREATE_ORDER, actor=admin_agent, origin=origin, customer=customer,
                   resource_type="subscription", resource_id=12345,
                   old_value={"status": "active"}, new_value={"status": "suspended"})

    entry = ActivityLogEntry.objects.get(pk=entry.pk)
    assert before <= entry.occurred_at <= timezone.now()
    assert entry.occurred_at.utcoffset() == UTC.utcoffset(None)
    assert (entry.action, entry.status, entry.failure_reason) == (Action.CREATE_ORDER, Status.SUCCEEDED, "")
    assert (entry.actor, entry.actor_email) == (admin_agent, "admin@partner.example")
    assert (entry.customer, entry.customer_name, entry.customer_tenant_id) == (
        customer, "Contoso Ltd", customer.tenant_id)
    assert (entry.resource_type, entry.resource_id) == ("subscription", "12345")
    assert (entry.old_value, entry.new_value) == ({"status": "active"}, {"status": "suspended"})
    assert (entry.source, entry.request_id, entry.client_ip) == ("web", "test-request", "203.0.113.7")


def test_record_without_an_actor_or_customer_leaves_their_text_empty():
    entry = record(action=Action.ADD_CUSTOMER, actor=None, origin=Origin.system("seed_demo"))

    assert (entry.actor, entry.actor_email) == (None, "")
    assert (entry.customer, entry.customer_name, entry.customer_tenant_id) == (None, "", None)
    assert (entry.source, entry.request_id, entry.client_ip) == (Source.SYSTEM, "seed_demo", None)


def test_record_keeps_a_failure_reason(sales_agent, origin):
    entry = record(action=Action.ADD_CUSTOMER, actor=sales_agent, origin=origin, status=Status.FAILED,
                   failure_reason="Only Admin agents can add customers.")

    assert ActivityLogEntry.objects.get() == entry
    assert (entry.status, entry.failure_reason) == (Status.FAILED, "Only Admin agents can add customers.")
    assert not entry.succeeded


def test_origin_from_a_request_carries_its_id_and_client_ip():
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.23")
    request.request_id = "f2b1c3"
    request.correlation_id = "batch-7"

    assert Origin.from_request(request) == Origin(source=Source.WEB, request_id="f2b1c3",
                                                  correlation_id="batch-7", client_ip="198.51.100.23")
    assert Origin.from_request(request, Source.API).source == Source.API


def test_origin_from_a_request_without_an_address_or_id_has_neither():
    request = RequestFactory().post("/", REMOTE_ADDR="")

    assert Origin.from_request(request) == Origin(source=Source.WEB, request_id="", client_ip=None)


def test_a_refusal_is_recorded_as_failed_and_raised_again(sales_agent, origin):
    customer = CustomerFactory()

    with pytest.raises(PermissionDenied), audited(
        actor=sales_agent, origin=origin, customer=customer, action=Action.CREATE_ORDER,
        resource_type="subscription", new_value={"offer": "azure_plan"},
    ):
        raise PermissionDenied("Only Admin agents can buy subscriptions.")

    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.status) == (Action.CREATE_ORDER, Status.FAILED)
    assert entry.failure_reason == "Only Admin agents can buy subscriptions."
    assert (entry.actor_email, entry.customer_name) == ("sales@partner.example", customer.company_name)
    assert (entry.resource_type, entry.new_value) == ("subscription", {"offer": "azure_plan"})
    assert (entry.request_id, entry.client_ip) == ("test-request", "203.0.113.7")


def test_a_refusal_survives_the_rollback_of_the_work_it_refused(admin_agent, origin):
    refused = audited(actor=admin_agent, origin=origin, action=Action.ADD_CUSTOMER)
    with pytest.raises(ValidationError), refused:
        CustomerFactory(company_name="Half-made customer")
        raise ValidationError("The domain is taken.")

    assert not Customer.objects.exists()
    assert ActivityLogEntry.objects.get().failure_reason == "The domain is taken."


def test_a_service_can_narrow_what_a_refusal_logs(admin_agent, origin):
    with pytest.raises(ValidationError), audited(actor=admin_agent, origin=origin) as audit:
        audit.refused = [
            {"action": Action.CREATE_PURCHASE_PERMISSION, "resource_id": "AzureReservedInstances"},
            {"action": Action.CREATE_PURCHASE_PERMISSION, "resource_id": "AzureSavingsPlan"},
        ]
        raise ValidationError(["Buy an Azure plan first.", "Grant the Owner role first."])

    entries = ActivityLogEntry.objects.order_by("id")
    assert list(entries.values_list("resource_id", "status")) == [
        ("AzureReservedInstances", Status.FAILED), ("AzureSavingsPlan", Status.FAILED)]
    assert {entry.failure_reason for entry in entries} == {
        "Buy an Azure plan first. Grant the Owner role first."}


def test_success_and_other_errors_record_nothing(admin_agent, origin):
    with audited(actor=admin_agent, origin=origin, action=Action.ADD_CUSTOMER):
        pass
    with pytest.raises(ValueError), audited(actor=admin_agent, origin=origin, action=Action.ADD_CUSTOMER):
        raise ValueError("a bug, not a refusal")

    assert not ActivityLogEntry.objects.exists()


def test_a_refusal_without_a_message_still_gives_a_reason():
    assert refusal_reason(PermissionDenied()) == "Permission denied."
    assert refusal_reason(ValidationError({"domain": ["Taken."], "name": ["Required."]})) == (
        "Taken. Required.")


def test_the_described_entry_is_recorded_completed_on_success(admin_agent, origin):
    customer = CustomerFactory(company_name="Contoso Ltd")
    with audited(actor=admin_agent, origin=origin, customer=customer, action=Action.CREATE_ORDER,
                 resource_type=ResourceType.SUBSCRIPTION, new_value={"offer": "azure_plan"}) as audit:
        audit.succeeded(resource_id="sub-1", new_value={"offer": "azure_plan", "status": "active"})

    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.status, entry.customer) == (Action.CREATE_ORDER, Status.SUCCEEDED, customer)
    assert (entry.resource_type, entry.resource_id) == ("subscription", "sub-1")
    assert entry.new_value == {"offer": "azure_plan", "status": "active"}


def test_a_write_inside_a_callers_transaction_fails_loudly_and_writes_nothing(sales_agent, origin):
    """The service owns its transaction: inside someone else's, its refusal would roll back with it."""
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        CustomerFactory()
        with audited(actor=sales_agent, origin=origin, action=Action.ADD_CUSTOMER):
            raise PermissionDenied

    assert not Customer.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_a_refusal_is_logged_even_when_the_refused_work_failed_half_way(sales_agent, origin):
    with pytest.raises(PermissionDenied), audited(actor=sales_agent, origin=origin,
                                                  action=Action.ADD_CUSTOMER) as audit:
        CustomerFactory(company_name="Half-made customer")
        audit.refused = [{"action": Action.ADD_CUSTOMER, "resource_type": ResourceType.CUSTOMER}]
        raise PermissionDenied

    assert not Customer.objects.exists()
    entry = ActivityLogEntry.objects.get()
    assert (entry.status, entry.resource_type, entry.failure_reason) == (
        Status.FAILED, "customer", "Permission denied.")
