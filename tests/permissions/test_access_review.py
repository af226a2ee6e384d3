"""The access review: customers with a permission allowed, filtered, exported, and marked reviewed."""

import csv
import datetime as dt
import io
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from activitylog import chain
from activitylog.models import Action, ActivityLogEntry, Status
from customers.services import set_subscription_status
from permissions.models import AccessReview
from permissions.services import mark_reviewed, set_purchase_permissions
from tests.factories import ready_customer

REVIEW_URL = reverse("permissions:access_review")
EXPORT_URL = reverse("permissions:access_review_export")
MARK_URL = reverse("permissions:mark_reviewed")


@pytest.fixture
def allowed(admin_agent, customer, unready_customer, origin):
    """Contoso may buy reservations and is ready; Tailspin may buy savings plans, its plan suspended."""
    set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                             allowed={"AzureReservedInstances": True})
    tailspin = ready_customer(company_name="Tailspin Toys", domain="tailspin.onmicrosoft.com")
    set_purchase_permissions(actor=admin_agent, customer=tailspin, origin=origin,
                             allowed={"AzureSavingsPlan": True})
    set_subscription_status(actor=admin_agent, subscription=tailspin.subscriptions.get(),
                            status="suspended", origin=origin)
    return {"contoso": customer, "tailspin": tailspin, "fabrikam": unready_customer}


def names(response) -> list[str]:
    return [row.customer.company_name for row in response.context["rows"]]


@pytest.mark.parametrize("role", ["admin_agent", "operator"])
def test_admin_agents_and_operators_see_every_customer_with_a_permission(signed_in, request, allowed, role):
    agent = request.getfixturevalue(role)
    response = signed_in(agent).get(REVIEW_URL)
    assert response.status_code == HTTPStatus.OK
    assert names(response) == ["Contoso Ltd", "Tailspin Toys"]  # not Fabrikam: nothing allowed
    page = response.content.decode()
    assert "since" in page and "admin@partner.example" in page
    assert "Not ready" in page and "Azure plan is suspended" in page
    assert "Never" in page


@pytest.mark.parametrize("role", ["sales_agent", "helpdesk_agent"])
def test_sales_and_help_desk_agents_cannot_open_or_export_it(signed_in, request, allowed, role):
    client = signed_in(request.getfixturevalue(role))
    assert client.get(REVIEW_URL).status_code == HTTPStatus.FORBIDDEN
    assert client.get(EXPORT_URL).status_code == HTTPStatus.FORBIDDEN
    assert "Access review" not in client.get(reverse("customers:list")).content.decode()


def test_the_top_bar_links_to_it_for_reviewers(signed_in, operator):
    page = signed_in(operator).get(reverse("customers:list")).content.decode()
    assert f'href="{REVIEW_URL}"' in page


@pytest.mark.parametrize(("filters", "expected"), [
    ({"permission": "AzureReservedInstances"}, ["Contoso Ltd"]),
    ({"permission": "AzureSavingsPlan"}, ["Tailspin Toys"]),
    ({"readiness": "ready"}, ["Contoso Ltd"]),
    ({"readiness": "not_ready"}, ["Tailspin Toys"]),
    ({"readiness": "ready", "permission": "AzureSavingsPlan"}, []),
])
def test_the_filters_narrow_the_list(signed_in, operator, allowed, filters, expected):
    assert names(signed_in(operator).get(REVIEW_URL, filters)) == expected


def test_not_reviewed_since_keeps_the_never_and_the_long_ago_reviewed(signed_in, operator, allowed, origin):
    mark_reviewed(actor=operator, customers=[allowed["contoso"]], origin=origin)
    client = signed_in(operator)
    today = timezone.now().date()
    assert names(client.get(REVIEW_URL, {"not_reviewed_since": today.isoformat()})) == ["Tailspin Toys"]
    tomorrow = today + dt.timedelta(days=1)
    assert names(client.get(REVIEW_URL, {"not_reviewed_since": tomorrow.isoformat()})) == [
        "Contoso Ltd", "Tailspin Toys"]


def test_a_bad_filter_is_a_clear_message(signed_in, operator, allowed):
    response = signed_in(operator).get(REVIEW_URL, {"not_reviewed_since": "yesterday", "readiness": "maybe"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.context["form"].errors) == {"not_reviewed_since", "readiness"}


def test_the_export_is_the_filtered_list_as_csv(signed_in, operator, allowed):
    response = signed_in(operator).get(EXPORT_URL, {"readiness": "not_ready"})
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0][:3] == ["Customer", "Microsoft ID", "Allowed permissions"]
    assert len(rows) == 2
    assert rows[1][0] == "Tailspin Toys"
    assert rows[1][2] == "Azure savings plans (AzureSavingsPlan)"
    assert rows[1][5] == "Not ready"


def test_marking_one_customer_reviewed_writes_one_entry(signed_in, operator, allowed):
    contoso = allowed["contoso"]
    before = ActivityLogEntry.objects.count()
    response = signed_in(operator).post(MARK_URL, {"customer": str(contoso.tenant_id),
                                                   "selected": [str(allowed["tailspin"].tenant_id)],
                                                   "next": "readiness=ready&evil=1"})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == REVIEW_URL + "?readiness=ready"
    review = AccessReview.objects.get()
    assert (review.customer, review.reviewed_by) == (contoso, operator)
    entry = ActivityLogEntry.objects.order_by("-id").first()
    assert ActivityLogEntry.objects.count() == before + 1
    assert (entry.action, entry.status, entry.customer) == (
        Action.REVIEW_PURCHASE_PERMISSION, Status.SUCCEEDED, contoso)
    assert entry.old_value == {"reviewed_at": None}
    assert entry.new_value["permissions"] == [{"resource": "AzureReservedInstances", "action": "Purchase"}]


def test_marking_a_selection_reviewed_writes_one_entry_each(signed_in, admin_agent, allowed):
    before = ActivityLogEntry.objects.count()
    client = signed_in(admin_agent)
    response = client.post(MARK_URL, {"selected": [str(allowed["contoso"].tenant_id),
                                                   str(allowed["tailspin"].tenant_id)]}, follow=True)
    assert "2 customers marked as reviewed." in response.content.decode()
    assert AccessReview.objects.count() == 2
    assert ActivityLogEntry.objects.filter(action=Action.REVIEW_PURCHASE_PERMISSION).count() == 2
    assert ActivityLogEntry.objects.count() == before + 2
    # Reviewed again later: the same row moves on, the entry keeps the previous time.
    first = AccessReview.objects.get(customer=allowed["contoso"]).reviewed_at
    client.post(MARK_URL, {"customer": str(allowed["contoso"].tenant_id)})
    assert AccessReview.objects.count() == 2
    latest = ActivityLogEntry.objects.order_by("-id").first()
    assert latest.old_value["reviewed_at"] == chain.utc_text(first)


@pytest.mark.parametrize("role", ["sales_agent", "helpdesk_agent"])
def test_a_forged_review_is_refused_and_logged_for_each_customer(signed_in, request, allowed, role):
    agent = request.getfixturevalue(role)
    before = ActivityLogEntry.objects.count()
    response = signed_in(agent).post(MARK_URL, {"selected": [str(allowed["contoso"].tenant_id),
                                                             str(allowed["tailspin"].tenant_id)]})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not AccessReview.objects.exists()
    failed = ActivityLogEntry.objects.filter(action=Action.REVIEW_PURCHASE_PERMISSION)
    assert ActivityLogEntry.objects.count() == before + 2
    assert {entry.customer for entry in failed} == {allowed["contoso"], allowed["tailspin"]}
    assert all(entry.status == Status.FAILED and entry.actor == agent for entry in failed)


def test_nothing_ticked_says_so_and_writes_nothing(signed_in, operator, allowed):
    before = ActivityLogEntry.objects.count()
    response = signed_in(operator).post(MARK_URL, {}, follow=True)
    assert "Tick at least one customer to mark as reviewed." in response.content.decode()
    assert ActivityLogEntry.objects.count() == before
    assert not AccessReview.objects.exists()


def test_a_malformed_tenant_id_is_a_message_not_an_error(signed_in, operator, allowed):
    response = signed_in(operator).post(MARK_URL, {"selected": ["not-a-uuid"]}, follow=True)
    assert response.status_code == HTTPStatus.OK
    assert "That is not a customer&#x27;s Microsoft ID." in response.content.decode()
    assert not AccessReview.objects.exists()


def test_the_review_needs_sign_in(client):
    assert client.get(REVIEW_URL)["Location"].startswith(reverse("login"))


def bought(customer, *, days_ago: int, commitment: str, currency: str = "USD"):
    from decimal import Decimal

    from purchases.models import CustomerPurchase, Kind

    number = CustomerPurchase.objects.count() + 1
    return CustomerPurchase.objects.create(
        customer=customer, kind=Kind.RESERVATION, azure_order_id=f"order-{number}", product="D2s v5",
        commitment=Decimal(commitment), currency_code=currency, buyer="owner@customer.example",
        purchased_at=timezone.now() - dt.timedelta(days=days_ago))


@pytest.fixture
def purchases(allowed):
    """Contoso bought three things in the last 12 months (two currencies) and one before; Tailspin nothing;
    Fabrikam (nothing allowed, so not on the review) bought one."""
    contoso = allowed["contoso"]
    bought(contoso, days_ago=2, commitment="1000.00")
    bought(contoso, days_ago=300, commitment="8760.00")
    bought(contoso, days_ago=30, commitment="600.00", currency="EUR")
    bought(contoso, days_ago=400, commitment="50000.00")  # more than 12 months ago: not counted
    bought(allowed["fabrikam"], days_ago=1, commitment="7.00")
    return allowed


def test_each_row_says_what_the_customer_bought_itself_in_the_last_12_months(signed_in, operator,
                                                                              purchases):
    response = signed_in(operator).get(REVIEW_URL)
    assert response.context["extra_headers"] == ["Self-purchases, last 12 months"]
    cells = {row.customer.company_name: row.extra_cells for row in response.context["rows"]}
    assert cells == {"Contoso Ltd": ["3 purchases: 600.00 EUR, 9,760.00 USD"], "Tailspin Toys": ["None"]}
    page = response.content.decode()
    assert "Self-purchases, last 12 months" in page
    assert "3 purchases: 600.00 EUR, 9,760.00 USD" in page
    assert "50,000.00" not in page and "7.00" not in page  # too old; not a customer on the review


def test_the_self_purchases_read_in_indonesian_numbers(signed_in, operator, purchases):
    page = signed_in(operator).get(REVIEW_URL, HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert "Pembelian mandiri, 12 bulan terakhir" in page
    assert "3 pembelian: 600,00 EUR, 9.760,00 USD" in page and "Tidak ada" in page


def test_the_export_has_the_self_purchases_as_plain_numbers(signed_in, operator, purchases):
    response = signed_in(operator).get(EXPORT_URL)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0][-2:] == ["Self-purchases, last 12 months", "Self-purchase commitments, last 12 months"]
    assert [(row[0], row[-2], row[-1]) for row in rows[1:]] == [
        ("Contoso Ltd", "3", "600.00 EUR; 9760.00 USD"), ("Tailspin Toys", "0", "")]


def test_the_review_reads_the_self_purchases_in_one_query_for_the_page(signed_in, operator, admin_agent,
                                                                      allowed, origin,
                                                                      django_assert_num_queries):
    # Session + agent, the pager's count, the page of customers, their permissions, their self-purchases.
    client = signed_in(operator)
    client.get(REVIEW_URL)  # the first request of a session may write it
    with django_assert_num_queries(6):
        assert client.get(REVIEW_URL).status_code == HTTPStatus.OK
    for n in range(12):
        more = ready_customer(company_name=f"Customer {n:02d}", domain=f"c{n}.onmicrosoft.com")
        set_purchase_permissions(actor=admin_agent, customer=more, origin=origin,
                                 allowed={"AzureSavingsPlan": True, "AzureReservedInstances": True})
        for days in range(n % 4):
            bought(more, days_ago=days + 1, commitment="10.00", currency=["USD", "EUR"][days % 2])
    with django_assert_num_queries(6):
        response = client.get(REVIEW_URL)
    assert len(response.context["rows"]) == 14
    assert not ActivityLogEntry.objects.filter(action=Action.REVIEW_PURCHASE_PERMISSION).exists()  # read only
