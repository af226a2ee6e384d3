"""A refused write's reason: stored in English and language-neutral, shown in the reader's language."""
# ruff: noqa: S608 (raw SQL on our own table's name is what the tampering test is about)

import html
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import translation

from activitylog import chain
from activitylog.models import Action, ActivityLogEntry, Status
from activitylog.services import audited, record, refusal_messages
from customers.models import RoleAssignment
from customers.services import add_customer, grant_role
from permissions.models import Resource
from permissions.services import set_purchase_permissions

from .test_chain import tamper

pytestmark = pytest.mark.django_db

ADMINS_ONLY_EN = "Only Admin agents can add customers, buy subscriptions, add users or change roles."
ADMINS_ONLY_ID = "Hanya Agen admin yang dapat menambahkan pelanggan"
NO_AZURE_EN = "The customer has no active Azure plan or Azure Global subscription."
NO_AZURE_ID = "Pelanggan tidak memiliki langganan paket Azure atau Azure Global yang aktif."


def reason_on_page(client, entry: ActivityLogEntry, language: str) -> str:
    response = client.get(reverse("activitylog:list"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    [shown] = [e for e in response.context["entries"] if e.pk == entry.pk]
    page = html.unescape(response.content.decode())
    assert shown.reason in page
    return shown.reason


def refuse_add_customer(actor, origin, language: str) -> ActivityLogEntry:
    with translation.override(language), pytest.raises(PermissionDenied):
        add_customer(actor=actor, company_name="Tailspin", domain="tailspin.onmicrosoft.com", origin=origin)
    return ActivityLogEntry.objects.get(action=Action.ADD_CUSTOMER, status=Status.FAILED)


def test_a_refusal_in_english_reads_in_indonesian_for_an_indonesian_reader(auditor, sales_agent, origin):
    entry = refuse_add_customer(sales_agent, origin, "en")

    assert entry.failure_reason == ADMINS_ONLY_EN
    assert entry.failure_messages == [{"message": ADMINS_ONLY_EN}]
    shown = reason_on_page(auditor, entry, "id")
    assert shown.startswith(ADMINS_ONLY_ID)
    assert "Admin agents" not in shown


def test_a_refusal_in_indonesian_is_stored_in_english_and_reads_in_english(auditor, sales_agent, origin):
    entry = refuse_add_customer(sales_agent, origin, "id")

    assert entry.failure_reason == ADMINS_ONLY_EN
    assert reason_on_page(auditor, entry, "en") == ADMINS_ONLY_EN
    assert reason_on_page(auditor, entry, "id").startswith(ADMINS_ONLY_ID)


def test_a_lazy_param_is_stored_as_its_msgid_and_translated_when_shown(auditor, admin_agent, customer,
                                                                       origin):
    owner = RoleAssignment.objects.get(subscription__customer=customer, role=RoleAssignment.Role.OWNER)
    with translation.override("id"), pytest.raises(ValidationError):
        grant_role(actor=admin_agent, subscription=owner.subscription, customer_user=owner.customer_user,
                   origin=origin)

    entry = ActivityLogEntry.objects.get(status=Status.FAILED)
    user, subscription = owner.customer_user.display_name, owner.subscription.friendly_name
    assert entry.failure_reason == f"{user} already has the Owner role on {subscription}."
    assert entry.failure_messages == [{
        "message": "%(user)s already has the %(role)s role on %(subscription)s.",
        "params": {"user": user, "role": "Owner", "subscription": subscription},
        "translate": ["role"],
    }]
    assert reason_on_page(auditor, entry, "id") == (
        f"{user} sudah memiliki peran Pemilik pada {subscription}.")
    assert reason_on_page(auditor, entry, "en") == entry.failure_reason
    # Only the role label is translated: the other params are data, kept as written.
    assert RoleAssignment.objects.filter(customer_user=owner.customer_user).count() == 1


def test_every_readiness_step_missing_is_kept_and_translated(auditor, admin_agent, unready_customer, origin):
    with translation.override("id"), pytest.raises(ValidationError):
        set_purchase_permissions(actor=admin_agent, customer=unready_customer,
                                 allowed={Resource.AZURE_RESERVATIONS: True}, origin=origin)

    entry = ActivityLogEntry.objects.get(status=Status.FAILED)
    assert entry.failure_reason.startswith(NO_AZURE_EN)
    assert len(entry.failure_messages) == 2
    assert all(set(message) == {"message"} for message in entry.failure_messages)
    shown = reason_on_page(auditor, entry, "id")
    assert shown.startswith(NO_AZURE_ID)
    assert "Owner" not in shown and "Pemilik" in shown
    assert not unready_customer.purchase_permissions.exists()


def test_plain_text_messages_keep_their_text(admin_agent, origin):
    refused = audited(actor=admin_agent, origin=origin, action=Action.ADD_CUSTOMER)
    with pytest.raises(ValidationError), refused:
        raise ValidationError("Not from our catalogue: %(n)s.", params={"n": 3})

    entry = ActivityLogEntry.objects.get()
    assert entry.failure_reason == "Not from our catalogue: 3."
    assert entry.failure_messages == [{"text": "Not from our catalogue: 3."}]
    with translation.override("id"):
        assert entry.reason == "Not from our catalogue: 3."


def test_a_refusal_without_a_message_is_translatable():
    assert refusal_messages(PermissionDenied()) == [{"message": "Permission denied."}]
    with translation.override("id"):
        assert refusal_messages(PermissionDenied()) == [{"message": "Permission denied."}]


def test_messages_that_no_longer_fit_their_params_fall_back_to_the_stored_text(admin_agent, origin):
    entry = record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin, status=Status.FAILED,
                   failure_reason="Another customer already uses the domain x.example.",
                   failure_messages=[{"message": "Another customer already uses the domain %(domain)s.",
                                      "params": {"renamed": "x.example"}}])
    with translation.override("id"):
        assert entry.reason == "Another customer already uses the domain x.example."


def test_succeeded_entries_store_no_messages(admin_agent, origin):
    entry = record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin)
    assert ActivityLogEntry.objects.get(pk=entry.pk).failure_messages is None


def test_the_csv_export_and_the_api_keep_the_english_reason(auditor, sales_agent, origin, api_client_for):
    entry = refuse_add_customer(sales_agent, origin, "id")

    csv = b"".join(auditor.get(reverse("activitylog:export"), HTTP_ACCEPT_LANGUAGE="id")
                   .streaming_content).decode()
    assert ADMINS_ONLY_EN in csv and ADMINS_ONLY_ID not in csv
    assert "Alasan" in csv.splitlines()[0]  # the headers follow the page's language
    records = api_client_for(auditor).json()["items"]
    [record_] = [r for r in records if r["operationStatus"] == "failed"]
    reasons = {item["key"]: item["value"] for item in record_["customizedData"]}
    assert reasons["failureReason"] == entry.failure_reason == ADMINS_ONLY_EN


@pytest.fixture
def api_client_for(operator):
    from tests.api.conftest import token_for

    def get(client):
        return client.get("/v1/auditrecords", headers={"Authorization": f"Bearer {token_for(operator)}"},
                          HTTP_ACCEPT_LANGUAGE="id")
    return get


# The hash chain: the new field counts only when it is set.

def old_digest(entry: ActivityLogEntry) -> str:
    """The hash as it was computed before failure_messages existed."""
    content = {field: getattr(entry, field) for field in chain.CONTENT_FIELDS}
    return chain.digest(entry.prev_hash, content, chain.keys()[entry.hmac_key_id])


def test_an_entry_without_messages_keeps_the_hash_it_had_before_the_field_existed(admin_agent, origin):
    entry = record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin, status=Status.FAILED,
                   failure_reason="An old refusal.")
    stored = ActivityLogEntry.objects.get(pk=entry.pk)

    assert stored.failure_messages is None
    assert old_digest(stored) == stored.entry_hash
    call_command("verify_activity_log")


def test_an_entry_with_messages_is_hashed_over_them_and_verifies(sales_agent, origin):
    entry = refuse_add_customer(sales_agent, origin, "en")

    assert old_digest(entry) != entry.entry_hash
    assert chain.digest(entry.prev_hash, chain.content_of(entry), chain.keys()[entry.hmac_key_id]) == (
        entry.entry_hash)
    call_command("verify_activity_log")


def test_altering_the_messages_is_detected(sales_agent, origin):
    entry = refuse_add_customer(sales_agent, origin, "en")
    forged = json.dumps([{"message": "Permission denied."}])
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    tamper(f"UPDATE {ActivityLogEntry._meta.db_table} SET failure_messages = %s{cast} WHERE id = %s",
           [forged, entry.pk])

    with pytest.raises(CommandError, match=f"entry {entry.pk}: altered"):
        call_command("verify_activity_log")


def test_removing_the_messages_is_detected(sales_agent, origin):
    entry = refuse_add_customer(sales_agent, origin, "en")
    tamper(f"UPDATE {ActivityLogEntry._meta.db_table} SET failure_messages = NULL WHERE id = %s", [entry.pk])

    with pytest.raises(CommandError, match=f"entry {entry.pk}: altered"):
        call_command("verify_activity_log")
