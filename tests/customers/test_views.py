"""The customer pages: who sees what, who may write, and what bad input or forged requests get."""

import uuid
from html.parser import HTMLParser
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from activitylog.models import Action, ActivityLogEntry, Status
from customers.models import AzureSubscription, Customer, CustomerUser, RoleAssignment, Subscription
from outbox.models import OutboxChange
from permissions.models import PurchasePermission
from portal.models import Agent
from tests.factories import (
    CustomerFactory,
    CustomerUserFactory,
    SubscriptionFactory,
    ready_customer,
)

pytestmark = pytest.mark.django_db

ADMIN = Agent.Role.ADMIN_AGENT.value


def db_state() -> tuple:
    """Everything a write could change, apart from the activity log."""
    return (
        list(Customer.objects.order_by("pk").values_list("pk", "company_name", "domain", "status")),
        list(Subscription.objects.order_by("pk").values_list("pk", "offer", "status", "friendly_name")),
        list(CustomerUser.objects.order_by("pk").values_list("pk", "customer", "user_principal_name")),
        list(RoleAssignment.objects.order_by("pk").values_list("pk", "subscription", "customer_user",
                                                               "role")),
        list(PurchasePermission.objects.order_by("pk").values_list("pk", "customer", "resource")),
        # The readiness steps queue their change for Microsoft (the mirror changes when it confirms).
        list(OutboxChange.objects.order_by("pk").values_list("pk", "kind", "desired")),
    )


class _PostForms(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self.targets.append(attrs.get("action") or self.page_url)


def post_targets(response) -> list[str]:
    """Where the forms on a page post to (a form without an action posts to the page itself)."""
    parser = _PostForms(response.wsgi_request.path)
    parser.feed(response.content.decode())
    return parser.targets


def write_targets(response) -> list[str]:
    """Forms that change data; signing out and choosing a language only touch the agent's own session."""
    own_session = {reverse("logout"), reverse("set_language")}
    return [target for target in post_targets(response) if target not in own_session]


# Every page of a customer, and what each role gets on a GET.
READ_PAGES = ["customers:account", "customers:subscriptions", "customers:users"]
ADMIN_ONLY_FORMS = ["customers:subscription_buy", "customers:user_add"]



# --- Every page x every role -------------------------------------------------------------------------


def test_every_agent_sees_the_customer_list(signed_in, any_agent, customer):
    response = signed_in(any_agent).get(reverse("customers:list"))

    assert response.status_code == HTTPStatus.OK
    assert "Contoso Ltd" in response.content.decode()


@pytest.mark.parametrize("url_name", READ_PAGES)
def test_every_agent_sees_every_customer_page(signed_in, any_agent, customer, url_name):
    response = signed_in(any_agent).get(reverse(url_name, args=[customer.tenant_id]))

    assert response.status_code == HTTPStatus.OK
    assert "Contoso Ltd" in response.content.decode()


def test_only_admin_agents_open_the_add_customer_form(signed_in, any_agent):
    response = signed_in(any_agent).get(reverse("customers:add"))

    expected = HTTPStatus.OK if any_agent.role == ADMIN else HTTPStatus.FORBIDDEN
    assert response.status_code == expected


@pytest.mark.parametrize("url_name", ADMIN_ONLY_FORMS)
def test_only_admin_agents_open_the_customer_forms(signed_in, any_agent, customer, url_name):
    response = signed_in(any_agent).get(reverse(url_name, args=[customer.tenant_id]))

    expected = HTTPStatus.OK if any_agent.role == ADMIN else HTTPStatus.FORBIDDEN
    assert response.status_code == expected


def test_only_admin_agents_open_the_grant_role_form(signed_in, any_agent, customer):
    subscription = customer.subscriptions.get()

    response = signed_in(any_agent).get(
        reverse("customers:role_grant", args=[customer.tenant_id, subscription.subscription_id]))

    expected = HTTPStatus.OK if any_agent.role == ADMIN else HTTPStatus.FORBIDDEN
    assert response.status_code == expected


@pytest.mark.parametrize("name", ["customers:subscription_status", "customers:role_remove"])
def test_post_only_endpoints_refuse_a_get(signed_in, admin_agent, customer, name):
    subscription = customer.subscriptions.get()
    args = ([customer.tenant_id, subscription.subscription_id] if name.endswith("status")
            else [customer.tenant_id, subscription.role_assignments.get().pk])
    before = db_state()

    response = signed_in(admin_agent).get(reverse(name, args=args))

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert db_state() == before


# --- The customer list: search and paging ------------------------------------------------------------


@pytest.fixture
def three_customers(db):
    return [
        CustomerFactory(company_name="Contoso Ltd", domain="contoso.onmicrosoft.com"),
        CustomerFactory(company_name="Fabrikam Inc", domain="fabrikam.onmicrosoft.com"),
        CustomerFactory(company_name="Northwind Traders", domain="nwt.example.com"),
    ]


def listed(response) -> set[str]:
    return {customer.company_name for customer in response.context["page"].object_list}


@pytest.mark.parametrize("query, expected", [
    ("fabri", {"Fabrikam Inc"}),
    ("CONTOSO", {"Contoso Ltd"}),
    ("nwt.example", {"Northwind Traders"}),
    ("onmicrosoft.com", {"Contoso Ltd", "Fabrikam Inc"}),
    ("  Traders  ", {"Northwind Traders"}),
    ("", {"Contoso Ltd", "Fabrikam Inc", "Northwind Traders"}),
])
def test_customer_list_searches_by_name_or_domain(signed_in, sales_agent, three_customers, query,
                                                  expected):
    response = signed_in(sales_agent).get(reverse("customers:list"), {"q": query})

    assert response.status_code == HTTPStatus.OK
    assert listed(response) == expected


def test_customer_list_finds_a_customer_by_its_exact_tenant_id(signed_in, sales_agent, three_customers):
    fabrikam = three_customers[1]

    response = signed_in(sales_agent).get(reverse("customers:list"), {"q": str(fabrikam.tenant_id)})

    assert listed(response) == {"Fabrikam Inc"}


def test_customer_list_does_not_match_part_of_a_tenant_id(signed_in, sales_agent, three_customers):
    fragment = str(three_customers[1].tenant_id)[:8]

    response = signed_in(sales_agent).get(reverse("customers:list"), {"q": fragment})

    assert response.status_code == HTTPStatus.OK
    assert listed(response) == set()
    assert "No customer matches" in response.content.decode()


def test_customer_list_pages_through_every_customer_once(signed_in, helpdesk_agent):
    names = {CustomerFactory(company_name=f"Customer {n:02}").company_name for n in range(30)}

    first = signed_in(helpdesk_agent).get(reverse("customers:list"))
    second = signed_in(helpdesk_agent).get(reverse("customers:list"), {"page": 2})

    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 5
    assert listed(first) | listed(second) == names
    assert not listed(first) & listed(second)
    assert 'href="?page=2"' in first.content.decode()


def test_customer_list_keeps_the_search_when_paging(signed_in, helpdesk_agent):
    for n in range(30):
        CustomerFactory(company_name=f"Tailspin {n:02}")
    CustomerFactory(company_name="Other")

    response = signed_in(helpdesk_agent).get(reverse("customers:list"), {"q": "tail", "page": 2})

    assert len(response.context["page"].object_list) == 5
    assert 'href="?q=tail&amp;page=1"' in response.content.decode()


@pytest.mark.parametrize("page_number", ["abc", "0", "-1", "9999", ""])
def test_customer_list_survives_any_page_number(signed_in, helpdesk_agent, customer, page_number):
    response = signed_in(helpdesk_agent).get(reverse("customers:list"), {"page": page_number})

    assert response.status_code == HTTPStatus.OK
    assert listed(response) == {"Contoso Ltd"}


def test_customer_list_says_when_there_are_no_customers(signed_in, sales_agent):
    response = signed_in(sales_agent).get(reverse("customers:list"))

    assert response.status_code == HTTPStatus.OK
    assert "No customers yet." in response.content.decode()


# --- Read-only agents: no controls, and a line saying why ------------------------------------------


def test_read_only_agents_see_no_add_customer_button(signed_in, non_admin_agent, customer):
    response = signed_in(non_admin_agent).get(reverse("customers:list"))

    assert reverse("customers:add") not in response.content.decode()


def test_admin_agents_see_the_add_customer_button(signed_in, admin_agent, customer):
    response = signed_in(admin_agent).get(reverse("customers:list"))

    assert reverse("customers:add") in response.content.decode()


@pytest.fixture
def busy_customer(customer):
    """A ready customer with a suspended plan, a Microsoft 365 licence and a user without a role."""
    SubscriptionFactory(customer=customer, status=Subscription.Status.SUSPENDED,
                        friendly_name="Old plan")
    SubscriptionFactory(customer=customer, offer=Subscription.Offer.MICROSOFT_365,
                        friendly_name="M365")
    CustomerUserFactory(customer=customer, display_name="Rin Tanaka")
    return customer


def test_read_only_agents_get_a_subscriptions_page_without_controls(signed_in, non_admin_agent,
                                                                     busy_customer):
    tenant = busy_customer.tenant_id
    response = signed_in(non_admin_agent).get(reverse("customers:subscriptions", args=[tenant]))

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert write_targets(response) == []
    assert reverse("customers:subscription_buy", args=[tenant]) not in html
    for subscription in busy_customer.subscriptions.all():
        assert reverse("customers:role_grant", args=[tenant, subscription.subscription_id]) not in html
    assert "Grant a role" not in html
    assert "You have read-only access. Only Admin agents can buy subscriptions or change roles." in html


def test_admin_agents_get_a_subscriptions_page_with_controls(signed_in, admin_agent, busy_customer):
    tenant = busy_customer.tenant_id
    plan, old_plan, _m365 = busy_customer.subscriptions.order_by("pk")

    response = signed_in(admin_agent).get(reverse("customers:subscriptions", args=[tenant]))

    html = response.content.decode()
    assert sorted(write_targets(response)) == sorted([
        reverse("customers:subscription_status", args=[tenant, plan.subscription_id]),
        reverse("customers:subscription_status", args=[tenant, old_plan.subscription_id]),
        reverse("customers:role_remove", args=[tenant, plan.role_assignments.get().pk]),
    ])
    assert reverse("customers:subscription_buy", args=[tenant]) in html
    assert reverse("customers:role_grant", args=[tenant, plan.subscription_id]) in html
    assert "read-only access" not in html


def test_read_only_agents_get_a_users_page_without_controls(signed_in, non_admin_agent, busy_customer):
    tenant = busy_customer.tenant_id
    response = signed_in(non_admin_agent).get(reverse("customers:users", args=[tenant]))

    html = response.content.decode()
    assert write_targets(response) == []
    assert reverse("customers:user_add", args=[tenant]) not in html
    assert "Rin Tanaka" in html
    assert "You have read-only access. Only Admin agents can add users." in html


def test_admin_agents_get_an_add_user_button(signed_in, admin_agent, busy_customer):
    response = signed_in(admin_agent).get(reverse("customers:users", args=[busy_customer.tenant_id]))

    html = response.content.decode()
    assert reverse("customers:user_add", args=[busy_customer.tenant_id]) in html
    assert "read-only access" not in html


def test_users_page_lists_each_users_roles(signed_in, sales_agent, customer):
    owner = customer.users.get()

    response = signed_in(sales_agent).get(reverse("customers:users", args=[customer.tenant_id]))

    html = response.content.decode()
    assert owner.display_name in html
    assert owner.user_principal_name in html
    assert "Owner <span class=\"muted\">(Azure plan)</span>" in html


# --- Writes: every endpoint, what an admin gets and what a forged POST gets -------------------------


@pytest.fixture
def write_requests(customer):
    """Each write endpoint with a POST an Admin agent would succeed with, and the action it logs."""
    tenant = customer.tenant_id
    plan = customer.subscriptions.get()
    assignment = plan.role_assignments.get()
    azure = AzureSubscription.objects.create(subscription=plan, azure_subscription_id=uuid.uuid4(),
                                             friendly_name="Microsoft Azure")
    return {
        "add customer": (reverse("customers:add"),
                         {"company_name": "Northwind", "domain": "northwind.onmicrosoft.com"},
                         Action.ADD_CUSTOMER),
        "buy Azure plan": (reverse("customers:subscription_buy", args=[tenant]),
                           {"friendly_name": "Second plan"},
                           Action.CREATE_ORDER),
        "suspend subscription": (
            reverse("customers:subscription_status", args=[tenant, plan.subscription_id]),
            {"status": "suspended", "confirmed": "on"}, Action.UPDATE_SUBSCRIPTION),
        "grant role": (reverse("customers:role_grant", args=[tenant, plan.subscription_id]),
                       {"azure_subscription": azure.pk, "role": "owner",
                        "user_principal_name": "new.colleague@contoso.onmicrosoft.com"},
                       Action.CREATE_ROLE_ASSIGNMENT),
        "remove role": (reverse("customers:role_remove", args=[tenant, assignment.pk]), {"confirmed": "on"},
                        Action.DELETE_ROLE_ASSIGNMENT),
        "add user": (reverse("customers:user_add", args=[tenant]),
                     {"user_principal_name": "kim@contoso.onmicrosoft.com", "display_name": "Kim",
                      "usage_location": "ID"},
                     Action.ADD_CUSTOMER_USER),
    }


WRITES = ["add customer", "buy Azure plan", "suspend subscription", "grant role", "remove role",
          "add user"]
# A whole customer is added in Partner Center: the portal's page links there and writes nothing
# (tests/microsoft/test_readiness_steps.py).
PORTAL_WRITES = [write for write in WRITES if write != "add customer"]


@pytest.mark.parametrize("write", PORTAL_WRITES)
def test_admin_agent_writes_through_every_endpoint(signed_in, admin_agent, write_requests, write):
    url, data, action = write_requests[write]
    before = db_state()

    response = signed_in(admin_agent).post(url, data, headers={"MS-CorrelationId": "run-42"})

    assert response.status_code == HTTPStatus.FOUND
    assert db_state() != before
    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.status, entry.actor_email) == (action, Status.SUCCEEDED,
                                                               "admin@partner.example")
    assert entry.source == "web"
    assert entry.request_id == response["MS-RequestId"]
    assert entry.correlation_id == response["MS-CorrelationId"] == "run-42"
    assert entry.client_ip == "127.0.0.1"


@pytest.mark.parametrize("write", WRITES)
def test_a_forged_post_by_a_read_only_agent_is_refused_and_logged(signed_in, non_admin_agent,
                                                                  write_requests, write):
    url, data, action = write_requests[write]
    before = db_state()

    response = signed_in(non_admin_agent).post(url, data)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert db_state() == before
    entry = ActivityLogEntry.objects.get()
    assert entry.action == action
    assert entry.status == Status.FAILED
    assert entry.actor_email == non_admin_agent.email
    assert entry.failure_reason


# The endpoints whose form a forged POST can fail to fill (remove role has no form).
INVALID_POSTS = {
    "add customer": {"company_name": "", "domain": "not a domain"},
    "buy Azure plan": {"offer": "microsoft_365", "friendly_name": ""},
    "suspend subscription": {"status": "deleted"},
    "grant role": {"customer_user": "999999", "role": "god"},
    "add user": {"user_principal_name": "nobody", "display_name": ""},
}


@pytest.mark.parametrize("write", list(INVALID_POSTS))
def test_a_forged_post_with_invalid_data_is_refused_and_logged(signed_in, non_admin_agent, customer,
                                                              write_requests, write):
    url, _data, action = write_requests[write]
    before = db_state()

    response = signed_in(non_admin_agent).post(url, INVALID_POSTS[write])

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert db_state() == before
    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.status, entry.actor_email) == (action, Status.FAILED, non_admin_agent.email)
    assert entry.failure_reason == (
        "Only Admin agents can add customers, buy subscriptions, add users or change roles.")
    assert entry.customer == (None if write == "add customer" else customer)


@pytest.mark.parametrize("write", [write for write in INVALID_POSTS if write != "add customer"])
def test_an_admins_invalid_post_is_a_form_error_and_logs_nothing(signed_in, admin_agent, write_requests,
                                                                 write):
    url, _data, _action = write_requests[write]
    before = db_state()

    response = signed_in(admin_agent).post(url, INVALID_POSTS[write])

    assert response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.FOUND)
    assert db_state() == before
    assert not ActivityLogEntry.objects.exists()


def test_with_atomic_requests_a_web_write_fails_loudly_rather_than_lose_its_refusal(
        signed_in, sales_agent, write_requests, monkeypatch):
    """A service owns its transaction; inside the request's, a refusal would roll back with it."""
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    url, data, _action = write_requests["add user"]
    before = db_state()

    with pytest.raises(RuntimeError, match="durable"):
        signed_in(sales_agent).post(url, data)

    assert db_state() == before


@pytest.mark.parametrize("write", WRITES)
def test_every_write_needs_a_csrf_token(admin_agent, write_requests, write):
    url, data, _action = write_requests[write]
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_agent)
    before = db_state()

    response = client.post(url, data)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert db_state() == before
    assert not ActivityLogEntry.objects.exists()


def test_a_write_with_the_pages_csrf_token_goes_through(admin_agent, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_agent)
    url = reverse("customers:user_add", args=[customer.tenant_id])
    client.get(url)

    response = client.post(url, {"user_principal_name": "kim@contoso.onmicrosoft.com",
                                 "display_name": "Kim", "usage_location": "ID",
                                 "csrfmiddlewaretoken": client.cookies["csrftoken"].value})

    assert response.status_code == HTTPStatus.FOUND
    assert OutboxChange.objects.get().desired["user_principal_name"] == "kim@contoso.onmicrosoft.com"


# --- What each write does for an Admin agent ---------------------------------------------------------


def test_admin_agent_orders_an_azure_plan_which_waits_for_microsoft(signed_in, admin_agent,
                                                                     unready_customer):
    tenant = unready_customer.tenant_id
    response = signed_in(admin_agent).post(
        reverse("customers:subscription_buy", args=[tenant]), {"friendly_name": "Global"}, follow=True)

    assert not unready_customer.subscriptions.exists()  # until Partner Center confirms
    assert OutboxChange.objects.get().desired == {"offer": "azure_plan", "friendly_name": "Global"}
    assert response.redirect_chain[-1][0] == reverse("customers:subscriptions", args=[tenant])
    html = response.content.decode()
    assert "Azure plan ordered in Partner Center." in html and "Waiting for Microsoft" in html


@pytest.mark.parametrize("status, label", [("suspended", "suspended"), ("active", "active")])
def test_admin_agent_suspends_and_reactivates_a_subscription(signed_in, admin_agent, customer,
                                                            status, label):
    plan = customer.subscriptions.get()
    if status == "active":
        Subscription.objects.filter(pk=plan.pk).update(status="suspended")

    response = signed_in(admin_agent).post(
        reverse("customers:subscription_status", args=[customer.tenant_id, plan.subscription_id]),
        {"status": status, "confirmed": "on"}, follow=True)

    plan.refresh_from_db()
    assert plan.status == status
    assert f"Azure plan is now {label}." in response.content.decode()


def test_setting_a_subscription_to_its_current_status_changes_and_logs_nothing(signed_in, admin_agent,
                                                                             customer):
    plan = customer.subscriptions.get()

    response = signed_in(admin_agent).post(
        reverse("customers:subscription_status", args=[customer.tenant_id, plan.subscription_id]),
        {"status": "active"})

    assert response.status_code == HTTPStatus.FOUND
    assert not ActivityLogEntry.objects.exists()


def test_a_cancelled_subscription_cannot_be_reactivated(signed_in, admin_agent, customer):
    cancelled = SubscriptionFactory(customer=customer, status=Subscription.Status.CANCELLED)

    response = signed_in(admin_agent).post(
        reverse("customers:subscription_status", args=[customer.tenant_id, cancelled.subscription_id]),
        {"status": "active"}, follow=True)

    cancelled.refresh_from_db()
    assert cancelled.status == "cancelled"
    assert "A cancelled subscription cannot be changed." in response.content.decode()
    assert ActivityLogEntry.objects.get().status == Status.FAILED


def test_admin_agent_grants_the_owner_role_which_waits_for_azure(signed_in, admin_agent, customer):
    plan = customer.subscriptions.get()
    azure = AzureSubscription.objects.create(subscription=plan, azure_subscription_id=uuid.uuid4())
    rows = RoleAssignment.objects.count()

    response = signed_in(admin_agent).post(
        reverse("customers:role_grant", args=[customer.tenant_id, plan.subscription_id]),
        {"azure_subscription": azure.pk, "user_principal_name": "Ayu@Contoso.onmicrosoft.com",
         "role": "owner"}, follow=True)

    assert RoleAssignment.objects.count() == rows
    desired = OutboxChange.objects.get().desired
    assert (desired["operation"], desired["user_principal_name"], desired["role_definition_id"]) == (
        "create", "ayu@contoso.onmicrosoft.com", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635")
    assert "Role assignment sent to Azure." in response.content.decode()


def test_admin_agent_removes_a_role(signed_in, admin_agent, customer):
    assignment = RoleAssignment.objects.get()

    response = signed_in(admin_agent).post(
        reverse("customers:role_remove", args=[customer.tenant_id, assignment.pk]), {"confirmed": "on"},
        follow=True)

    assert not RoleAssignment.objects.exists()
    assert "no longer has the Owner role on Azure plan." in response.content.decode()


def test_removing_a_role_that_is_already_gone_is_not_found(signed_in, admin_agent, customer):
    assignment = RoleAssignment.objects.get()
    url = reverse("customers:role_remove", args=[customer.tenant_id, assignment.pk])
    signed_in(admin_agent).post(url, {"confirmed": "on"})

    response = signed_in(admin_agent).post(url, {"confirmed": "on"})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert ActivityLogEntry.objects.count() == 1


def test_admin_agent_adds_a_customer_user_which_waits_for_partner_center(signed_in, admin_agent,
                                                                         customer):
    response = signed_in(admin_agent).post(
        reverse("customers:user_add", args=[customer.tenant_id]),
        {"user_principal_name": " Kim@Contoso.onmicrosoft.com ", "display_name": "Пример Кім",
         "usage_location": "id"}, follow=True)

    assert not customer.users.filter(user_principal_name="kim@contoso.onmicrosoft.com").exists()
    desired = OutboxChange.objects.get().desired
    assert (desired["user_principal_name"], desired["display_name"], desired["usage_location"]) == (
        "kim@contoso.onmicrosoft.com", "Пример Кім", "ID")
    assert "User sent to Partner Center." in response.content.decode()


# --- Unknown, malformed and foreign ids -> 404 ------------------------------------------------------


def customer_urls(tenant_id, subscription_id, assignment_id) -> list[tuple[str, str]]:
    """(method, url) for every address under a customer."""
    return [
        ("get", reverse("customers:account", args=[tenant_id])),
        ("get", reverse("customers:permissions", args=[tenant_id])),
        ("post", reverse("customers:permissions", args=[tenant_id])),
        ("get", reverse("customers:subscriptions", args=[tenant_id])),
        ("get", reverse("customers:subscription_buy", args=[tenant_id])),
        ("post", reverse("customers:subscription_buy", args=[tenant_id])),
        ("post", reverse("customers:subscription_status", args=[tenant_id, subscription_id])),
        ("get", reverse("customers:role_grant", args=[tenant_id, subscription_id])),
        ("post", reverse("customers:role_grant", args=[tenant_id, subscription_id])),
        ("post", reverse("customers:role_remove", args=[tenant_id, assignment_id])),
        ("get", reverse("customers:users", args=[tenant_id])),
        ("get", reverse("customers:user_add", args=[tenant_id])),
        ("post", reverse("customers:user_add", args=[tenant_id])),
    ]


def test_an_unknown_tenant_id_is_not_found_everywhere(signed_in, any_agent, customer):
    plan = customer.subscriptions.get()
    unknown = uuid.uuid4()
    client = signed_in(any_agent)
    before = db_state()

    for method, url in customer_urls(unknown, plan.subscription_id, plan.role_assignments.get().pk):
        response = getattr(client, method)(url, {"status": "suspended", "offer": "azure_plan",
                                                 "friendly_name": "x"})
        assert response.status_code == HTTPStatus.NOT_FOUND, (method, url)
        assert "Page not found" in response.content.decode()

    assert db_state() == before
    assert not ActivityLogEntry.objects.exists()


@pytest.mark.parametrize("tenant", ["not-a-uuid", "12345", "00000000-0000-0000-0000-00000000000g",
                                    "%20", "..%2F..%2Fadmin"])
def test_a_malformed_tenant_id_is_not_found(signed_in, admin_agent, tenant):
    client = signed_in(admin_agent)

    for suffix in ["account/", "account/permissions/", "subscriptions/", "users/", "users/new/"]:
        assert client.get(f"/customers/{tenant}/{suffix}").status_code == HTTPStatus.NOT_FOUND
        assert client.post(f"/customers/{tenant}/{suffix}").status_code == HTTPStatus.NOT_FOUND


@pytest.fixture
def other_customer(db):
    return ready_customer(company_name="Litware", domain="litware.onmicrosoft.com")


def test_another_customers_subscription_is_not_found(signed_in, any_agent, customer, other_customer):
    foreign = other_customer.subscriptions.get()
    client = signed_in(any_agent)
    before = db_state()

    for method, name in [("post", "customers:subscription_status"), ("get", "customers:role_grant"),
                         ("post", "customers:role_grant")]:
        url = reverse(name, args=[customer.tenant_id, foreign.subscription_id])
        response = getattr(client, method)(url, {"status": "suspended", "role": "owner",
                                                 "customer_user": customer.users.get().pk})
        assert response.status_code == HTTPStatus.NOT_FOUND, (method, name)

    assert db_state() == before
    assert not ActivityLogEntry.objects.exists()


def test_another_customers_role_assignment_is_not_found(signed_in, admin_agent, customer, other_customer):
    foreign = RoleAssignment.objects.get(subscription__customer=other_customer)
    before = db_state()

    response = signed_in(admin_agent).post(
        reverse("customers:role_remove", args=[customer.tenant_id, foreign.pk]))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert db_state() == before
    assert not ActivityLogEntry.objects.exists()


# --- Malformed form input -> a form error (400), never a 500 --------------------------------------


@pytest.mark.parametrize("data, message", [
    ({"friendly_name": "   "}, "This field is required."),
    ({"friendly_name": "P" * 101}, "at most 100 characters"),
    ({"friendly_name": ""}, "This field is required."),
    ({}, "This field is required."),
])
def test_buy_plan_with_bad_input_shows_the_form_again(signed_in, admin_agent, unready_customer, data,
                                                      message):
    response = signed_in(admin_agent).post(
        reverse("customers:subscription_buy", args=[unready_customer.tenant_id]), data)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.content.decode()
    assert not Subscription.objects.exists()
    assert not ActivityLogEntry.objects.exists()


@pytest.mark.parametrize("data, message", [
    ({"user_principal_name": "not an e-mail", "display_name": "Kim"},
     "Enter a sign-in name such as alex@contoso.com."),
    ({"user_principal_name": "kim@", "display_name": "Kim"}, "Enter a sign-in name such as"),
    ({"user_principal_name": "", "display_name": ""}, "This field is required."),
    ({"user_principal_name": "kim@contoso.onmicrosoft.com", "display_name": "   "},
     "This field is required."),
])
def test_add_user_with_bad_input_shows_the_form_again(signed_in, admin_agent, unready_customer, data,
                                                      message):
    response = signed_in(admin_agent).post(
        reverse("customers:user_add", args=[unready_customer.tenant_id]), data)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.content.decode()
    assert not CustomerUser.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_adding_a_user_twice_is_a_form_error(signed_in, admin_agent, customer):
    existing = customer.users.get()

    response = signed_in(admin_agent).post(
        reverse("customers:user_add", args=[customer.tenant_id]),
        {"user_principal_name": existing.user_principal_name.upper(), "display_name": "Again",
         "usage_location": "ID"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "is already a user of this customer." in response.content.decode()
    assert customer.users.count() == 1
    assert ActivityLogEntry.objects.get().status == Status.FAILED


def test_granting_a_role_on_another_customers_azure_subscription_is_a_form_error(
        signed_in, admin_agent, customer, other_customer):
    plan = customer.subscriptions.get()
    foreign = AzureSubscription.objects.create(subscription=other_customer.subscriptions.get(),
                                               azure_subscription_id=uuid.uuid4())
    before = db_state()

    response = signed_in(admin_agent).post(
        reverse("customers:role_grant", args=[customer.tenant_id, plan.subscription_id]),
        {"azure_subscription": foreign.pk, "user_principal_name": "a@contoso.onmicrosoft.com",
         "role": "owner"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Select a valid choice." in response.content.decode()
    assert db_state() == before
    assert not ActivityLogEntry.objects.exists()


@pytest.mark.parametrize("data", [
    {"azure_subscription": "abc", "user_principal_name": "a@contoso.onmicrosoft.com", "role": "owner"},
    {"azure_subscription": "999999999", "user_principal_name": "a@contoso.onmicrosoft.com", "role": "owner"},
    {"azure_subscription": "AZURE", "user_principal_name": "not a name", "role": "owner"},
    {"azure_subscription": "AZURE", "role": "owner"},
    {"azure_subscription": "AZURE", "user_principal_name": "a@contoso.onmicrosoft.com", "role": "other"},
    {"azure_subscription": "AZURE", "user_principal_name": "a@contoso.onmicrosoft.com", "role": "god"},
])
def test_grant_role_with_bad_input_shows_the_form_again(signed_in, admin_agent, customer, data):
    plan = customer.subscriptions.get()
    azure = AzureSubscription.objects.create(subscription=plan, azure_subscription_id=uuid.uuid4())
    if data.get("azure_subscription") == "AZURE":
        data = {**data, "azure_subscription": azure.pk}
    before = db_state()

    response = signed_in(admin_agent).post(
        reverse("customers:role_grant", args=[customer.tenant_id, plan.subscription_id]), data)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert db_state() == before
    assert not ActivityLogEntry.objects.exists()


def test_granting_a_role_azure_holds_is_a_form_error(signed_in, admin_agent, customer):
    plan = customer.subscriptions.get()
    azure = AzureSubscription.objects.create(subscription=plan, azure_subscription_id=uuid.uuid4())
    RoleAssignment.objects.create(subscription=plan, azure_subscription=azure, role="owner",
                                  assignment_name=str(uuid.uuid4()), principal_id=str(uuid.uuid4()),
                                  principal_sign_in_name="megan@contoso.onmicrosoft.com")

    response = signed_in(admin_agent).post(
        reverse("customers:role_grant", args=[customer.tenant_id, plan.subscription_id]),
        {"azure_subscription": azure.pk, "user_principal_name": "Megan@contoso.onmicrosoft.com",
         "role": "owner"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "already has the Owner role on" in response.content.decode()
    assert not OutboxChange.objects.exists()
    assert ActivityLogEntry.objects.get().status == Status.FAILED


def test_a_licence_subscription_offers_no_azure_subscription_to_grant_on(signed_in, admin_agent, customer):
    m365 = SubscriptionFactory(customer=customer, offer=Subscription.Offer.MICROSOFT_365)

    response = signed_in(admin_agent).get(
        reverse("customers:role_grant", args=[customer.tenant_id, m365.subscription_id]))

    assert "Microsoft lists no active Azure subscription in" in response.content.decode()


@pytest.mark.parametrize("status", ["cancelled", "deleted", ""])
def test_a_bad_subscription_status_changes_nothing(signed_in, admin_agent, customer, status):
    plan = customer.subscriptions.get()

    response = signed_in(admin_agent).post(
        reverse("customers:subscription_status", args=[customer.tenant_id, plan.subscription_id]),
        {"status": status}, follow=True)

    plan.refresh_from_db()
    assert response.status_code == HTTPStatus.OK
    assert "Choose whether to suspend or reactivate the subscription." in response.content.decode()
    assert plan.status == "active"
    assert not ActivityLogEntry.objects.exists()
