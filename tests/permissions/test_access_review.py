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
