"""Issue 11 step 7: the readiness steps act on Microsoft, over real HTTPS against the simulator.

Form → outbox → worker → simulator → mirror → the Account page's readiness; refusals from Microsoft shown
with their reason and no mirror row; retries with one MS-RequestId, applied once; the other roles refused
and logged with no request to Microsoft.
"""

import pytest
from django.urls import reverse

from activitylog.models import Action, ActivityLogEntry, Source, Status
from customers.models import AzureSubscription, Customer, CustomerUser, RoleAssignment, Subscription
from microsoft.scenario import CustomerBuilder
from microsoft.sync import run_sync
from outbox.models import OutboxChange
from outbox.worker import drain
from permissions.selectors import purchase_readiness
from permissions.steps import STEP_KINDS

State = OutboxChange.State
WRITES = ("POST", "PUT", "DELETE", "PATCH")


@pytest.fixture
def quick(settings):
    settings.OUTBOX_BACKOFF_SECONDS = 0
    settings.MICROSOFT_MAX_RETRIES = 0


@pytest.fixture
def fabrikam(microsoft, quick):
    """A customer with nothing yet: no subscription, no user (as Partner Center has it)."""
    builder = CustomerBuilder("Fabrikam")
    microsoft.load([builder])
    run_sync()
    microsoft.sim.control.clear_requests()
    return Customer.objects.get(tenant_id=builder.tenant_id)


def _plan(builder, *, owner: str | None = None):
    azure = builder.azure_subscription(builder.subscription())
    if owner:
        builder.assign(azure, owner)
    return azure


@pytest.fixture
def contoso(microsoft, quick):
    """An Azure plan with its Azure subscription, a user Alex (no role) and a user Megan (Owner)."""
    builder = CustomerBuilder("Contoso")
    builder.user("Alex Wilber")
    megan = builder.user("Megan Bowen")
    _plan(builder, owner=megan)
    microsoft.load([builder])
    run_sync()
    microsoft.sim.control.clear_requests()
    customer = Customer.objects.get(tenant_id=builder.tenant_id)
    customer.builder = builder
    return customer


def sim_customer(sim, customer) -> dict:
    return next(c for c in sim.control.get_state()["customers"] if c["tenantId"] == str(customer.tenant_id))


def writes(sim, fragment: str = ""):
    return [r for r in sim.control.requests() if r["method"] in WRITES and fragment in r["path"]
            and "/oauth2/" not in r["path"]]


def from_microsoft(customer, action):
    """The outcomes of the steps' changes (not the sync's entries): named by their change's request id."""
    return ActivityLogEntry.objects.filter(
        customer=customer, source=Source.MICROSOFT, action=action,
        request_id__in=[str(i) for i in OutboxChange.objects.values_list("ms_request_id", flat=True)])


def account_page(client, customer) -> str:
    return client.get(reverse("customers:account", args=[customer.tenant_id])).content.decode()


def test_buy_a_plan_add_a_user_and_grant_owner_end_to_end_the_account_becomes_ready(
        fabrikam, admin_agent, signed_in, microsoft):
    sim, client = microsoft.sim, signed_in(admin_agent)
    tenant = fabrikam.tenant_id
    assert not purchase_readiness(fabrikam).ready

    # Buy an Azure plan: queued, shown waiting; nothing in the mirror, nothing sent yet.
    response = client.post(reverse("customers:subscription_buy", args=[tenant]),
                           {"friendly_name": "Fabrikam Azure"})
    assert response.status_code == 302
    assert not Subscription.objects.filter(customer=fabrikam).exists()
    assert writes(sim) == []
    assert "Waiting for Microsoft" in account_page(client, fabrikam)
    decision = ActivityLogEntry.objects.get(customer=fabrikam, action=Action.CREATE_ORDER, source=Source.WEB)
    assert decision.status == Status.SUCCEEDED

    assert drain() == 1
    cart, checkout = writes(sim)
    assert cart["path"].endswith("/carts") and checkout["path"].endswith("/checkout")
    held = sim_customer(sim, fabrikam)["subscriptions"]
    assert [s["offerId"] for s in held] == ["DZH318Z0BPS6:0001:DZH318Z0BML6"]
    subscription = Subscription.objects.get(customer=fabrikam)
    assert str(subscription.subscription_id) == held[0]["id"] and subscription.offer == "azure_plan"
    azure = AzureSubscription.objects.get(subscription=subscription)
    assert str(azure.azure_subscription_id) == held[0]["azureSubscriptions"][0]["id"]
    result = from_microsoft(fabrikam, Action.CREATE_ORDER).get()
    assert result.status == Status.SUCCEEDED and result.correlation_id == decision.correlation_id
    assert "Waiting for Microsoft" not in account_page(client, fabrikam)

    # Add a customer user through Partner Center.
    sim.control.clear_requests()
    response = client.post(reverse("customers:user_add", args=[tenant]), {
        "user_principal_name": "Lee.Gu@fabrikam.onmicrosoft.com", "display_name": "Lee Gu",
        "first_name": "Lee", "last_name": "Gu", "usage_location": "id"})
    assert response.status_code == 302
    assert not CustomerUser.objects.filter(customer=fabrikam).exists()
    assert "Add the user lee.gu@fabrikam.onmicrosoft.com" in account_page(client, fabrikam)
    assert drain() == 1
    [created] = writes(sim, "/users")
    assert created["path"].endswith(f"/v1/customers/{tenant}/users")
    user = CustomerUser.objects.get(customer=fabrikam)
    assert user.user_principal_name == "lee.gu@fabrikam.onmicrosoft.com"
    assert [u["userPrincipalName"] for u in sim_customer(sim, fabrikam)["users"]] == [
        "lee.gu@fabrikam.onmicrosoft.com"]
    assert from_microsoft(fabrikam, Action.ADD_CUSTOMER_USER).get().status == Status.SUCCEEDED

    # Grant Owner: Graph finds the user, ARM creates the assignment; then the customer is ready.
    sim.control.clear_requests()
    response = client.post(reverse("customers:role_grant", args=[tenant, subscription.subscription_id]), {
        "azure_subscription": azure.pk, "user_principal_name": "lee.gu@fabrikam.onmicrosoft.com",
        "role": "owner"})
    assert response.status_code == 302
    assert not purchase_readiness(fabrikam).ready
    assert "Grant Owner to lee.gu@fabrikam.onmicrosoft.com" in account_page(client, fabrikam)
    assert drain() == 1
    [put] = writes(sim, "roleAssignments")
    assert put["method"] == "PUT" and put["status"] == 201
    assignment = RoleAssignment.objects.get(azure_subscription=azure, principal_type="User")
    assert (assignment.role, assignment.principal_sign_in_name) == (
        "owner", "lee.gu@fabrikam.onmicrosoft.com")
    assert assignment.principal_id == user_id(sim, fabrikam, "lee.gu@fabrikam.onmicrosoft.com")
    assert purchase_readiness(fabrikam).ready
    page = account_page(client, fabrikam)
    assert "Waiting for Microsoft" not in page and "Lee Gu" in page

    # The next sync agrees with the mirror: it neither removes nor re-adds what Microsoft confirmed.
    before = set(ActivityLogEntry.objects.values_list("id", flat=True))
    run_sync()
    added = ActivityLogEntry.objects.exclude(id__in=before)
    assert not added.filter(action__in=[Action.DELETE_ROLE_ASSIGNMENT, Action.ADD_SUBSCRIPTION,
                                        Action.ADD_AZURE_SUBSCRIPTION, Action.UPDATE_ROLE_ASSIGNMENT])
    assert [e.new_value["principal_type"] for e in added.filter(action=Action.CREATE_ROLE_ASSIGNMENT)] == [
        "ForeignGroup"]  # only the partner's AOBO Owner, which the mirror had not read yet
    assert RoleAssignment.objects.get(pk=assignment.pk)


def user_id(sim, customer, upn):
    return next(u["id"] for u in sim_customer(sim, customer)["users"] if u["userPrincipalName"] == upn)


def test_remove_an_owner_deletes_it_in_azure_and_then_in_the_mirror(contoso, admin_agent, signed_in,
                                                                    microsoft):
    sim, client = microsoft.sim, signed_in(admin_agent)
    owner = RoleAssignment.objects.get(subscription__customer=contoso, principal_type="User")
    url = reverse("customers:role_remove", args=[contoso.tenant_id, owner.pk])
    response = client.post(url)  # the last Owner: asked to confirm first
    assert response.status_code == 200 and b"Remove the last Owner?" in response.content
    assert not OutboxChange.objects.exists()
    assert client.post(url, {"confirmed": "true"}).status_code == 302
    assert RoleAssignment.objects.filter(pk=owner.pk).exists()  # until Azure confirms
    assert "Waiting for Microsoft" in account_page(client, contoso)
    assert drain() == 1
    [delete] = writes(sim, "roleAssignments")
    assert delete["method"] == "DELETE" and delete["path"].endswith(owner.assignment_name)
    assert not RoleAssignment.objects.filter(pk=owner.pk).exists()
    held = sim_customer(sim, contoso)["subscriptions"][0]["azureSubscriptions"][0]["roleAssignments"]
    assert [a["principalType"] for a in held] == ["ForeignGroup"]
    assert not purchase_readiness(contoso).ready
    assert from_microsoft(contoso, Action.DELETE_ROLE_ASSIGNMENT).get().status == Status.SUCCEEDED


def grant(client, customer, upn, role="owner"):
    azure = AzureSubscription.objects.get(subscription__customer=customer)
    return client.post(reverse("customers:role_grant", args=[customer.tenant_id,
                                                             azure.subscription.subscription_id]),
                       {"azure_subscription": azure.pk, "user_principal_name": upn, "role": role})


def test_a_user_graph_does_not_know_is_refused_with_the_reason_and_no_row(contoso, admin_agent, signed_in,
                                                                         microsoft):
    sim, client = microsoft.sim, signed_in(admin_agent)
    rows = RoleAssignment.objects.count()
    assert grant(client, contoso, "nobody@contoso.onmicrosoft.com").status_code == 302
    assert drain() == 1
    change = OutboxChange.objects.get(kind__in=STEP_KINDS)
    assert change.state == State.NOT_APPLIED and change.error_status == 404
    assert "no user nobody@contoso.onmicrosoft.com" in change.error_message
    assert writes(sim, "roleAssignments") == []  # never sent to Azure
    assert RoleAssignment.objects.count() == rows
    page = account_page(client, contoso)
    assert "Microsoft refused" in page and "no user nobody@contoso.onmicrosoft.com" in page
    failed = from_microsoft(contoso, Action.CREATE_ROLE_ASSIGNMENT).get()
    assert failed.status == Status.FAILED and "no user nobody@" in failed.failure_reason


def test_an_assignment_azure_already_has_is_refused_as_role_assignment_exists(contoso, admin_agent,
                                                                             signed_in, microsoft):
    sim, client = microsoft.sim, signed_in(admin_agent)
    # Someone made Alex an Owner in the Azure portal since the last sync.
    builder = contoso.builder
    builder.assign(builder.doc["subscriptions"][0]["azureSubscriptions"][0], user_id(
        sim, contoso, "alexwilber@contoso.onmicrosoft.com"))
    microsoft.load([builder])
    rows = RoleAssignment.objects.count()
    assert grant(client, contoso, "alexwilber@contoso.onmicrosoft.com").status_code == 302
    assert drain() == 1
    change = OutboxChange.objects.get(kind__in=STEP_KINDS)
    assert change.state == State.NOT_APPLIED and change.error_status == 409
    assert change.error_code == "RoleAssignmentExists"
    assert RoleAssignment.objects.count() == rows
    assert "RoleAssignmentExists" in account_page(client, contoso)


def test_403_from_azure_is_refused_with_its_reason(contoso, admin_agent, signed_in, microsoft):
    sim, client = microsoft.sim, signed_in(admin_agent)
    sim.control.faults([{"method": "PUT", "path": "roleAssignments/", "fault": "canned", "status": 403,
                         "body": {"error": {"code": "AuthorizationFailed", "message": "The client does not "
                                            "have authorization to perform action."}}}])
    rows = RoleAssignment.objects.count()
    assert grant(client, contoso, "alexwilber@contoso.onmicrosoft.com").status_code == 302
    assert drain() == 1
    change = OutboxChange.objects.get(kind__in=STEP_KINDS)
    assert (change.state, change.error_status, change.error_code) == (State.NOT_APPLIED, 403,
                                                                      "AuthorizationFailed")
    assert RoleAssignment.objects.count() == rows
    assert "does not have authorization" in account_page(client, contoso)


def test_an_existing_user_is_refused_by_partner_center_with_409(contoso, admin_agent, signed_in, microsoft):
    client = signed_in(admin_agent)
    # The mirror does not list Contoso's users (the sync does not read them): Partner Center says 409.
    assert client.post(reverse("customers:user_add", args=[contoso.tenant_id]), {
        "user_principal_name": "alexwilber@contoso.onmicrosoft.com", "display_name": "Alex",
        "usage_location": "US"}).status_code == 302
    assert drain() == 1
    change = OutboxChange.objects.get(kind__in=STEP_KINDS)
    assert change.state == State.NOT_APPLIED and change.error_status == 409
    assert not CustomerUser.objects.filter(customer=contoso).exists()
    assert "already exists" in account_page(client, contoso)


@pytest.mark.parametrize("path", ["/carts$", "/checkout$"])
def test_429_then_5xx_then_a_dropped_answer_are_retried_with_one_request_id_and_applied_once(
        fabrikam, admin_agent, signed_in, microsoft, path):
    sim, client = microsoft.sim, signed_in(admin_agent)
    sim.control.faults([{"method": "POST", "path": path, "fault": "429", "retryAfter": 0},
                        {"method": "POST", "path": path, "fault": "503"},
                        {"method": "POST", "path": path, "fault": "drop_after"}])
    client.post(reverse("customers:subscription_buy", args=[fabrikam.tenant_id]),
                {"friendly_name": "Azure plan"})
    assert drain(max_wait=10) == 4
    change = OutboxChange.objects.get(kind__in=STEP_KINDS)
    assert change.state == State.APPLIED and change.attempts == 4
    tried = [r for r in writes(sim) if r["path"].endswith(path.rstrip("$"))]
    assert [r["fault"] for r in tried][:3] == ["429", "503", "drop_after"] and len(tried) == 4
    assert len({r["msRequestId"] for r in tried}) == 1
    assert len(sim_customer(sim, fabrikam)["subscriptions"]) == 1  # Partner Center ordered it once
    assert Subscription.objects.filter(customer=fabrikam).count() == 1
    assert from_microsoft(fabrikam, Action.CREATE_ORDER).get().status == Status.SUCCEEDED


def test_a_role_put_whose_answer_was_lost_is_read_back_and_applied_once(contoso, admin_agent, signed_in,
                                                                       microsoft):
    sim, client = microsoft.sim, signed_in(admin_agent)
    sim.control.faults([{"method": "PUT", "path": "roleAssignments/", "fault": "drop_after"}])
    grant(client, contoso, "alexwilber@contoso.onmicrosoft.com")
    assert drain(max_wait=10) == 2
    puts = writes(sim, "roleAssignments")
    assert [r["status"] for r in puts][-1] == 409 and len({r["msRequestId"] for r in puts}) == 1
    assert OutboxChange.objects.get(kind__in=STEP_KINDS).state == State.APPLIED
    held = sim_customer(sim, contoso)["subscriptions"][0]["azureSubscriptions"][0]["roleAssignments"]
    assert sorted(a["principalType"] for a in held) == ["ForeignGroup", "User", "User"]
    assert RoleAssignment.objects.filter(
        principal_sign_in_name="alexwilber@contoso.onmicrosoft.com").count() == 1


WRITES_BY_FORM = {
    "buy": (Action.CREATE_ORDER, lambda c: (reverse("customers:subscription_buy", args=[c.tenant_id]),
                                            {"friendly_name": "Azure plan"})),
    "user": (Action.ADD_CUSTOMER_USER, lambda c: (reverse("customers:user_add", args=[c.tenant_id]), {
        "user_principal_name": "new@contoso.onmicrosoft.com", "display_name": "New",
        "usage_location": "US"})),
    "grant": (Action.CREATE_ROLE_ASSIGNMENT, lambda c: (reverse("customers:role_grant", args=[
        c.tenant_id, Subscription.objects.get(customer=c).subscription_id]), {
        "azure_subscription": AzureSubscription.objects.get(subscription__customer=c).pk,
        "user_principal_name": "alexwilber@contoso.onmicrosoft.com", "role": "owner"})),
    "remove": (Action.DELETE_ROLE_ASSIGNMENT, lambda c: (reverse("customers:role_remove", args=[
        c.tenant_id, RoleAssignment.objects.get(subscription__customer=c, principal_type="User").pk]),
        {"confirmed": "true"})),
}


@pytest.mark.parametrize("write", sorted(WRITES_BY_FORM))
def test_every_other_role_is_refused_logged_and_nothing_reaches_microsoft(
        contoso, non_admin_agent, signed_in, microsoft, write):
    sim, client = microsoft.sim, signed_in(non_admin_agent)
    action, request = WRITES_BY_FORM[write]
    url, data = request(contoso)
    rows = (Subscription.objects.count(), CustomerUser.objects.count(), RoleAssignment.objects.count())
    assert client.post(url, data).status_code == 403
    assert client.get(url).status_code in (403, 405)
    entry = ActivityLogEntry.objects.get(customer=contoso, action=action, source=Source.WEB)
    assert entry.status == Status.FAILED and entry.actor_id == non_admin_agent.pk
    assert not OutboxChange.objects.exists()
    assert drain() == 0
    assert writes(sim) == []
    assert rows == (Subscription.objects.count(), CustomerUser.objects.count(),
                    RoleAssignment.objects.count())


def test_add_customer_links_to_partner_center_and_writes_nothing(admin_agent, signed_in, simulator):
    client = signed_in(admin_agent)
    page = client.get(reverse("customers:add"))
    assert page.status_code == 200
    assert b"https://partner.microsoft.com/dashboard/v2/customers/list" in page.content
    assert b"arrives here with the next sync" in page.content
    posted = client.post(reverse("customers:add"), {"company_name": "New Co", "domain": "newco.example"})
    assert posted.status_code == 409 and not Customer.objects.exists()
    assert not ActivityLogEntry.objects.filter(action=Action.ADD_CUSTOMER).exists()


def test_a_second_order_while_one_is_waiting_is_refused_and_logged(fabrikam, admin_agent, signed_in):
    client = signed_in(admin_agent)
    url = reverse("customers:subscription_buy", args=[fabrikam.tenant_id])
    assert client.post(url, {"friendly_name": "Azure plan"}).status_code == 302
    response = client.post(url, {"friendly_name": "Azure plan"})
    assert response.status_code == 400 and b"already waiting for Microsoft" in response.content
    assert OutboxChange.objects.count() == 1
    assert ActivityLogEntry.objects.filter(action=Action.CREATE_ORDER, status=Status.FAILED).count() == 1
