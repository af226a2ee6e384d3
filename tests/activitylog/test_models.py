from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from activitylog.models import Action, ActivityLogEntry, AppendOnlyError, Status
from activitylog.services import record

from ..factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(admin_agent, origin) -> ActivityLogEntry:
    customer = CustomerFactory(company_name="Contoso Ltd")
    return record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin, customer=customer,
                  resource_type="customer", resource_id=str(customer.tenant_id),
                  new_value={"company_name": "Contoso Ltd"})


def test_an_entry_cannot_be_saved_again(entry):
    entry.status = Status.FAILED

    with pytest.raises(AppendOnlyError):
        entry.save()

    assert ActivityLogEntry.objects.get().status == Status.SUCCEEDED


def test_an_entry_read_back_cannot_be_saved_either(entry):
    loaded = ActivityLogEntry.objects.get(pk=entry.pk)
    loaded.actor_email = "someone-else@partner.example"

    with pytest.raises(AppendOnlyError):
        loaded.save(update_fields=["actor_email"])

    assert ActivityLogEntry.objects.get().actor_email == "admin@partner.example"


def test_an_entry_cannot_be_deleted(entry):
    with pytest.raises(AppendOnlyError):
        entry.delete()

    assert ActivityLogEntry.objects.filter(pk=entry.pk).exists()


def test_entries_cannot_be_updated_in_bulk(entry):
    with pytest.raises(AppendOnlyError):
        ActivityLogEntry.objects.update(status=Status.FAILED)
    with pytest.raises(AppendOnlyError):
        ActivityLogEntry.objects.filter(pk=entry.pk).update(failure_reason="tampered")

    assert ActivityLogEntry.objects.get().status == Status.SUCCEEDED
    assert ActivityLogEntry.objects.get().failure_reason == ""


def test_entries_cannot_be_rewritten_through_bulk_update(entry):
    entry.failure_reason = "tampered"

    # bulk_update runs in an atomic block without a savepoint; give it one so the test can go on.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        ActivityLogEntry.objects.bulk_update([entry], ["failure_reason"])

    assert ActivityLogEntry.objects.get().failure_reason == ""


def test_entries_cannot_be_deleted_in_bulk(entry):
    with pytest.raises(AppendOnlyError):
        ActivityLogEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        ActivityLogEntry.objects.filter(pk=entry.pk).delete()

    assert ActivityLogEntry.objects.count() == 1


def test_an_entry_keeps_who_acted_and_on_whom_as_text(entry, admin_agent):
    customer = entry.customer
    admin_agent.email = "renamed@partner.example"
    admin_agent.is_active = False
    admin_agent.save()
    customer.company_name = "Contoso Holdings"
    customer.save()

    kept = ActivityLogEntry.objects.get()
    assert kept.actor_email == "admin@partner.example"
    assert kept.customer_name == "Contoso Ltd"
    assert kept.customer_tenant_id == customer.tenant_id
    assert "admin@partner.example" in str(kept)


def test_an_agent_who_acted_cannot_be_deleted(entry, admin_agent):
    with pytest.raises(ProtectedError):
        admin_agent.delete()

    assert ActivityLogEntry.objects.get().actor == admin_agent


def test_a_customer_with_history_cannot_be_deleted(entry):
    with pytest.raises(ProtectedError):
        entry.customer.delete()

    assert ActivityLogEntry.objects.get().customer_name == "Contoso Ltd"


def test_newest_first_orders_by_time_then_by_insertion(admin_agent):
    now = timezone.now()

    def entry_at(when) -> ActivityLogEntry:
        return ActivityLogEntry.objects.create(occurred_at=when, action=Action.CREATE_ORDER,
                                               status=Status.SUCCEEDED, actor_email=admin_agent.email,
                                               source="web")

    yesterday, first, second = entry_at(now - timedelta(days=1)), entry_at(now), entry_at(now)

    assert list(ActivityLogEntry.objects.newest_first()) == [second, first, yesterday]
