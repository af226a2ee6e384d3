"""Issue 15 on the Microsoft mirror: the advice's facts follow the one readiness rule's principals, and
the entries the sync writes read in words like the portal's own."""

from django.urls import reverse

from activitylog.models import ActivityLogEntry, ResourceType
from activitylog.objects import object_of
from customers.models import Customer
from microsoft.scenario import CustomerBuilder
from microsoft.sync import run_sync
from permissions.selectors import customer_account, purchase_readiness, readiness_of, with_readiness


def synced(microsoft, builder: CustomerBuilder) -> Customer:
    microsoft.load([builder])
    run_sync()
    return Customer.objects.get(tenant_id=builder.tenant_id)


def test_a_synced_suspended_plan_whose_azure_subscription_has_a_customer_owner_is_reactivated(
        microsoft, signed_in, admin_agent):
    builder = CustomerBuilder("Øresund Logistik")
    azure = builder.azure_subscription(builder.subscription(status="suspended"), name="oresund-prod",
                                       status="disabled")
    builder.assign(azure, builder.user("Alex Wilber"))
    customer = synced(microsoft, builder)

    readiness = purchase_readiness(customer)
    page = signed_in(admin_agent).get(reverse("customers:account", args=[customer.tenant_id])).text

    assert not readiness.ready and readiness.has_suspended_azure and readiness.has_owner_on_suspended
    assert ">Reactivate it in Partner Center</a>" in page
    assert "the Owner holds it on the suspended Azure plan" in page
    assert ">Buy it in Partner Center</a>" not in page
    assert "Grant Owner in the Azure portal" not in page
    assert "Reactivate it in Partner Center; buying another one would make a duplicate." in (
        readiness_of(customer_account(customer.tenant_id)).missing_steps[0].missing)


def test_only_the_partners_foreign_group_on_a_suspended_plan_is_no_owner_to_restore(microsoft):
    builder = CustomerBuilder("Dvořák Stavby")
    builder.azure_subscription(builder.subscription(status="suspended"))  # the ForeignGroup only
    customer = synced(microsoft, builder)

    readiness = readiness_of(customer_account(customer.tenant_id))

    assert readiness.has_suspended_azure and not readiness.has_owner_on_suspended
    assert [step.fix_label for step in readiness.missing_steps] == [
        "Reactivate it in Partner Center", "Grant Owner in the Azure portal (Access control)"]


def test_the_lists_readiness_columns_follow_the_rule_on_synced_customers(microsoft):
    ready = CustomerBuilder("Ready")
    ready.assign(ready.azure_subscription(ready.subscription()), ready.group("Cloud admins"), "Group")
    foreign = CustomerBuilder("Foreign only")
    foreign.azure_subscription(foreign.subscription())
    microsoft.load([ready, foreign])
    run_sync()

    rows = {c.company_name: (c.has_azure_subscription, c.has_owner)
            for c in with_readiness(Customer.objects.all())}

    assert rows == {"Ready": (True, True), "Foreign only": (True, False)}
    for customer in Customer.objects.all():
        assert purchase_readiness(customer).ready is rows[customer.company_name][1]


def test_role_assignments_brought_in_by_the_sync_read_in_words(microsoft, signed_in, admin_agent):
    builder = CustomerBuilder("Contoso")
    azure = builder.azure_subscription(builder.subscription(), name="contoso-production")
    builder.assign(azure, builder.user("Alex Wilber"))
    customer = synced(microsoft, builder)

    entries = ActivityLogEntry.objects.filter(customer=customer, resource_type=ResourceType.ROLE_ASSIGNMENT)
    words = sorted(object_of(entry) for entry in entries)
    page = signed_in(admin_agent).get(reverse("customers:history", args=[customer.tenant_id])).text

    # The partner's ForeignGroup has no name in Graph: it is named by its id and its type.
    assert words[0] == "Owner for Alex Wilber, on contoso-production"
    assert words[1].endswith("(Foreign group (partner)), on contoso-production")
    assert not any(entry.resource_id in word for entry in entries for word in words)  # never its GUID
    assert "Owner for Alex Wilber, on contoso-production" in page
    azure_entry = ActivityLogEntry.objects.get(customer=customer,
                                               resource_type=ResourceType.AZURE_SUBSCRIPTION)
    assert object_of(azure_entry) == "contoso-production"
