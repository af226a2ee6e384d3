"""Partner Center's activity log, imported (issue 11 step 6), against the simulator over real HTTPS:
windows of at most 30 days, paging, each record once, catch-up after a gap, spoilt pages, and where the
imported records show (the Activity log page, its CSV export, the portal's /v1/auditrecords)."""

import csv
import html
import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from activitylog.chain import verify
from activitylog.models import ActivityLogEntry, Source
from activitylog.services import Origin
from activitylog.services import record as log
from api.models import ApiToken, digest
from customers.models import Customer
from microsoft.audit_import import run_import, windows
from microsoft.audit_tasks import import_audit_records, schedule
from microsoft.models import AuditImportRun, AuditImportState, ImportedAuditRecord
from microsoft.scenario import CustomerBuilder, scenario

from .conftest import PARTNER

CONTOSO = CustomerBuilder("Contoso Ltd")
FABRIKAM = CustomerBuilder("Fabrikam")


def record(n: int, when: datetime, *, customer=CONTOSO, operation="create_order", resource="order",
           status="succeeded", user="buyer@contoso.example", old=None, new="{\"quantity\": 1}") -> dict:
    """An audit record as Partner Center writes it (MICROSOFT.md §4.3)."""
    return {"id": str(uuid.UUID(int=n)), "partnerId": PARTNER.tenant_id,
            "customerId": customer.tenant_id, "customerName": customer.doc["companyName"],
            "userPrincipalName": user, "applicationId": PARTNER.app_id,
            "sessionId": str(uuid.UUID(int=n + 1)),
            "resourceType": resource, "resourceOldValue": old, "resourceNewValue": new,
            "operationType": operation, "originalCorrelationId": str(uuid.UUID(int=10**6 + n)),
            "operationDate": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "operationStatus": status,
            "customizedData": [{"key": "OrderId", "value": f"order-{n}"}],
            "attributes": {"objectType": "AuditRecord"}}


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def load(microsoft):
    """Put audit records in the simulator (customers Contoso, known to the portal, and Fabrikam, not)."""
    Customer.objects.create(tenant_id=CONTOSO.tenant_id, company_name="Contoso Ltd",
                            domain="contoso.onmicrosoft.com")

    def put(records: list[dict], **settings) -> None:
        doc = scenario(PARTNER, [CONTOSO, FABRIKAM])
        doc["auditRecords"] = records
        microsoft.sim.control.put_state(doc)
        if settings:
            microsoft.sim.control.settings(**settings)
        microsoft.sim.control.clear_requests()

    return put


def audit_requests(sim) -> list[dict]:
    return [r for r in sim.control.requests() if r["path"].endswith("/v1/auditrecords")]


def window_of(request: dict) -> tuple[date, date] | None:
    query = parse_qs(request["query"])
    if "startDate" not in query:
        return None   # a next page: the window of the page before
    return date.fromisoformat(query["startDate"][0]), date.fromisoformat(query["endDate"][0])


def token_for(agent) -> str:
    prefix, secret, raw = ApiToken.new_secret()
    ApiToken.objects.create(owner=agent, name="audit", prefix=prefix, secret_hash=digest(secret))
    return raw


def imported():
    return ActivityLogEntry.objects.filter(source=Source.PARTNER_CENTER)


def test_the_first_import_reads_90_days_in_windows_of_at_most_30_and_keeps_each_record(microsoft, load, now):
    load([record(n, now - timedelta(days=n, hours=1)) for n in range(0, 89)])

    result = run_import()

    assert result.outcome == "succeeded"
    asked = [window_of(r) for r in audit_requests(microsoft.sim)]
    first_pages = [w for w in asked if w is not None]
    assert len(first_pages) >= 3
    assert all((end - start).days + 1 <= 30 for start, end in first_pages)
    today = now.date()
    assert first_pages[0][0] == today - timedelta(days=89) and first_pages[-1][1] == today
    # Consecutive, no day missed and none twice.
    for (_s, end), (start, _e) in zip(first_pages, first_pages[1:], strict=False):
        assert start == end + timedelta(days=1)
    assert all(r["status"] == 200 for r in audit_requests(microsoft.sim))
    assert imported().count() == 89 == ImportedAuditRecord.objects.count()
    assert AuditImportState.get().imported_through == today
    assert verify().broken is None


def test_an_entry_keeps_the_record_as_partner_center_wrote_it(microsoft, load, now):
    when = now - timedelta(days=3)
    load([record(7, when, operation="update_customer_qualification", resource="customer", status="failed",
                 user="ops@partner.example", old="{\"qualification\": \"none\"}",
                 new="{\"qualification\": \"education\"}"),
          record(8, when + timedelta(minutes=1), customer=FABRIKAM, operation="some_operation_added_later",
                 resource="a_new_resource", status="progress", new="not JSON at all")])

    run_import()

    qualification = imported().get(action="update_customer_qualification")
    assert (qualification.status, qualification.actor_email, qualification.resource_type) == (
        "failed", "ops@partner.example", "customer")
    assert qualification.actor is None
    assert qualification.customer.tenant_id == uuid.UUID(CONTOSO.tenant_id)
    assert qualification.customer_name == "Contoso Ltd"
    assert qualification.old_value == {"qualification": "none"}
    assert qualification.new_value == {"qualification": "education"}
    assert qualification.correlation_id == str(uuid.UUID(int=10**6 + 7))
    kept = qualification.source_record
    assert kept["id"] == str(uuid.UUID(int=7))
    assert kept["operationDate"].startswith(when.strftime("%Y-%m-%dT%H:%M:%S"))
    assert kept["customizedData"] == [{"key": "OrderId", "value": "order-7"}]
    assert kept["applicationId"] == PARTNER.app_id
    # Unknown to the portal: kept as it came, never a crash; a customer the portal does not hold is named.
    later = imported().get(action="some_operation_added_later")
    assert (later.status, later.resource_type, later.new_value) == ("progress", "a_new_resource",
                                                                   "not JSON at all")
    assert later.customer is None and later.customer_tenant_id == uuid.UUID(FABRIKAM.tenant_id)
    assert later.customer_name == "Fabrikam"
    assert later.get_action_display() == "some_operation_added_later"
    assert verify().broken is None


def test_paging_follows_the_continuation_token(microsoft, load, now):
    load([record(n, now - timedelta(days=2, minutes=n)) for n in range(23)],
         pageSize={"auditRecords": 5})

    result = run_import(days=5)

    pages = audit_requests(microsoft.sim)
    assert result.outcome == "succeeded"
    assert len(pages) == 5   # 23 records, 5 a page, one window
    assert [window_of(r) is None for r in pages] == [False, True, True, True, True]
    assert all(r["status"] == 200 for r in pages)
    assert imported().count() == 23
    assert len(set(imported().values_list("source_record__id", flat=True))) == 23


def test_a_rerun_writes_nothing_twice(microsoft, load, now):
    load([record(n, now - timedelta(days=n % 60, hours=1)) for n in range(120)])
    run_import()
    assert imported().count() == 120
    entries = ActivityLogEntry.objects.count()

    again = run_import(days=90)   # every day again

    assert again.outcome == "succeeded"
    assert again.imported == 0 and again.duplicates == 120
    assert ActivityLogEntry.objects.count() == entries
    assert imported().count() == 120 == ImportedAuditRecord.objects.count()


def test_the_next_import_reads_from_the_mark_and_catches_up_after_a_gap(microsoft, load, now):
    today = now.date()
    load([record(n, now - timedelta(days=n, hours=1)) for n in range(89)])
    state = AuditImportState.get()
    state.imported_through = today - timedelta(days=50)   # the worker was down for 50 days
    state.save()

    result = run_import()

    asked = [w for w in map(window_of, audit_requests(microsoft.sim)) if w is not None]
    assert asked[0][0] == today - timedelta(days=51)   # the mark's day and the one before, again
    assert asked[-1][1] == today and len(asked) == 2
    assert all((end - start).days + 1 <= 30 for start, end in asked)
    # Every record from the day before the mark on, nothing older.
    assert result.imported == imported().count() == len([n for n in range(89) if n <= 51])
    assert AuditImportState.get().imported_through == today

    microsoft.sim.control.clear_requests()
    run_import()   # the next day's run: two days, one request
    assert [window_of(r) for r in audit_requests(microsoft.sim)] == [(today - timedelta(days=1), today)]


def test_after_more_than_90_days_down_it_starts_at_the_oldest_day_and_says_what_is_lost(microsoft, load, now):
    today = now.date()
    load([record(n, now - timedelta(days=n, hours=1)) for n in range(89)])
    state = AuditImportState.get()
    state.imported_through = today - timedelta(days=200)
    state.save()

    result = run_import()

    assert result.outcome == "succeeded"
    assert [window_of(r) for r in audit_requests(microsoft.sim)][0][0] == today - timedelta(days=89)
    assert result.run.counts["lostFrom"] == (today - timedelta(days=199)).isoformat()
    assert imported().count() == 89


@pytest.mark.parametrize("fault", ["html", "truncated"])
def test_a_spoilt_page_writes_nothing_of_its_window_and_the_next_import_resumes_there(
        microsoft, load, now, fault, signed_in, admin_agent):
    today = now.date()
    load([record(n, now - timedelta(days=n, hours=1)) for n in range(89)], pageSize={"auditRecords": 10})
    # The second window's second page is spoilt, every time it is asked for (the client retries reads).
    microsoft.sim.control.faults([{"method": "GET", "path": "/v1/auditrecords$", "fault": fault,
                                   "skip": 4, "times": None}])
    before = ActivityLogEntry.objects.count()

    result = run_import()

    run = result.run
    assert run.outcome == "failed"
    first_window, second_window = windows(today - timedelta(days=89), today)[:2]
    assert (run.failed_window_start, run.failed_window_end) == second_window
    assert run.message and ("HTML" in run.message or "JSON" in run.message)
    # The first window is in; of the second, nothing (no entry, no record id), and the mark stays.
    assert AuditImportState.get().imported_through == first_window[1]
    in_first = {str(uuid.UUID(int=n)) for n in range(89)
                if (now - timedelta(days=n, hours=1)).date() <= first_window[1]}
    assert set(imported().values_list("source_record__id", flat=True)) == in_first
    assert set(ImportedAuditRecord.objects.values_list("record_id", flat=True)) == in_first
    assert ActivityLogEntry.objects.count() == before + len(in_first)
    assert not AuditImportRun.objects.filter(outcome="succeeded").exists()

    # The connection page says so.
    page = signed_in(admin_agent).get(reverse("microsoft:connection"))
    text = html.unescape(page.content.decode())
    assert page.status_code == 200
    assert "Partner Center activity log" in text and run.message.split(":")[0] in text
    assert second_window[0].strftime("%Y-%m-%d") in text

    microsoft.sim.control.clear_faults()
    microsoft.sim.control.clear_requests()
    again = run_import()
    assert again.outcome == "succeeded"
    assert window_of(audit_requests(microsoft.sim)[0])[0] == first_window[1] - timedelta(days=1)
    assert imported().count() == 89 == ImportedAuditRecord.objects.count()
    assert verify().broken is None


def test_credentials_refused_mark_the_connection(microsoft, load, now, settings):
    load([record(1, now - timedelta(days=1))])
    settings.MICROSOFT_APP_SECRET = "not the secret"

    result = run_import()

    assert result.outcome == "needs_reconnecting" or result.outcome == "failed"
    assert imported().count() == 0 and AuditImportState.get().imported_through is None


def test_the_command_imports_and_prints_what_it_did(microsoft, load, now):
    load([record(n, now - timedelta(days=n, hours=1)) for n in range(10)])
    out = io.StringIO()

    call_command("import_audit_records", "--days", "7", stdout=out)

    text = out.getvalue()
    assert "imported 7" in text and "outcome: Succeeded" in text and "(1 pages)" in text
    assert imported().count() == 7
    with pytest.raises(CommandError, match="between 1 and 90"):
        call_command("import_audit_records", "--days", "91", stdout=io.StringIO())


def test_the_command_says_when_a_window_failed(microsoft, load, now):
    load([record(1, now - timedelta(days=1))])
    microsoft.sim.control.faults([{"path": "/v1/auditrecords$", "fault": "html", "times": None}])
    with pytest.raises(CommandError, match="nothing|starts there again"):
        call_command("import_audit_records", "--days", "3", stdout=io.StringIO())
    assert imported().count() == 0


def test_the_worker_runs_it_and_schedules_the_next(microsoft, load, now, settings):
    from django_tasks_db.models import DBTaskResult

    load([record(1, now - timedelta(days=1))])
    tasks = DBTaskResult.objects.filter(task_path=import_audit_records.module_path)

    answer = import_audit_records.call(scheduled=True)

    assert answer["outcome"] == "succeeded" and answer["imported"] == 1
    following = tasks.get()
    assert following.args_kwargs["kwargs"] == {"scheduled": True}
    hours = settings.MICROSOFT_AUDIT_IMPORT_HOURS
    assert following.run_after >= datetime.now(UTC) + timedelta(hours=hours - 1)
    assert not schedule() and tasks.count() == 1   # one waiting at a time
    tasks.delete()
    assert schedule() and tasks.count() == 1


# --- where imported records show ------------------------------------------------------------------

@pytest.fixture
def imported_records(microsoft, load, now):
    load([record(1, now - timedelta(days=2), operation="create_order"),
          record(2, now - timedelta(days=1), operation="update_customer_qualification", resource="customer"),
          record(3, now - timedelta(hours=3), customer=FABRIKAM, operation="brand_new_operation",
                 resource="customer")])
    run_import()
    return imported()


def test_the_activity_log_page_filters_by_source_partner_center(imported_records, signed_in, admin_agent):
    log(action="add_agent", actor=admin_agent, origin=Origin.system("test"), resource_type="agent")
    client = signed_in(admin_agent)

    page = client.get(reverse("activitylog:list"), {"source": "partner_center"})

    text = page.content.decode()
    assert page.status_code == 200
    assert "Create Order" in text and "update_customer_qualification" in text
    assert "brand_new_operation" in text and text.count('<tbody class="log-entry') == 3
    assert "In Partner Center" in text and str(uuid.UUID(int=2)) in text   # the record's id and date
    everything = client.get(reverse("activitylog:list")).content.decode()
    assert "brand_new_operation" in everything and everything.count('<tbody class="log-entry') == 4


def test_the_csv_export_has_them_with_their_operation_types(imported_records, signed_in, admin_agent):
    response = signed_in(admin_agent).get(reverse("activitylog:export"), {"source": "partner_center"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    header, rows = rows[0], rows[1:]
    codes = {row[header.index("Action code")] for row in rows}
    assert codes == {"create_order", "update_customer_qualification", "brand_new_operation"}
    assert {row[header.index("Source")] for row in rows} == {"Partner Center"}


def test_the_api_returns_them_with_partner_centers_operation_types(imported_records, admin_agent, client):
    token = token_for(admin_agent)
    response = client.get("/v1/auditrecords", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    items = [item for item in response.json()["items"]
             if {"key": "source", "value": "partner_center"} in item["customizedData"]]
    assert sorted(item["operationType"] for item in items) == [
        "brand_new_operation", "create_order", "update_customer_qualification"]
    order = next(item for item in items if item["operationType"] == "create_order")
    data = {pair["key"]: pair["value"] for pair in order["customizedData"]}
    assert data["OrderId"] == "order-1"
    assert data["partnerCenterRecordId"] == str(uuid.UUID(int=1))
    assert data["partnerCenterOperationDate"].startswith(
        (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d"))
    assert order["userPrincipalName"] == "buyer@contoso.example"
    assert json.loads(order["resourceNewValue"]) == {"quantity": 1}


@pytest.mark.parametrize("role", ["sales_agent", "helpdesk_agent"])
def test_sales_and_help_desk_see_neither_the_page_nor_the_api(imported_records, role, request, signed_in,
                                                              client):
    agent = request.getfixturevalue(role)
    assert signed_in(agent).get(reverse("activitylog:list"), {"source": "partner_center"}).status_code == 403
    token = token_for(agent)
    client.logout()
    assert client.get("/v1/auditrecords", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403


def test_an_operator_sees_them(imported_records, operator, signed_in):
    page = signed_in(operator).get(reverse("activitylog:list"), {"source": "partner_center"})
    assert page.status_code == 200 and "brand_new_operation" in page.content.decode()
