import html
import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation

from activitylog.models import Action, ActivityLogEntry, Source, Status
from customers.models import Customer, CustomerUser, RoleAssignment, Subscription
from permissions.models import PurchasePermission, Resource
from permissions.selectors import purchase_readiness
from portal.models import Agent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

DEMO_AGENTS = {
    "admin@partner.example": Agent.Role.ADMIN_AGENT,
    "sales@partner.example": Agent.Role.SALES_AGENT,
    "helpdesk@partner.example": Agent.Role.HELPDESK_AGENT,
    "operator@partner.example": Agent.Role.OPERATOR,
}
BOTH = {Resource.AZURE_RESERVATIONS, Resource.AZURE_SAVINGS_PLAN}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo_password(monkeypatch) -> str:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-for-tests")
    return "demo-password-for-tests"


def snapshot() -> list[tuple]:
    """Everything that makes the demo what it is, without ids and times."""
    return sorted(
        (
            customer.company_name,
            customer.domain,
            tuple(sorted(customer.subscriptions.values_list("offer", "friendly_name", "status", "quantity"))),
            tuple(sorted(RoleAssignment.objects.filter(subscription__customer=customer)
                         .values_list("customer_user__user_principal_name", "role"))),
            tuple(sorted(customer.purchase_permissions.values_list("resource", flat=True))),
        )
        for customer in Customer.objects.all()
    )


def states() -> list[tuple[bool, bool, set[str]]]:
    """Per customer: active Azure subscription, Owner on it, the permissions that are on."""
    result = []
    for customer in Customer.objects.all():
        readiness = purchase_readiness(customer)
        allowed = set(PurchasePermission.objects.filter(customer=customer).values_list("resource", flat=True))
        result.append((customer, readiness.has_azure_subscription, readiness.has_owner, allowed))
    return result


def test_it_creates_one_agent_of_each_role(demo_password):
    seed()

    assert dict(Agent.objects.values_list("email", "role")) == DEMO_AGENTS


def test_the_agents_sign_in_with_demo_password(demo_password):
    output = seed()

    for email in DEMO_AGENTS:
        assert authenticate(HttpRequest(), email=email, password=demo_password) is not None
        assert authenticate(HttpRequest(), email=email, password="not-the-password") is None
    assert f"Password: {demo_password}" in output


def test_without_demo_password_it_makes_one_up_and_prints_it(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)

    output = seed()

    password = re.search(r"^Password: (\S+)$", output, re.MULTILINE).group(1)
    assert len(password) >= 12
    assert authenticate(HttpRequest(), email="admin@partner.example", password=password) is not None


def test_it_prints_the_address_and_the_four_sign_ins(demo_password):
    output = seed("--url", "http://127.0.0.1:8123/")

    assert "http://127.0.0.1:8123/" in output
    for email in DEMO_AGENTS:
        assert email in output


def test_it_fills_about_forty_customers_with_real_looking_details(demo_password):
    seed()

    customers = Customer.objects.all()
    assert 35 <= customers.count() <= 50
    for customer in customers:
        assert re.fullmatch(r"[a-z0-9]+\.onmicrosoft\.com", customer.domain)
        assert customer.city and customer.country and customer.address_line
        assert customer.contact_name and customer.contact_email.endswith("@" + customer.domain)
    names = "".join(customers.values_list("company_name", flat=True))
    for script in (r"[À-ž]", r"[\u3040-\u30ff]", r"[\u0400-\u04ff]", r"[\u0600-\u06ff]", r"[\u0e00-\u0e7f]"):
        assert re.search(script, names), f"no company name in {script}"
    assert customers.filter(company_name__startswith="PT ").count() >= 3


def test_it_leaves_customers_in_every_state_that_matters(demo_password):
    seed()

    found = states()
    ready = [allowed for _c, azure, owner, allowed in found if azure and owner]
    assert set() in ready
    assert {Resource.AZURE_RESERVATIONS} in ready
    assert {Resource.AZURE_SAVINGS_PLAN} in ready
    assert BOTH in ready
    # An Azure plan with a Contributor or a Reader but no Owner.
    no_owner = [c for c, azure, owner, allowed in found if azure and not owner and not allowed]
    assert RoleAssignment.objects.filter(subscription__customer__in=no_owner,
                                         role=RoleAssignment.Role.CONTRIBUTOR).exists()
    assert RoleAssignment.objects.filter(subscription__customer__in=no_owner,
                                         role=RoleAssignment.Role.READER).exists()
    # No Azure at all, only a Microsoft 365 licence.
    assert any(
        set(c.subscriptions.values_list("offer", flat=True)) == {Subscription.Offer.MICROSOFT_365}
        for c, azure, owner, allowed in found
    )
    # Allowed, then the Azure plan was suspended: the Account page warns.
    suspended = [c for c, azure, owner, allowed in found if allowed and not azure]
    assert suspended
    for customer in suspended:
        assert customer.subscriptions.azure().filter(status=Subscription.Status.SUSPENDED).exists()
    # Allowed, then the Owner was removed.
    owner_removed = [c for c, azure, owner, allowed in found if allowed and azure and not owner]
    assert owner_removed
    assert ActivityLogEntry.objects.filter(customer__in=owner_removed,
                                           action=Action.DELETE_ROLE_ASSIGNMENT).exists()


def test_every_write_went_through_the_services_and_is_logged(demo_password):
    seed()

    entries = ActivityLogEntry.objects.all()
    assert entries.exclude(source=Source.SYSTEM).count() == 0
    assert entries.exclude(request_id="seed_demo").count() == 0
    succeeded = entries.filter(status=Status.SUCCEEDED)
    assert set(succeeded.values_list("actor_email", flat=True)) == {"admin@partner.example"}
    assert succeeded.filter(action=Action.ADD_CUSTOMER).count() == Customer.objects.count()
    assert succeeded.filter(action=Action.CREATE_ORDER).count() == Subscription.objects.azure().count()
    assert succeeded.filter(action=Action.ADD_CUSTOMER_USER).count() == CustomerUser.objects.count()
    assert (
        succeeded.filter(action=Action.CREATE_ROLE_ASSIGNMENT).count()
        - succeeded.filter(action=Action.DELETE_ROLE_ASSIGNMENT).count()
        == RoleAssignment.objects.count()
    )
    assert (
        succeeded.filter(action=Action.CREATE_PURCHASE_PERMISSION).count()
        - succeeded.filter(action=Action.DELETE_PURCHASE_PERMISSION).count()
        == PurchasePermission.objects.count()
    )
    for permission in PurchasePermission.objects.all():
        assert permission.granted_by.email == "admin@partner.example"
    # The refused attempts it acts out changed nothing they were refused.
    for entry in entries.filter(status=Status.FAILED):
        assert entry.failure_reason
        assert not PurchasePermission.objects.filter(customer=entry.customer,
                                                     resource=entry.resource_id).exists()


@pytest.mark.django_db(transaction=True)
def test_it_is_the_same_demo_every_time(demo_password):
    # Each of its steps is a service that commits: empty the database between the two runs.
    seed()
    first = snapshot()
    call_command("flush", "--no-input")
    assert not Customer.objects.exists()

    seed()

    assert snapshot() == first


def test_it_refuses_a_database_that_holds_customers(demo_password):
    CustomerFactory()

    with pytest.raises(CommandError, match="already holds customers"):
        seed()

    assert Customer.objects.count() == 1
    assert not Agent.objects.exists()
    assert not Subscription.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_if_empty_on_a_populated_database_adds_nothing_and_succeeds(demo_password):
    seed()
    counts = (Customer.objects.count(), Agent.objects.count(), ActivityLogEntry.objects.count())

    output = seed("--if-empty")

    assert (Customer.objects.count(), Agent.objects.count(), ActivityLogEntry.objects.count()) == counts
    assert "no demo data loaded" in output
    assert f"Password: {demo_password}" in output
    for email in DEMO_AGENTS:
        assert email in output


def test_if_empty_does_not_print_a_password_that_does_not_sign_in(demo_password, monkeypatch):
    seed()
    monkeypatch.setenv("DEMO_PASSWORD", "another-password")

    output = seed("--if-empty")

    assert "another-password" not in output
    assert "the one printed when the demo data was first loaded" in output


def test_if_empty_on_an_empty_database_loads_the_demo(demo_password):
    seed("--if-empty")

    assert Customer.objects.exists()
    assert Agent.objects.count() == len(DEMO_AGENTS)


def test_it_refuses_when_a_demo_agent_already_exists(demo_password):
    Agent.objects.create_user("admin@partner.example", "x")

    with pytest.raises(CommandError, match="admin@partner.example"):
        seed()

    assert Agent.objects.count() == 1
    assert not Customer.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_its_refusals_read_in_the_readers_language(demo_password, client):
    seed()
    failed = list(ActivityLogEntry.objects.filter(status=Status.FAILED))
    assert failed and all(entry.failure_messages for entry in failed)

    with translation.override("id"):
        indonesian = {entry.reason for entry in failed}
    with translation.override("en"):
        english = {entry.reason for entry in failed}
    assert english == {entry.failure_reason for entry in failed}
    assert not indonesian & english
    client.force_login(Agent.objects.get(email="operator@partner.example"))
    page = client.get(reverse("activitylog:list"), {"status": "failed"}, HTTP_ACCEPT_LANGUAGE="id")
    shown = html.unescape(page.content.decode())
    assert all(reason in shown for reason in indonesian)
    assert not any(reason in shown for reason in english)
