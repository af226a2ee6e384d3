"""The customer name filter looks up the log's customers first (PostgreSQL): same answer, every path."""

import csv
import datetime as dt
import io
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from activitylog import selectors
from activitylog.models import ActivityLogEntry, Source, Status
from activitylog.selectors import customers_named
from activitylog.services import Origin, purge, record

from . import log_entry
from .test_scale import EXPORT_URL, LOG_URL, plain, walk_pages

pytestmark = pytest.mark.django_db

LITWARE = uuid.UUID("22222222-2222-4222-8222-222222222222")
LITWARE_BANK = uuid.UUID("44444444-4444-4444-8444-444444444444")
FABRIKAM_EU = uuid.UUID("55555555-5555-4555-8555-555555555555")
FABRIKAM_US = uuid.UUID("66666666-6666-4666-8666-666666666666")
RENAMED = uuid.UUID("77777777-7777-4777-8777-777777777777")
CONTOSO = uuid.UUID("11111111-1111-4111-8111-111111111111")
CUSTOMERS = [
    ("Litware", LITWARE), ("Litware Bank", LITWARE_BANK),
    ("Fabrikam", FABRIKAM_EU), ("Fabrikam", FABRIKAM_US),  # one name, two tenants
    ("Adatum", RENAMED), ("Adatum Litware", RENAMED),  # renamed: its older entries match "litware" no more
    ("Contoso Ltd", CONTOSO), ("", None), ("Litware (no tenant)", None),
]


@pytest.fixture
def customer_log(db) -> list[ActivityLogEntry]:
    """250 entries over 50 days: several pages for most names, customers' entries interleaved."""
    return [log_entry(days_ago=50 - n / 5, customer_name=CUSTOMERS[n % 9][0],
                      customer_tenant_id=CUSTOMERS[n % 9][1],
                      status=Status.FAILED if n % 4 == 0 else Status.SUCCEEDED,
                      source=Source.API if n % 3 == 0 else Source.WEB)
            for n in range(250)]


TEXTS = [
    "Litware Bank",  # one customer
    "fabrikam",  # one name under two tenant ids
    "adatum",  # one tenant, both its names match
    "adatum litware",  # one tenant, only its entries since the rename
    "contoso",
    "LITWARE",  # several tenants, one of them renamed, and a name without a tenant
    "litware b",
    "a",  # most customers
    "no such customer",  # none
    "%", "_",  # LIKE's own characters are taken literally
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("few", [selectors.FEW_CUSTOMERS, 1])
def test_the_name_filter_pages_and_exports_exactly_what_a_plain_query_returns(auditor, customer_log, text,
                                                                             few, monkeypatch):
    monkeypatch.setattr(selectors, "FEW_CUSTOMERS", few)  # 1: "many" customers, the name-only path
    for extra in [{}, {"status": Status.FAILED}, {"source": Source.API, "date_from": "2000-01-01"}]:
        params = {"date_from": (timezone.now().date() - dt.timedelta(days=60)).isoformat(),
                  "date_to": timezone.now().date().isoformat(), "customer": text, **extra}
        expected = plain(customer_log, params)

        assert list(walk_pages(auditor, params)) == expected, params
        exported = b"".join(auditor.get(EXPORT_URL, params).streaming_content).decode().removeprefix("\ufeff")
        by_pk = {entry.pk: entry for entry in customer_log}
        assert [(row["Affected customer"], row["Customer tenant id"])
                for row in csv.DictReader(io.StringIO(exported))] == [
            (by_pk[pk].customer_name, str(by_pk[pk].customer_tenant_id or "")) for pk in expected], params


@pytest.mark.postgres
def test_the_lookup_finds_each_tenant_once_and_whether_all_its_names_match(customer_log, needs_postgres):
    assert customers_named("Litware Bank") == {LITWARE_BANK: True}
    assert customers_named("FABRIKAM") == {FABRIKAM_EU: True, FABRIKAM_US: True}
    assert customers_named("adatum") == {RENAMED: True}
    assert customers_named("no such customer") == {}


@pytest.mark.postgres
def test_the_lookup_gives_up_on_many_customers_or_a_name_without_a_tenant(customer_log, needs_postgres,
                                                                          monkeypatch):
    # "Litware (no tenant)" matches: entries without a tenant id cannot be found by tenant id.
    assert customers_named("litware") is None
    assert customers_named("a") is None
    monkeypatch.setattr(selectors, "FEW_CUSTOMERS", 1)
    assert customers_named("fabrikam") is None
    assert customers_named("Litware Bank") == {LITWARE_BANK: True}


@pytest.mark.postgres
def test_a_renamed_customer_is_found_by_tenant_and_name(customer_log, needs_postgres):
    log_entry(days_ago=1, customer_name="Adatum Corp", customer_tenant_id=RENAMED)

    assert customers_named("adatum") == {RENAMED: True}
    assert customers_named("adatum litware") == {RENAMED: False}


@pytest.mark.postgres
def test_every_entry_written_adds_its_customer_name_to_the_lookup(admin_agent, customer, needs_postgres):
    assert customers_named(customer.company_name) == {}

    record(action="add_customer", actor=admin_agent, customer=customer, origin=Origin.system("test"))
    ActivityLogEntry.objects.bulk_create([
        ActivityLogEntry(occurred_at=timezone.now(), action="add_customer", status=Status.SUCCEEDED,
                         actor_email="admin@partner.example", customer_name=name,
                         customer_tenant_id=tenant, source=Source.WEB)
        for name, tenant in [("Tailspin Toys", LITWARE), ("Tailspin Toys", LITWARE), ("Wingtip", LITWARE)]
    ])

    assert customers_named(customer.company_name) == {customer.tenant_id: True}
    assert customers_named("tailspin") == {LITWARE: False}
    assert customers_named("wingtip") == {LITWARE: False}


@pytest.mark.postgres
def test_a_name_whose_entry_rolled_back_is_not_in_the_lookup(admin_agent, customer, needs_postgres):
    with pytest.raises(RuntimeError), transaction.atomic():
        record(action="add_customer", actor=admin_agent, customer=customer, origin=Origin.system("test"))
        assert customers_named(customer.company_name) == {customer.tenant_id: True}
        raise RuntimeError("the change failed")

    assert customers_named(customer.company_name) == {}
    assert not ActivityLogEntry.objects.exists()


def test_after_a_purge_a_name_finds_only_the_entries_kept(auditor):
    gone = log_entry(days_ago=100, customer_name="Gone Co", customer_tenant_id=FABRIKAM_EU)
    old = log_entry(days_ago=90, customer_name="Litware Bank", customer_tenant_id=LITWARE_BANK)
    kept = log_entry(days_ago=2, customer_name="Litware Bank", customer_tenant_id=LITWARE_BANK)
    purge(retention_days=30)
    two_years = {"date_from": (timezone.now().date() - dt.timedelta(days=731)).isoformat()}

    found = auditor.get(LOG_URL, {**two_years, "customer": "litware bank"}).context["entries"]
    nothing = auditor.get(LOG_URL, {**two_years, "customer": "gone"}).context["entries"]

    assert [entry.pk for entry in found] == [kept.pk]
    assert list(nothing) == []
    assert not ActivityLogEntry.objects.filter(pk__in=[gone.pk, old.pk]).exists()
