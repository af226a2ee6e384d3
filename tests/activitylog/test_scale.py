"""Filters in every combination, keyset paging while entries arrive, and an export that streams."""

import csv
import datetime as dt
import html
import io
import itertools
import uuid
from collections.abc import Iterator

import pytest
from django.utils import timezone

from activitylog.models import Action, ActivityLogEntry, Source, Status
from activitylog.services import Origin, record
from activitylog.views import PAGE_SIZE

from . import log_entry

pytestmark = pytest.mark.django_db

LOG_URL = "/activity-log/"
EXPORT_URL = "/activity-log/export.csv"
LITWARE = uuid.UUID("22222222-2222-4222-8222-222222222222")


@pytest.fixture
def mixed_log(db) -> list[ActivityLogEntry]:
    """Seventy entries over 60 days, varied in every field a filter looks at, oldest written first."""
    customers = [("Contoso Ltd", uuid.UUID("11111111-1111-4111-8111-111111111111")),
                 ("Litware", LITWARE), ("株式会社テスト", uuid.UUID("33333333-3333-4333-8333-333333333333")),
                 ("", None)]
    actions = [Action.ADD_CUSTOMER, Action.CREATE_PURCHASE_PERMISSION, Action.CREATE_ORDER]
    actors = ["admin@partner.example", "sales@partner.example"]
    entries = []
    for n in range(70):
        name, tenant = customers[n % 4]
        entries.append(log_entry(
            days_ago=60 - n * 60 / 70, customer_name=name, customer_tenant_id=tenant,
            action=actions[n % 3], actor_email=actors[n % 5 % 2],
            status=Status.FAILED if n % 7 == 0 else Status.SUCCEEDED,
            source=[Source.WEB, Source.API, Source.SYSTEM][n % 11 % 3],
        ))
    return entries


def plain(entries: list[ActivityLogEntry], params: dict) -> list[int]:
    """What the filters mean, in plain Python: the reference the database's answer must equal."""
    start = dt.datetime.combine(dt.date.fromisoformat(params["date_from"]), dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(dt.date.fromisoformat(params["date_to"]), dt.time.max, tzinfo=dt.UTC)

    def keeps(entry: ActivityLogEntry) -> bool:
        customer = params.get("customer", "")
        if customer and customer == str(LITWARE):
            if entry.customer_tenant_id != LITWARE:
                return False
        elif customer.lower() not in entry.customer_name.lower():
            return False
        return (start <= entry.occurred_at <= end
                and params.get("performed_by", "").lower() in entry.actor_email.lower()
                and all(not params.get(field) or getattr(entry, field) == params[field]
                        for field in ("action", "status", "source")))

    kept = sorted((e for e in entries if keeps(e)), key=lambda e: (e.occurred_at, e.pk), reverse=True)
    return [entry.pk for entry in kept]


def walk_pages(client, params: dict, on_each_page=None) -> Iterator[int]:
    response = client.get(LOG_URL, params)
    while True:
        assert response.status_code == 200
        yield from (entry.pk for entry in response.context["entries"])
        if on_each_page:
            on_each_page()
        if not response.context["older_url"]:
            return
        response = client.get(LOG_URL + html.unescape(response.context["older_url"]))


TODAY = timezone.now().date()
COMBINATIONS = [
    {key: value for key, value in zip(
        ("date_from", "customer", "action", "performed_by", "status", "source"), combination, strict=True)
     if value}
    for combination in itertools.product(
        [(TODAY - dt.timedelta(days=90)).isoformat(), (TODAY - dt.timedelta(days=20)).isoformat()],
        ["", "LIT", str(LITWARE), "テスト"],
        ["", Action.CREATE_PURCHASE_PERMISSION],
        ["", "sales"],
        ["", Status.FAILED],
        ["", Source.API],
    )
]


def test_every_filter_combination_pages_through_exactly_what_a_plain_query_returns(auditor, mixed_log):
    for params in COMBINATIONS:
        params = {"date_to": TODAY.isoformat(), **params}

        assert list(walk_pages(auditor, params)) == plain(mixed_log, params), params


def test_every_filter_combination_exports_exactly_what_a_plain_query_returns(auditor, mixed_log):
    by_time = {entry.pk: entry for entry in mixed_log}
    for params in COMBINATIONS:
        params = {"date_to": TODAY.isoformat(), **params}
        response = auditor.get(EXPORT_URL, params)
        text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
        rows = [(row["Date-Time (UTC)"], row["Affected customer"], row["Action code"], row["Status"])
                for row in csv.DictReader(io.StringIO(text))]

        assert rows == [(by_time[pk].occurred_at.strftime("%Y-%m-%d %H:%M:%S"), by_time[pk].customer_name,
                         by_time[pk].action, by_time[pk].get_status_display())
                        for pk in plain(mixed_log, params)], params


def test_keyset_paging_returns_each_entry_once_while_new_entries_arrive(auditor, admin_agent):
    for n in range(3 * PAGE_SIZE + 7):
        record(action=Action.CREATE_ORDER, actor=admin_agent, origin=Origin.system(f"before-{n}"))
    before = list(ActivityLogEntry.objects.newest_first().values_list("pk", flat=True))
    arrived = []

    def write_more():
        for _n in range(PAGE_SIZE // 2):
            arrived.append(record(action=Action.CREATE_ORDER, actor=admin_agent,
                                  origin=Origin.system("while-paging")).pk)

    walked = list(walk_pages(auditor, {}, on_each_page=write_more))

    assert walked == before
    assert len(arrived) == 4 * (PAGE_SIZE // 2)
    assert set(walked).isdisjoint(arrived)
    # A fresh first page starts with what arrived meanwhile, newest first.
    assert list(walk_pages(auditor, {}))[:len(arrived)] == arrived[::-1]


def test_the_export_is_a_stream_in_small_pieces_not_a_list(auditor):
    ActivityLogEntry.objects.bulk_create([
        ActivityLogEntry(occurred_at=timezone.now() - dt.timedelta(seconds=n), action=Action.ADD_CUSTOMER,
                         status=Status.SUCCEEDED, actor_email="admin@partner.example",
                         customer_name=f"Customer {n} " + "x" * 100, source=Source.WEB)
        for n in range(4000)
    ])

    response = auditor.get(EXPORT_URL)

    assert response.streaming
    content = response.streaming_content
    assert not isinstance(content, list | tuple)
    first = next(content)  # available before the rest has been read from the database
    pieces = [first, *content]
    total = sum(len(piece) for piece in pieces)
    assert total > 4000 * 100
    assert len(pieces) > 5
    assert max(len(piece) for piece in pieces) <= 70 * 1024


@pytest.mark.parametrize("text, expected", [
    ("_", ["a_b@partner.example"]),
    ("%", []),
    ("A_B@", ["a_b@partner.example"]),
    ("b@p", ["a_b@partner.example", "ab@partner.example"]),
])
def test_performed_by_matches_characters_literally(auditor, text, expected):
    entries = {email: log_entry(days_ago=1, actor_email=email)
               for email in ["ab@partner.example", "a_b@partner.example"]}

    response = auditor.get(LOG_URL, {"performed_by": text})

    assert [entry.pk for entry in response.context["entries"]] == [entries[email].pk for email in expected]
