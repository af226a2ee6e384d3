"""A customer's History page: that customer's entries, for every role, newest first, keyset-paged."""

import datetime as dt
import html
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from activitylog.models import Action, Status
from customers.services import set_subscription_status
from tests.factories import CustomerFactory

from . import log_entry


def history_url(customer) -> str:
    return reverse("customers:history", args=[customer.tenant_id])


def for_customer(customer, **fields):
    return log_entry(customer=customer, customer_name=customer.company_name,
                     customer_tenant_id=customer.tenant_id, **fields)


def test_every_role_sees_the_customers_entries_newest_first(signed_in, any_agent, customer):
    other = CustomerFactory(company_name="Fabrikam")
    older = for_customer(customer, days_ago=400)  # older than the Activity log's default window
    newer = for_customer(customer, days_ago=1, action=Action.CREATE_ORDER, status=Status.FAILED,
                         failure_reason="Permission denied.")
    for_customer(other, days_ago=1)
    response = signed_in(any_agent).get(history_url(customer))
    assert response.status_code == HTTPStatus.OK
    assert [entry.pk for entry in response.context["entries"]] == [newer.pk, older.pk]
    page = response.content.decode()
    assert "Fabrikam" not in page
    assert "Create Order" in page and "Permission denied." in page
    assert f'href="{history_url(customer)}" aria-current="page"' in page


def test_the_customer_menu_links_to_the_history_for_every_role(signed_in, any_agent, customer):
    page = signed_in(any_agent).get(reverse("customers:account", args=[customer.tenant_id]))
    assert f'href="{history_url(customer)}"' in page.content.decode()


def test_an_entry_written_by_a_service_appears(signed_in, admin_agent, sales_agent, customer, origin):
    set_subscription_status(actor=admin_agent, subscription=customer.subscriptions.get(),
                            status="suspended", origin=origin)
    entries = signed_in(sales_agent).get(history_url(customer)).context["entries"]
    assert [entry.action for entry in entries] == [Action.UPDATE_SUBSCRIPTION]


def test_the_history_pages_through_every_entry_exactly_once(signed_in, operator, customer):
    base = timezone.now() - dt.timedelta(days=3)
    created = [for_customer(customer, at=base + dt.timedelta(minutes=n // 3)) for n in range(75)]
    expected = [e.pk for e in sorted(created, key=lambda e: (e.occurred_at, e.pk), reverse=True)]
    client = signed_in(operator)
    response = client.get(history_url(customer))
    pages = [[e.pk for e in response.context["entries"]]]
    while response.context["older_url"]:
        response = client.get(history_url(customer) + html.unescape(response.context["older_url"]))
        pages.append([e.pk for e in response.context["entries"]])
    assert [len(page) for page in pages] == [50, 25]
    assert [pk for page in pages for pk in page] == expected
    back = client.get(history_url(customer) + html.unescape(response.context["newer_url"]))
    assert [e.pk for e in back.context["entries"]] == expected[:50]


def test_a_broken_page_link_is_a_clear_message_not_an_error(signed_in, helpdesk_agent, customer):
    response = signed_in(helpdesk_agent).get(history_url(customer) + "?before=garbage")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "That page link is no longer valid." in response.content.decode()


def test_a_customer_without_entries_says_so(signed_in, sales_agent, unready_customer):
    response = signed_in(sales_agent).get(history_url(unready_customer))
    assert "Nothing has happened for this customer yet." in response.content.decode()


def test_an_unknown_customer_is_404(signed_in, sales_agent):
    response = signed_in(sales_agent).get("/customers/00000000-0000-4000-8000-000000000000/history/")
    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_history_only_reads(signed_in, admin_agent, customer, method):
    response = getattr(signed_in(admin_agent), method)(history_url(customer))
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_the_history_needs_sign_in(client, customer):
    response = client.get(history_url(customer))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("login"))


def walk(client, url: str, start: str = "", link: str = "older_url") -> list[list[int]]:
    """Every page from start by following one kind of link to its end: each page's entry ids."""
    pages, response = [], client.get(url + start)
    while True:
        pages.append([entry.pk for entry in response.context["entries"]])
        following = response.context[link]
        if not following:
            return pages
        response = client.get(url + html.unescape(following))


def test_paging_has_no_gap_or_duplicate_among_equal_times_and_other_customers(signed_in, sales_agent,
                                                                                customer):
    """130 entries, seven at each instant (so instants straddle the pages' edges), between entries of
    another customer and entries of no customer at the very same instants: every page newest first,
    each of the customer's entries on exactly one page, the same pages walking back."""
    other = CustomerFactory(company_name="Fabrikam")
    base = timezone.now() - dt.timedelta(days=2)
    mine = []
    for n in range(130):
        at = base + dt.timedelta(seconds=n // 7)
        mine.append(for_customer(customer, at=at))
        for_customer(other, at=at)
        if n % 3 == 0:
            log_entry(at=at, customer_name="", customer_tenant_id=None)
    expected = [e.pk for e in sorted(mine, key=lambda e: (e.occurred_at, e.pk), reverse=True)]
    client = signed_in(sales_agent)
    url = history_url(customer)

    older = walk(client, url)
    assert [len(page) for page in older] == [50, 50, 30]
    assert [pk for page in older for pk in page] == expected  # no gap, no duplicate, newest first

    # From the last page back up by the Newer links: the same pages in reverse.
    last_page = client.get(url + html.unescape(client.get(url).context["older_url"]))
    last_page = client.get(url + html.unescape(last_page.context["older_url"]))
    assert [e.pk for e in last_page.context["entries"]] == older[-1]
    newer = walk(client, url, html.unescape(last_page.context["newer_url"]), link="newer_url")
    assert newer == older[-2::-1]
