"""The 403 page says what was refused, and that the attempt was recorded when it was."""

from http import HTTPStatus

from django.urls import reverse

from activitylog.models import ActivityLogEntry, Status


def test_a_refused_write_says_what_and_that_it_was_recorded(signed_in, sales_agent, customer):
    response = signed_in(sales_agent).post(
        reverse("customers:user_add", args=[customer.tenant_id]),
        {"user_principal_name": "kim@contoso.example", "display_name": "Kim"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    page = response.content.decode()
    assert "Only Admin agents can add customers, buy subscriptions, add users or change roles." in page
    assert "The refused attempt was recorded in the activity log under your name." in page
    assert ActivityLogEntry.objects.get().status == Status.FAILED


def test_a_refused_page_says_what_but_claims_no_record(signed_in, helpdesk_agent):
    response = signed_in(helpdesk_agent).get(reverse("activitylog:list"))
    assert response.status_code == HTTPStatus.FORBIDDEN
    page = response.content.decode()
    assert "Only Admin agents and Operators can see the Activity log." in page
    assert "recorded" not in page
    assert not ActivityLogEntry.objects.exists()


def test_the_403_page_reads_in_indonesian(signed_in, sales_agent, customer):
    sales_agent.language = "id"
    sales_agent.save()
    response = signed_in(sales_agent).post(reverse("customers:permissions", args=[customer.tenant_id]),
                                           {"AzureReservedInstances": "allow", "AzureSavingsPlan": "deny"})
    page = response.content.decode()
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "Hanya Agen admin yang dapat mengubah izin pembelian pelanggan." in page
    assert "Upaya yang ditolak dicatat di Log Aktivitas atas nama Anda." in page
