"""Dates and numbers in each language's own way; times stay UTC and say so; the CSV export's
headers and action names follow the language while codes and times stay as stored."""

import csv
import datetime as dt
import io
from http import HTTPStatus

import pytest
from django.urls import reverse

from activitylog.models import Action, Source, Status
from permissions.models import Resource
from tests.activitylog import log_entry
from tests.factories import CustomerFactory

LOG_URL = reverse("activitylog:list")
EXPORT_URL = reverse("activitylog:export")
# 17 August, so that the month's Indonesian abbreviation (Agu) differs from the English one (Aug).
WHEN = dt.datetime(2026, 8, 17, 9, 5, 7, tzinfo=dt.UTC)
ON_THAT_DAY = {"date_from": "2026-08-17", "date_to": "2026-08-17"}


@pytest.fixture
def entry(db):
    return log_entry(at=WHEN, action=Action.CREATE_PURCHASE_PERMISSION, status=Status.SUCCEEDED,
                     resource_type="self_serve_policy", resource_id="AzureReservedInstances",
                     source=Source.WEB)


@pytest.mark.parametrize(("language", "shown", "header"), [
    ("en", "17 Aug 2026, 09:05:07", "Date-Time (UTC)"),
    ("id", "17 Agu 2026, 09.05.07", "Tanggal-Waktu (UTC)"),
])
def test_the_activity_log_shows_utc_times_in_the_languages_format(signed_in, operator, entry, language,
                                                                   shown, header):
    response = signed_in(operator).get(LOG_URL, ON_THAT_DAY, HTTP_ACCEPT_LANGUAGE=language)

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert f'<td class="nowrap">{shown}</td>' in html
    assert header in html
    # The date boxes keep ISO dates, which is what a date input needs, in every language.
    assert 'value="2026-08-17"' in html


def test_the_indonesian_date_filter_finds_the_day_in_utc(signed_in, operator, entry):
    log_entry(at=WHEN - dt.timedelta(seconds=WHEN.hour * 3600 + 5 * 60 + 8))  # 16 Aug, 23:59:59 UTC

    response = signed_in(operator).get(LOG_URL, ON_THAT_DAY, HTTP_ACCEPT_LANGUAGE="id")

    assert [shown.pk for shown in response.context["entries"]] == [entry.pk]


def test_a_bad_date_is_refused_in_indonesian(signed_in, operator, entry):
    response = signed_in(operator).get(LOG_URL, {"date_from": "2026-13-45"}, HTTP_ACCEPT_LANGUAGE="id")

    html = response.content.decode()
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Masukkan tanggal yang valid." in html
    assert response.context["entries"] == []


@pytest.mark.parametrize(("language", "shown"), [("en", "17 Aug 2026, 09:05 UTC"),
                                                 ("id", "17 Agu 2026, 09.05 UTC")])
def test_last_changed_is_formatted_for_the_language_and_labelled_utc(signed_in, sales_agent, customer,
                                                                     language, shown):
    log_entry(at=WHEN, customer=customer, customer_name=customer.company_name,
              customer_tenant_id=customer.tenant_id, action=Action.CREATE_PURCHASE_PERMISSION,
              resource_type="self_serve_policy", resource_id=Resource.AZURE_RESERVATIONS.value)

    response = signed_in(sales_agent).get(reverse("customers:account", args=[customer.tenant_id]),
                                          HTTP_ACCEPT_LANGUAGE=language)

    assert f"admin@partner.example, {shown}" in response.content.decode()


def export(client, language: str) -> list[list[str]]:
    response = client.get(EXPORT_URL, ON_THAT_DAY, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == HTTPStatus.OK
    text = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_the_indonesian_export_translates_headers_and_names_but_keeps_codes_and_times(
        signed_in, operator, entry):
    header, row = export(signed_in(operator), "id")

    values = dict(zip(header, row, strict=True))
    assert header[:4] == ["Tanggal-Waktu (UTC)", "Tindakan", "Kode tindakan", "Status"]
    assert values["Tanggal-Waktu (UTC)"] == "2026-08-17 09:05:07"
    assert values["Tindakan"] == "Buat Izin Pembelian Pelanggan"
    assert values["Kode tindakan"] == "create_customer_purchase_permissions"
    assert values["Status"] == "Berhasil"
    assert values["Sumber"] == "Web"
    assert values["Jenis sumber daya"] == "self_serve_policy"
    assert values["ID sumber daya"] == "AzureReservedInstances"


def test_the_export_stays_english_by_default(signed_in, operator, entry):
    header, row = export(signed_in(operator), "")

    assert header[:4] == ["Date-Time (UTC)", "Action", "Action code", "Status"]
    assert row[1] == "Create Customer Purchase Permissions"


def test_page_numbers_follow_the_language_and_links_stay_plain_numbers(signed_in, helpdesk_agent):
    CustomerFactory.create_batch(26)

    html = signed_in(helpdesk_agent).get(reverse("customers:list"), HTTP_ACCEPT_LANGUAGE="id").content
    html = html.decode()

    assert "Halaman 1 dari 2" in html
    assert 'href="?page=2">Berikutnya ›</a>' in html
