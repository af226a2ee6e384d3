"""The Activity log page: who may see it, its filters, its default window and its keyset paging."""

import datetime as dt
import html
import json
import re
import uuid
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from activitylog.models import Action, Source, Status
from activitylog.views import PAGE_SIZE
from portal.models import Agent

from . import log_entry

pytestmark = pytest.mark.django_db

LOG_URL = "/activity-log/"


def shown(response) -> list[int]:
    return [entry.pk for entry in response.context["entries"]]


def test_the_log_url_is_where_the_product_says():
    assert reverse("activitylog:list") == LOG_URL


# --- Who may see it ----------------------------------------------------------------------------------


def test_only_admin_agents_and_operators_see_the_activity_log(client, any_agent):
    log_entry(days_ago=1)
    client.force_login(any_agent)

    response = client.get(reverse("activitylog:list"))

    if any_agent.role in (Agent.Role.ADMIN_AGENT, Agent.Role.OPERATOR):
        assert response.status_code == HTTPStatus.OK
        assert "Add Customer" in response.content.decode()
    else:
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert "Add Customer" not in response.content.decode()


def test_the_top_bar_links_to_the_log_only_for_those_who_may_see_it(client, any_agent):
    client.force_login(any_agent)

    page = client.get(reverse("customers:list")).content.decode()

    may_see = any_agent.role in (Agent.Role.ADMIN_AGENT, Agent.Role.OPERATOR)
    assert (f'href="{LOG_URL}"' in page) is may_see


# --- The default window and the date range ----------------------------------------------------------


def test_the_default_window_is_the_last_30_days(auditor):
    recent = log_entry(days_ago=2)
    edge = log_entry(days_ago=29)
    old = log_entry(days_ago=40)

    response = auditor.get(LOG_URL)

    assert response.status_code == HTTPStatus.OK
    assert shown(response) == [recent.pk, edge.pk]
    assert old.pk not in shown(response)
    today = timezone.now().date()
    assert response.context["form"]["date_from"].value() == (today - dt.timedelta(days=30)).isoformat()
    assert response.context["form"]["date_to"].value() == today.isoformat()


def test_a_wider_date_range_shows_older_entries(auditor):
    old = log_entry(days_ago=40)
    start = (timezone.now() - dt.timedelta(days=60)).date().isoformat()

    response = auditor.get(LOG_URL, {"date_from": start})

    assert shown(response) == [old.pk]


def test_the_date_range_includes_both_whole_days(auditor):
    first = log_entry(at=dt.datetime(2024, 3, 1, 0, 0, 0, tzinfo=dt.UTC))
    last = log_entry(at=dt.datetime(2024, 3, 2, 23, 59, 59, 999999, tzinfo=dt.UTC))
    log_entry(at=dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=dt.UTC))
    log_entry(at=dt.datetime(2024, 3, 3, 0, 0, 0, tzinfo=dt.UTC))

    response = auditor.get(LOG_URL, {"date_from": "2024-03-01", "date_to": "2024-03-02"})

    assert shown(response) == [last.pk, first.pk]


def test_the_widest_possible_range_works(auditor):
    entry = log_entry(days_ago=3650)

    response = auditor.get(LOG_URL, {"date_from": "0001-01-01", "date_to": "9999-12-31"})

    assert response.status_code == HTTPStatus.OK
    assert shown(response) == [entry.pk]


@pytest.mark.parametrize("params, message", [
    ({"date_from": "2024-05-02", "date_to": "2024-05-01"},
     "The end date must be on or after the start date."),
    ({"date_from": "2024-13-45"}, "Enter a valid date."),
    ({"date_to": "yesterday"}, "Enter a valid date."),
    ({"action": "drop_table"}, "Select a valid choice."),
    ({"status": "maybe"}, "Select a valid choice."),
    ({"source": "fax"}, "Select a valid choice."),
    ({"customer": "x" * 201}, "Ensure this value has at most 200 characters"),
    ({"performed_by": "a\x00b"}, "Null characters are not allowed."),
])
def test_bad_filters_are_a_form_error(auditor, params, message):
    log_entry(days_ago=1)

    response = auditor.get(LOG_URL, params)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    page = html.unescape(response.content.decode())
    assert message in page
    assert response.context["entries"] == []
    assert "Export log" not in page


# --- Filters -----------------------------------------------------------------------------------------


@pytest.fixture
def varied_log(db):
    litware = uuid.UUID("22222222-2222-4222-8222-222222222222")
    return {
        "contoso_add": log_entry(days_ago=5),
        "contoso_perm": log_entry(days_ago=4, action=Action.CREATE_PURCHASE_PERMISSION,
                                  resource_type="self_serve_policy", resource_id="AzureSavingsPlan"),
        "litware_failed": log_entry(days_ago=3, action=Action.CREATE_PURCHASE_PERMISSION,
                                    status=Status.FAILED, failure_reason="Only Admin agents can change",
                                    actor_email="sales@partner.example", customer_name="Litware",
                                    customer_tenant_id=litware),
        "litware_api": log_entry(days_ago=2, action=Action.CREATE_ORDER, source=Source.API,
                                 customer_name="Litware", customer_tenant_id=litware),
        "no_customer": log_entry(days_ago=1, action=Action.ADD_CUSTOMER_USER, customer_name="",
                                 customer_tenant_id=None, actor_email="ops@partner.example"),
    }


@pytest.mark.parametrize("params, expected", [
    ({"customer": "contoso"}, ["contoso_perm", "contoso_add"]),
    ({"customer": "LIT"}, ["litware_api", "litware_failed"]),
    ({"customer": "22222222-2222-4222-8222-222222222222"}, ["litware_api", "litware_failed"]),
    ({"customer": "22222222"}, []),
    ({"action": "create_customer_purchase_permissions"}, ["litware_failed", "contoso_perm"]),
    ({"performed_by": "sales@"}, ["litware_failed"]),
    ({"performed_by": "PARTNER.EXAMPLE"}, ["no_customer", "litware_api", "litware_failed",
                                           "contoso_perm", "contoso_add"]),
    ({"status": "failed"}, ["litware_failed"]),
    ({"source": "api"}, ["litware_api"]),
    ({"customer": "litware", "status": "succeeded"}, ["litware_api"]),
    ({"action": "create_customer_purchase_permissions", "customer": "contoso"}, ["contoso_perm"]),
    ({"performed_by": "admin", "source": "web", "customer": "contoso", "status": "succeeded",
      "action": "add_customer"}, ["contoso_add"]),
    ({"performed_by": "sales", "status": "succeeded"}, []),
    ({"performed_by": "nobody"}, []),
    ({}, ["no_customer", "litware_api", "litware_failed", "contoso_perm", "contoso_add"]),
])
def test_each_filter_and_their_combinations_narrow_the_log(auditor, varied_log, params, expected):
    response = auditor.get(LOG_URL, params)

    assert response.status_code == HTTPStatus.OK
    assert shown(response) == [varied_log[name].pk for name in expected]


def test_nothing_matching_says_so(auditor, varied_log):
    response = auditor.get(LOG_URL, {"customer": "Nobody"})

    assert "No activity matches these filters." in response.content.decode()


def test_entries_are_newest_first_with_the_latest_id_first_on_a_tie(auditor):
    moment = timezone.now() - dt.timedelta(hours=1)
    older = log_entry(days_ago=1)
    tie_a = log_entry(at=moment)
    tie_b = log_entry(at=moment)
    newest = log_entry(days_ago=0)

    assert shown(auditor.get(LOG_URL)) == [newest.pk, tie_b.pk, tie_a.pk, older.pk]


def test_an_entry_opens_to_show_old_and_new_values(auditor):
    log_entry(
        days_ago=1, action=Action.DELETE_PURCHASE_PERMISSION, resource_type="self_serve_policy",
        resource_id="AzureReservedInstances", request_id="req-42", client_ip="203.0.113.7",
        old_value={"permissions": [{"resource": "AzureReservedInstances", "action": "Purchase"}]},
        new_value={"permissions": []},
    )

    page = html.unescape(auditor.get(LOG_URL).content.decode())

    assert "Delete Customer Purchase Permissions" in page
    details = page[page.index("<details>"):page.index("</details>")]
    old_value, new_value = re.findall(r"value</dt>\s*<dd><pre>(.*?)</pre>", details, re.DOTALL)
    assert json.loads(old_value) == {
        "permissions": [{"resource": "AzureReservedInstances", "action": "Purchase"}]}
    assert json.loads(new_value) == {"permissions": []}
    assert "Customer purchase permission <span class=\"mono\">AzureReservedInstances</span>" in details
    assert "203.0.113.7" in details
    assert "req-42" in details


def test_a_failed_entry_shows_its_reason(auditor, varied_log):
    page = auditor.get(LOG_URL, {"status": "failed"}).content.decode()

    assert "Reason</dt><dd>Only Admin agents can change</dd>" in page
    assert 'class="status status-failed">Failed<' in page


def test_the_affected_customer_links_to_its_account_page(auditor, varied_log):
    page = auditor.get(LOG_URL).content.decode()

    litware = reverse("customers:account", args=["22222222-2222-4222-8222-222222222222"])
    assert f'<a href="{litware}">Litware</a>' in page


def test_an_entry_keeps_reading_the_same_after_the_customer_is_renamed(auditor, admin_agent, customer,
                                                                     origin):
    from activitylog.services import record
    record(action=Action.ADD_CUSTOMER, actor=admin_agent, origin=origin, customer=customer)
    customer.company_name = "Contoso Renamed"
    customer.save()

    page = auditor.get(LOG_URL).content.decode()

    assert "Contoso Ltd" in page
    assert "Contoso Renamed" not in page


def test_names_in_any_script_are_shown_and_found(auditor):
    japanese = log_entry(days_ago=1, customer_name="株式会社テスト")
    log_entry(days_ago=1, customer_name="Пример")

    response = auditor.get(LOG_URL, {"customer": "テスト"})

    assert shown(response) == [japanese.pk]
    assert "株式会社テスト" in response.content.decode()


def test_the_export_link_carries_the_filters_but_not_the_page(auditor):
    for n in range(PAGE_SIZE + 1):
        log_entry(days_ago=1, actor_email=f"agent{n}@partner.example")

    first = auditor.get(LOG_URL, {"customer": "contoso", "status": "succeeded"})
    older = auditor.get(older_link(first))

    for response in (first, older):
        page = html.unescape(response.content.decode())
        link = re.search(r'href="(/activity-log/export\.csv[^"]*)"', page).group(1)
        assert "customer=contoso" in link
        assert "status=succeeded" in link
        assert "before=" not in link
        assert "after=" not in link


# --- Keyset paging -----------------------------------------------------------------------------------


def older_link(response) -> str | None:
    return response.context["older_url"] and LOG_URL + html.unescape(response.context["older_url"])


def newer_link(response) -> str | None:
    return response.context["newer_url"] and LOG_URL + html.unescape(response.context["newer_url"])


@pytest.fixture
def long_log(db):
    """120 entries; some share a timestamp so that the id breaks the tie."""
    base = timezone.now() - dt.timedelta(days=3)
    entries = []
    for n in range(120):
        at = base + dt.timedelta(minutes=n // 3)  # three entries per minute
        entries.append(log_entry(at=at, resource_id=str(n)))
    return sorted(entries, key=lambda e: (e.occurred_at, e.pk), reverse=True)


def test_older_links_walk_every_entry_exactly_once(auditor, long_log):
    response = auditor.get(LOG_URL)
    pages = [shown(response)]
    while link := older_link(response):
        response = auditor.get(link)
        assert response.status_code == HTTPStatus.OK
        pages.append(shown(response))

    assert [len(page) for page in pages] == [50, 50, 20]
    walked = [pk for page in pages for pk in page]
    assert walked == [entry.pk for entry in long_log]
    assert response.context["newer_url"]
    assert response.context["first_page_url"]


def test_newer_links_walk_back_to_the_first_page(auditor, long_log):
    response = auditor.get(LOG_URL)
    while link := older_link(response):
        response = auditor.get(link)
    pages = [shown(response)]
    while link := newer_link(response):
        response = auditor.get(link)
        pages.append(shown(response))

    walked = [pk for page in reversed(pages) for pk in page]
    assert walked == [entry.pk for entry in long_log]
    assert response.context["older_url"]
    assert pages[-1] == [entry.pk for entry in long_log[:PAGE_SIZE]]


def test_paging_keeps_the_filters(auditor, long_log):
    for n in range(10):
        log_entry(days_ago=1, customer_name="Litware", resource_id=f"L{n}")

    response = auditor.get(LOG_URL, {"customer": "contoso", "action": "add_customer"})
    walked = shown(response)
    while link := older_link(response):
        assert "customer=contoso" in link
        assert "action=add_customer" in link
        response = auditor.get(link)
        walked += shown(response)

    assert walked == [entry.pk for entry in long_log]


def test_a_single_page_has_no_paging_links(auditor):
    log_entry(days_ago=1)

    response = auditor.get(LOG_URL)

    assert response.context["older_url"] is None
    assert response.context["newer_url"] is None
    assert response.context["first_page_url"] is None


def test_exactly_one_page_of_entries_has_no_older_link(auditor):
    for _n in range(PAGE_SIZE):
        log_entry(days_ago=1)

    response = auditor.get(LOG_URL)

    assert len(shown(response)) == PAGE_SIZE
    assert response.context["older_url"] is None


def test_an_entry_written_while_paging_is_neither_skipped_nor_repeated(auditor, long_log):
    first = auditor.get(LOG_URL)
    log_entry(days_ago=0, resource_id="new")

    second = auditor.get(older_link(first))

    assert shown(second) == [entry.pk for entry in long_log[PAGE_SIZE:2 * PAGE_SIZE]]


@pytest.mark.parametrize("cursor", [
    {"before": "garbage"},
    {"before": "2024-01-01T00:00:00_5"},
    {"before": "2024-01-01T00:00:00+00:00_x"},
    {"before": "_"},
    {"before": "2024-99-01T00:00:00+00:00_5"},
    {"before": "9999-12-31T23:59:59-23:59_1"},
    {"before": "0001-01-01T00:00:00+23:59_1"},
    {"after": "not-a-cursor"},
    {"after": "2024-01-01T00:00:00+00:00_"},
])
def test_a_malformed_cursor_is_a_form_error(auditor, cursor):
    log_entry(days_ago=1)

    response = auditor.get(LOG_URL, cursor)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "That page link is no longer valid. Start again from the first page." in (
        html.unescape(response.content.decode()))
    assert response.context["entries"] == []


def test_a_cursor_with_a_huge_id_still_answers(auditor):
    entry = log_entry(days_ago=1)
    cursor = f"{entry.occurred_at.isoformat()}_{10 ** 25}"

    response = auditor.get(LOG_URL, {"before": cursor})

    assert response.status_code == HTTPStatus.OK
    assert shown(response) == [entry.pk]
