"""Two scripts writing the same policy at once (PostgreSQL only; commits for real)."""

from http import HTTPStatus

import pytest

from activitylog.models import ActivityLogEntry
from permissions.models import PurchasePermission, Resource
from tests.factories import AgentFactory, PurchasePermissionFactory, ready_customer
from tests.permissions.test_concurrency import run_at_once

from .conftest import policy_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_two_puts_with_the_same_etag_one_wins_the_other_gets_412(needs_postgres, api_as, admin_agent):
    customer = ready_customer(company_name="Contoso Ltd")
    PurchasePermissionFactory(customer=customer, resource=Resource.AZURE_RESERVATIONS)
    first = api_as(admin_agent)
    second = api_as(AgentFactory(email="admin2@partner.example"))
    etag = first.get(policy_url(customer)).json()["attributes"]["etag"]
    # Both change the policy: savings plans only, or both.
    wanted = {"first": [Resource.AZURE_SAVINGS_PLAN],
              "second": [Resource.AZURE_RESERVATIONS, Resource.AZURE_SAVINGS_PLAN]}
    statuses = {}

    def put(name, api):
        def job():
            body = {"permissions": [{"resource": r, "action": "Purchase"} for r in wanted[name]],
                    "attributes": {"etag": etag}}
            statuses[name] = api.put(policy_url(customer), body).status_code
        return job

    run_at_once(put("first", first), put("second", second))

    assert sorted(statuses.values()) == [HTTPStatus.OK, HTTPStatus.PRECONDITION_FAILED]
    winner = next(name for name, status in statuses.items() if status == HTTPStatus.OK)
    allowed = set(PurchasePermission.objects.filter(customer=customer).values_list("resource", flat=True))
    assert allowed == set(wanted[winner])
    # Only the winner's changes are logged: create savings plans, and delete reservations if first won.
    expected_entries = 2 if winner == "first" else 1
    assert ActivityLogEntry.objects.filter(customer=customer).count() == expected_entries
