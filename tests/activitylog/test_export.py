"""Export log: exactly the filtered entries, as CSV a spreadsheet opens safely."""

import csv
import datetime as dt
import io
import json
import re
import uuid
from http import HTTPStatus
from urllib.parse import parse_qsl

import pytest
from django.urls import reverse
from django.utils import timezone

from activitylog import views
from activitylog.models import Action, ActivityLogEntry, Source, Status
from activitylog.services import record
from portal.models import Agent

from . import log_entry

pytestmark = pytest.mark.django_db

EXPORT_URL = "/activity-log/export.csv"
HEADER = ["Date-Time (UTC)", "Action", "Action code", "Status", "Reason", "Performed by",
          "Affected customer", "Customer tenant id", "Resource type", "Resource id", "Old value",
          "New value", "Source", "Request id", "Correlation id", "Client IP"]


def download(client, **params) -> tuple[str, list[dict]]:
    """The raw text and the rows of an export."""
    response = client.get(EXPORT_URL, params)
    assert response.status_code == HTTPStatus.OK
    text = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    return text, rows


def test_the_export_url_is_where_the_product_says():
    assert reverse("activitylog:export") == EXPORT_URL


def test_only_admin_agents_and_operators_can_export(client, any_agent):
    log_entry()
    client.force_login(any_agent)

    response = client.get(EXPORT_URL)

    if any_agent.role in (Agent.Role.ADMIN_AGENT, Agent.Role.OPERATOR):
        assert response.status_code == HTTPStatus.OK
        assert b"Contoso Ltd" in b"".join(response.streaming_content)
    else:
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert not response.streaming
        assert b"Contoso Ltd" not in response.content


def test_the_export_streams_a_csv_attachment(auditor):
    log_entry()

    response = auditor.get(EXPORT_URL)

    assert response.streaming is True
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="activity-log-')
    assert response["Content-Disposition"].endswith('.csv"')


def test_the_export_starts_with_a_bom_and_the_header(auditor):
    text, rows = download(auditor)

    assert text.startswith("\ufeff\"Date-Time (UTC)\",\"Action\",")
    assert next(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == HEADER
    assert rows == []


def test_the_export_holds_each_field_of_an_entry(auditor, admin_agent, customer, origin):
    entry = record(action=Action.CREATE_PURCHASE_PERMISSION, actor=admin_agent, origin=origin,
                   customer=customer, resource_type="self_serve_policy",
                   resource_id="AzureSavingsPlan", old_value={"permissions": []},
                   new_value={"permissions": [{"resource": "AzureSavingsPlan", "action": "Purchase"}]})

    _text, [row] = download(auditor)

    assert row == {
        "Date-Time (UTC)": entry.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
        "Action": "Create Customer Purchase Permissions",
        "Action code": "create_customer_purchase_permissions",
        "Status": "Succeeded",
        "Reason": "",
        "Performed by": "admin@partner.example",
        "Affected customer": "Contoso Ltd",
        "Customer tenant id": str(customer.tenant_id),
        "Resource type": "self_serve_policy",
        "Resource id": "AzureSavingsPlan",
        "Old value": row["Old value"],
        "New value": row["New value"],
        "Source": "Web",
        "Request id": "test-request",
        "Correlation id": "",
        "Client IP": "203.0.113.7",
    }
    assert json.loads(row["Old value"]) == {"permissions": []}
    assert json.loads(row["New value"]) == {
        "permissions": [{"resource": "AzureSavingsPlan", "action": "Purchase"}]}


@pytest.fixture
def varied_log(db):
    litware = uuid.UUID("22222222-2222-4222-8222-222222222222")
    return {
        "old": log_entry(days_ago=40),
        "contoso_add": log_entry(days_ago=5),
        "contoso_perm": log_entry(days_ago=4, action=Action.CREATE_PURCHASE_PERMISSION),
        "litware_failed": log_entry(days_ago=3, action=Action.CREATE_PURCHASE_PERMISSION,
                                    status=Status.FAILED, failure_reason="Only Admin agents",
                                    actor_email="sales@partner.example", customer_name="Litware",
                                    customer_tenant_id=litware),
        "litware_api": log_entry(days_ago=2, action=Action.CREATE_ORDER, source=Source.API,
                                 customer_name="Litware", customer_tenant_id=litware),
    }


@pytest.mark.parametrize("params, expected", [
    ({}, ["litware_api", "litware_failed", "contoso_perm", "contoso_add"]),
    ({"customer": "litware"}, ["litware_api", "litware_failed"]),
    ({"customer": "22222222-2222-4222-8222-222222222222", "status": "failed"}, ["litware_failed"]),
    ({"action": "create_customer_purchase_permissions"}, ["litware_failed", "contoso_perm"]),
    ({"performed_by": "sales"}, ["litware_failed"]),
    ({"source": "api"}, ["litware_api"]),
    ({"date_from": (timezone.now() - dt.timedelta(days=60)).date().isoformat(), "customer": "contoso"},
     ["contoso_perm", "contoso_add", "old"]),
    ({"customer": "nobody"}, []),
    ({"performed_by": "nobody"}, []),
])
def test_the_export_holds_exactly_the_filtered_entries_newest_first(auditor, varied_log, params, expected):
    _text, rows = download(auditor, **params)

    exported = [(row["Date-Time (UTC)"], row["Action code"], row["Affected customer"], row["Status"])
                for row in rows]
    assert exported == [
        (varied_log[name].occurred_at.strftime("%Y-%m-%d %H:%M:%S"), varied_log[name].action,
         varied_log[name].customer_name, varied_log[name].get_status_display())
        for name in expected
    ]


def test_the_export_is_not_cut_at_one_page_or_at_800_entries(auditor):
    ActivityLogEntry.objects.bulk_create([
        ActivityLogEntry(occurred_at=timezone.now() - dt.timedelta(minutes=n), action=Action.ADD_CUSTOMER,
                         status=Status.SUCCEEDED, actor_email="admin@partner.example",
                         customer_name=f"Customer {n}", source=Source.WEB)
        for n in range(2100)
    ])

    _text, rows = download(auditor)

    assert len(rows) == 2100
    assert rows[0]["Affected customer"] == "Customer 0"
    assert rows[-1]["Affected customer"] == "Customer 2099"


def test_the_export_ignores_page_cursors(auditor, varied_log):
    _text, rows = download(auditor, before="garbage", after="2024-01-01T00:00:00+00:00_1")

    assert len(rows) == 4


@pytest.mark.parametrize("name", [
    "=HYPERLINK(\"http://evil.example\",\"Click\")",
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=cmd",
    "\r=cmd",
])
def test_a_cell_that_a_spreadsheet_would_run_is_neutralised(auditor, name):
    log_entry(customer_name=name, actor_email="=evil@partner.example", failure_reason="+reason")

    _text, [row] = download(auditor)

    assert row["Affected customer"] == "'" + name
    assert row["Performed by"] == "'=evil@partner.example"
    assert row["Reason"] == "'+reason"


def test_ordinary_cells_are_left_alone(auditor):
    log_entry(customer_name="Contoso - East", actor_email="a-b@partner.example")

    _text, [row] = download(auditor)

    assert row["Affected customer"] == "Contoso - East"
    assert row["Performed by"] == "a-b@partner.example"


@pytest.mark.parametrize("name", ["株式会社テスト", "Пример", "Café Müller, \"Zürich\"", "line\nbreak"])
def test_names_in_any_script_survive_the_export(auditor, name):
    log_entry(customer_name=name, new_value={"display_name": name})

    text, [row] = download(auditor)

    assert row["Affected customer"] == name
    assert json.loads(row["New value"]) == {"display_name": name}
    if "\n" not in name and '"' not in name:
        assert name in text


@pytest.mark.parametrize("params", [
    {"date_from": "2024-05-02", "date_to": "2024-05-01"},
    {"date_from": "2024-13-45"},
    {"status": "maybe"},
])
def test_a_bad_filter_gives_a_form_error_not_a_file(auditor, params):
    log_entry()

    response = auditor.get(EXPORT_URL, params)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not response.streaming
    assert "Content-Disposition" not in response
    assert b"Contoso Ltd" not in response.content


def test_the_export_link_on_the_page_downloads_the_same_entries(auditor, varied_log):
    page = auditor.get(reverse("activitylog:list"), {"customer": "litware"})
    link = page.context["export_query"]

    _text, rows = download(auditor, **dict(parse_qsl(link)))

    assert [row["Affected customer"] for row in rows] == [e.customer_name for e in page.context["entries"]]


QUOTED_LINE = r'^"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*$'


def test_every_cell_is_quoted_so_a_semicolon_cannot_start_a_formula_cell(auditor):
    # A spreadsheet with ";" as its list separator would split an unquoted Acme;=2+5; and run =2+5.
    log_entry(customer_name="Acme;=2+5;", failure_reason="a;-1+1", customer_tenant_id=None)

    text, [row] = download(auditor)

    assert row["Customer tenant id"] == row["Correlation id"] == ""
    header, line = text.removeprefix("\ufeff").splitlines()
    assert re.match(QUOTED_LINE, header)
    assert re.match(QUOTED_LINE, line), line  # empty cells too: ""


def test_a_formula_after_a_list_separator_inside_a_cell_is_neutralised(auditor):
    # Such a spreadsheet honours quotes only at the start of the fields it splits: "x","Acme;=2+5;" still
    # gives it a field =2+5;, so the formula start after the separator gets the leading quote too.
    log_entry(customer_name="Acme;=2+5;", failure_reason="a,-1+1;@SUM(A1)", customer_tenant_id=None)

    text, [row] = download(auditor)

    assert row["Affected customer"] == "Acme;'=2+5;"
    assert row["Reason"] == "a,'-1+1;'@SUM(A1)"
    line = text.removeprefix("\ufeff").splitlines()[1]
    for separator in ";,":
        fields = [field.strip('"') for field in line.split(separator)]
        assert not [field for field in fields if field[:1] in ("=", "+", "-", "@")], separator


def test_both_export_paths_write_the_same_cells(needs_postgres, auditor, admin_agent, customer, origin):
    # PostgreSQL exports with COPY; the Python path (SQLite's) must give the same cells, quoted the same.
    log_entry(customer_name="Acme;=2+5;", actor_email="=x@partner.example", customer_tenant_id=None)
    record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin, customer=customer,
           resource_type="customer", new_value={"company_name": customer.company_name})
    entries = ActivityLogEntry.objects.newest_first()

    copied = b"".join(views._copied_rows(entries)).decode()
    written = "".join(views._written_rows(entries)).replace("\r\n", "\n")

    assert copied == written
    assert all(re.match(QUOTED_LINE, line) for line in copied.removeprefix("\ufeff").splitlines())
