"""The Customer Permissions box on the Account page, and its edit page."""

import re
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from activitylog.models import Action, ActivityLogEntry, Status
from customers.models import Subscription
from permissions.models import PurchasePermission, Resource
from portal.models import Agent
from tests.factories import PurchasePermissionFactory, SubscriptionFactory, post_confirming

pytestmark = pytest.mark.django_db

RESERVATIONS = Resource.AZURE_RESERVATIONS.value
SAVINGS_PLAN = Resource.AZURE_SAVINGS_PLAN.value
NO_AZURE_PLAN = "The customer has no active Azure plan or Azure Global subscription."
NO_OWNER = "No customer user holds the Owner role on an active Azure subscription."
DONT_ALLOW = "Don't allow customer to purchase"
READ_ONLY_LINE = "You have read-only access. Only Admin agents can change customer permissions."


def edit_url(customer) -> str:
    return reverse("customers:permissions", args=[customer.tenant_id])


def account_url(customer) -> str:
    return reverse("customers:account", args=[customer.tenant_id])


def allowed(customer) -> set[str]:
    return set(PurchasePermission.objects.filter(customer=customer).values_list("resource", flat=True))


def setting_cells(html: str) -> dict[str, str]:
    """Each permission row of the Account page: its label -> the setting shown."""
    rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td>\s*<span class="status status-\w+">([^<]+)</span>',
                      html)
    return dict(rows)



# --- Who gets which page -----------------------------------------------------------------------------


def test_only_admin_agents_open_the_edit_page(signed_in, any_agent, customer):
    response = signed_in(any_agent).get(edit_url(customer))

    if any_agent.role == Agent.Role.ADMIN_AGENT:
        assert response.status_code == HTTPStatus.OK
        html = response.content.decode()
        assert f'action="{edit_url(customer)}"' in html
        assert f'name="{RESERVATIONS}" value="allow"' in html
        assert f'name="{SAVINGS_PLAN}" value="deny"' in html
    else:
        assert response.status_code == HTTPStatus.FORBIDDEN


def test_the_edit_form_starts_from_the_current_settings(signed_in, admin_agent, customer):
    PurchasePermissionFactory(customer=customer, resource=SAVINGS_PLAN)

    response = signed_in(admin_agent).get(edit_url(customer))

    html = response.content.decode()
    assert re.search(rf'name="{SAVINGS_PLAN}" value="allow"[^>]*checked', html)
    assert re.search(rf'name="{RESERVATIONS}" value="deny"[^>]*checked', html)


def test_every_agent_sees_the_customer_permissions_box(signed_in, any_agent, customer):
    response = signed_in(any_agent).get(account_url(customer))

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert setting_cells(html) == {"Azure reservations": DONT_ALLOW,
                                   "Azure savings plans": DONT_ALLOW}
    assert html.count("Never changed (off by default)") == 2


def test_read_only_agents_see_no_edit_control_and_are_told_why(signed_in, non_admin_agent, customer):
    response = signed_in(non_admin_agent).get(account_url(customer))

    html = response.content.decode()
    assert edit_url(customer) not in html
    for own_session in ("logout", "set_language"):
        html = html.replace(f'method="post" action="{reverse(own_session)}"', "")
    assert 'method="post"' not in html
    assert READ_ONLY_LINE in html


def test_admin_agents_see_the_edit_link_and_no_read_only_line(signed_in, admin_agent, customer):
    response = signed_in(admin_agent).get(account_url(customer))

    html = response.content.decode()
    assert f'href="{edit_url(customer)}#customer-permissions"' in html
    assert READ_ONLY_LINE not in html


# --- The admin's journey -----------------------------------------------------------------------------


def test_admin_allows_reservations_and_sees_it_everywhere(signed_in, admin_agent, customer):
    client = signed_in(admin_agent)
    assert client.get(edit_url(customer)).status_code == HTTPStatus.OK

    response = post_confirming(
        client, edit_url(customer), {RESERVATIONS: "allow", SAVINGS_PLAN: "deny"}, follow=True)

    assert response.redirect_chain == [(account_url(customer), HTTPStatus.FOUND)]
    html = response.content.decode()
    assert "Customer permissions saved for Contoso Ltd." in html
    assert setting_cells(html) == {"Azure reservations": "Allow customer to purchase",
                                   "Azure savings plans": DONT_ALLOW}
    entry = ActivityLogEntry.objects.get()
    when = entry.occurred_at
    assert f"admin@partner.example, {when.day} {when:%b %Y, %H:%M} UTC" in html
    assert html.count("Never changed (off by default)") == 1
    assert allowed(customer) == {RESERVATIONS}

    log = client.get(reverse("activitylog:list")).content.decode()
    assert "Create Customer Purchase Permissions" in log
    assert f'<a href="{account_url(customer)}">Contoso Ltd</a>' in log
    assert "admin@partner.example" in log


def test_admin_allows_both_at_once_with_one_entry_each(signed_in, admin_agent, customer):
    response = post_confirming(
        signed_in(admin_agent), edit_url(customer), {RESERVATIONS: "allow", SAVINGS_PLAN: "allow"})

    assert response.status_code == HTTPStatus.FOUND
    assert allowed(customer) == {RESERVATIONS, SAVINGS_PLAN}
    assert sorted(ActivityLogEntry.objects.values_list("resource_id", "action", "status")) == [
        (RESERVATIONS, Action.CREATE_PURCHASE_PERMISSION, Status.SUCCEEDED),
        (SAVINGS_PLAN, Action.CREATE_PURCHASE_PERMISSION, Status.SUCCEEDED),
    ]


def test_admin_turns_a_permission_off(signed_in, admin_agent, customer):
    PurchasePermissionFactory(customer=customer, resource=SAVINGS_PLAN)

    response = post_confirming(
        signed_in(admin_agent), edit_url(customer), {RESERVATIONS: "deny", SAVINGS_PLAN: "deny"},
                                           follow=True)

    assert allowed(customer) == set()
    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.resource_id) == (Action.DELETE_PURCHASE_PERMISSION, SAVINGS_PLAN)
    assert setting_cells(response.content.decode())["Azure savings plans"] == DONT_ALLOW


def test_saving_the_current_settings_changes_and_logs_nothing(signed_in, admin_agent, customer):
    response = post_confirming(
        signed_in(admin_agent), edit_url(customer), {RESERVATIONS: "deny", SAVINGS_PLAN: "deny"},
                                           follow=True)

    assert "Nothing changed: the permissions were already set that way." in response.content.decode()
    assert allowed(customer) == set()
    assert not ActivityLogEntry.objects.exists()


def test_last_changed_shows_the_latest_success_not_a_refused_attempt(signed_in, admin_agent, sales_agent,
                                                                     customer):
    post_confirming(signed_in(admin_agent), edit_url(customer), {RESERVATIONS: "allow", SAVINGS_PLAN: "deny"})
    post_confirming(signed_in(sales_agent), edit_url(customer), {RESERVATIONS: "deny", SAVINGS_PLAN: "deny"})

    html = signed_in(sales_agent).get(account_url(customer)).content.decode()

    assert "admin@partner.example, " in html
    assert "sales@partner.example, " not in html
    assert allowed(customer) == {RESERVATIONS}


# --- Refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    {RESERVATIONS: "allow", SAVINGS_PLAN: "deny"},
    {RESERVATIONS: "allow", SAVINGS_PLAN: "allow"},
])
def test_a_forged_post_by_a_read_only_agent_is_refused_and_logged(signed_in, non_admin_agent, customer,
                                                                  data):
    response = post_confirming(signed_in(non_admin_agent), edit_url(customer), data)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert allowed(customer) == set()
    entries = ActivityLogEntry.objects.all()
    expected = [RESERVATIONS, SAVINGS_PLAN] if data[SAVINGS_PLAN] == "allow" else [RESERVATIONS]
    assert sorted(entries.values_list("resource_id", flat=True)) == expected
    for entry in entries:
        assert (entry.action, entry.status, entry.actor_email) == (
            Action.CREATE_PURCHASE_PERMISSION, Status.FAILED, non_admin_agent.email)


@pytest.mark.parametrize("data", [
    {RESERVATIONS: "maybe", SAVINGS_PLAN: "deny"},
    {RESERVATIONS: "allow"},
    {},
    {RESERVATIONS: "allow\x00", SAVINGS_PLAN: "allow"},
])
def test_a_forged_post_with_invalid_data_is_refused_and_logged(signed_in, non_admin_agent, customer, data):
    response = post_confirming(signed_in(non_admin_agent), edit_url(customer), data)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert allowed(customer) == set()
    entries = ActivityLogEntry.objects.all()
    assert entries.exists()
    for entry in entries:
        assert (entry.action, entry.status, entry.actor_email, entry.customer) == (
            Action.CREATE_PURCHASE_PERMISSION, Status.FAILED, non_admin_agent.email, customer)
        assert entry.failure_reason == "Only Admin agents can change customer purchase permissions."
    # Anything but "Don't allow" counts as asking to allow.
    asked = {resource for resource in (RESERVATIONS, SAVINGS_PLAN) if data.get(resource) != "deny"}
    assert set(entries.values_list("resource_id", flat=True)) == asked


def test_a_forged_post_to_turn_a_permission_off_is_refused(signed_in, non_admin_agent, customer):
    PurchasePermissionFactory(customer=customer, resource=RESERVATIONS)

    response = post_confirming(signed_in(non_admin_agent), edit_url(customer),
                                               {RESERVATIONS: "deny", SAVINGS_PLAN: "deny"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert allowed(customer) == {RESERVATIONS}
    entry = ActivityLogEntry.objects.get()
    assert (entry.resource_id, entry.action, entry.status, entry.actor_email) == (
        RESERVATIONS, Action.DELETE_PURCHASE_PERMISSION, Status.FAILED, non_admin_agent.email)


def test_the_edit_page_needs_a_csrf_token(admin_agent, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_agent)

    response = post_confirming(client, edit_url(customer), {RESERVATIONS: "allow", SAVINGS_PLAN: "allow"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert allowed(customer) == set()
    assert not ActivityLogEntry.objects.exists()


def test_the_edit_page_accepts_its_own_csrf_token(admin_agent, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_agent)
    client.get(edit_url(customer))

    response = post_confirming(client, edit_url(customer), {RESERVATIONS: "allow", SAVINGS_PLAN: "deny",
                                                "csrfmiddlewaretoken": client.cookies["csrftoken"].value})

    assert response.status_code == HTTPStatus.FOUND
    assert allowed(customer) == {RESERVATIONS}


@pytest.mark.parametrize("data", [
    {RESERVATIONS: "maybe", SAVINGS_PLAN: "deny"},
    {RESERVATIONS: "allow"},
    {RESERVATIONS: "", SAVINGS_PLAN: ""},
    {},
    {RESERVATIONS: "ALLOW", SAVINGS_PLAN: "allow"},
    {RESERVATIONS: "allow\x00", SAVINGS_PLAN: "allow"},
])
def test_a_malformed_choice_is_a_form_error(signed_in, admin_agent, customer, data):
    response = post_confirming(signed_in(admin_agent), edit_url(customer), data)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    html = response.content.decode()
    assert "Select a valid choice." in html or "This field is required." in html
    assert allowed(customer) == set()
    assert not ActivityLogEntry.objects.exists()


def test_an_unknown_resource_in_the_post_is_ignored(signed_in, admin_agent, customer):
    response = post_confirming(
        signed_in(admin_agent), edit_url(customer),
        {RESERVATIONS: "deny", SAVINGS_PLAN: "deny", "Software": "allow"})

    assert response.status_code == HTTPStatus.FOUND
    assert allowed(customer) == set()
    assert not ActivityLogEntry.objects.exists()


# --- Readiness ---------------------------------------------------------------------------------------


def test_allowing_for_a_customer_without_azure_names_both_missing_steps(signed_in, admin_agent,
                                                                        unready_customer):
    response = signed_in(admin_agent).post(edit_url(unready_customer),
                                           {RESERVATIONS: "allow", SAVINGS_PLAN: "deny"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    html = response.content.decode()
    assert "Nothing was changed." in html
    assert NO_AZURE_PLAN in html
    assert NO_OWNER in html
    subscriptions = reverse("customers:subscriptions", args=[unready_customer.tenant_id])
    assert f'<a href="{subscriptions}">Buy an Azure plan</a>' in html
    assert allowed(unready_customer) == set()
    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.status, entry.resource_id) == (
        Action.CREATE_PURCHASE_PERMISSION, Status.FAILED, RESERVATIONS)
    assert NO_AZURE_PLAN in entry.failure_reason
    assert entry.actor_email == "admin@partner.example"


def test_allowing_for_a_customer_without_an_owner_names_only_that_step(signed_in, admin_agent,
                                                                       unready_customer):
    SubscriptionFactory(customer=unready_customer)

    response = signed_in(admin_agent).post(edit_url(unready_customer),
                                           {RESERVATIONS: "deny", SAVINGS_PLAN: "allow"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    html = response.content.decode()
    assert NO_OWNER in html
    assert NO_AZURE_PLAN not in html
    assert allowed(unready_customer) == set()
    assert ActivityLogEntry.objects.get().status == Status.FAILED


def test_a_suspended_azure_plan_does_not_make_a_customer_ready(signed_in, admin_agent, customer):
    Subscription.objects.filter(customer=customer).update(status=Subscription.Status.SUSPENDED)

    response = post_confirming(
        signed_in(admin_agent), edit_url(customer), {RESERVATIONS: "allow", SAVINGS_PLAN: "deny"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    # The refusal says what to do: reactivate the suspended plan, not buy another.
    assert "Azure plan is suspended. Reactivate it on its Subscriptions page" in response.content.decode()
    assert allowed(customer) == set()


def test_turning_off_is_never_refused_for_readiness(signed_in, admin_agent, unready_customer):
    PurchasePermissionFactory(customer=unready_customer, resource=RESERVATIONS)

    response = signed_in(admin_agent).post(edit_url(unready_customer),
                                           {RESERVATIONS: "deny", SAVINGS_PLAN: "deny"})

    assert response.status_code == HTTPStatus.FOUND
    assert allowed(unready_customer) == set()
    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.status) == (Action.DELETE_PURCHASE_PERMISSION, Status.SUCCEEDED)


def test_the_account_page_shows_the_readiness_checklist(signed_in, sales_agent, unready_customer):
    SubscriptionFactory(customer=unready_customer)

    html = signed_in(sales_agent).get(account_url(unready_customer)).content.decode()

    assert html.count('class="check-done"') == 1
    assert html.count('class="check-missing"') == 1
    # A Sales agent could not grant it: the step is text, not a link to a page that refuses them.
    assert "An Admin agent can do this: Grant the Owner role." in html
    assert "<a href" not in html.split('class="checklist"')[1].split("</ul>")[0]


def test_an_admin_agent_sees_the_missing_step_as_a_link(signed_in, admin_agent, unready_customer):
    SubscriptionFactory(customer=unready_customer)

    html = signed_in(admin_agent).get(account_url(unready_customer)).content.decode()

    subscriptions = reverse("customers:subscriptions", args=[unready_customer.tenant_id])
    assert f'<a href="{subscriptions}">Grant the Owner role</a>' in html


def test_allow_is_visibly_unavailable_with_the_reason_when_not_ready(signed_in, admin_agent,
                                                                   unready_customer):
    PurchasePermissionFactory(customer=unready_customer, resource=RESERVATIONS)

    html = signed_in(admin_agent).get(edit_url(unready_customer)).content.decode()

    # Savings plans cannot be allowed yet; reservations, already allowed, can still be kept or turned off.
    assert re.search(rf'<input type="radio" name="{SAVINGS_PLAN}" value="allow"[^>]* disabled', html)
    assert not re.search(rf'<input type="radio" name="{RESERVATIONS}" value="allow"[^>]* disabled', html)
    assert html.count("Allowing is unavailable until the customer is ready: see the steps above.") == 1


def test_a_forged_allow_of_an_unavailable_choice_is_still_refused(signed_in, admin_agent, unready_customer):
    response = signed_in(admin_agent).post(edit_url(unready_customer),
                                           {RESERVATIONS: "deny", SAVINGS_PLAN: "allow"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert allowed(unready_customer) == set()
    assert ActivityLogEntry.objects.get().status == Status.FAILED


def test_the_account_page_warns_when_an_allowed_permission_cannot_be_used(signed_in, helpdesk_agent,
                                                                          customer):
    PurchasePermissionFactory(customer=customer, resource=SAVINGS_PLAN)
    customer.subscriptions.get().role_assignments.all().delete()

    html = signed_in(helpdesk_agent).get(account_url(customer)).content.decode()

    assert "Allowed, but the customer cannot buy now:" in html
    assert NO_OWNER in html


def test_the_account_page_gives_no_warning_for_a_ready_customer(signed_in, helpdesk_agent, customer):
    PurchasePermissionFactory(customer=customer, resource=SAVINGS_PLAN)

    html = signed_in(helpdesk_agent).get(account_url(customer)).content.decode()

    assert "Allowed, but the customer cannot buy now:" not in html
    assert html.count('class="check-done"') == 2


def test_a_forged_post_that_would_change_nothing_is_still_refused_and_logged(signed_in, sales_agent,
                                                                             customer):
    response = post_confirming(
        signed_in(sales_agent), edit_url(customer), {RESERVATIONS: "deny", SAVINGS_PLAN: "deny"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert allowed(customer) == set()
    assert set(ActivityLogEntry.objects.values_list("status", "actor_email")) == {
        (Status.FAILED, "sales@partner.example")}
