"""Log rows name their object in words, in the reader's language; details show old → new in words."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from activitylog.models import ActivityLogEntry, Status
from customers.models import RoleAssignment
from customers.services import grant_role, remove_role, set_subscription_status
from permissions.services import set_purchase_permissions
from tests.factories import CustomerUserFactory

from . import log_entry


def history(client, customer, language="en") -> str:
    url = reverse("customers:history", args=[customer.tenant_id])
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_reservations_and_savings_plans_read_differently(signed_in, admin_agent, customer, origin):
    set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                             allowed={"AzureReservedInstances": True, "AzureSavingsPlan": True})
    client = signed_in(admin_agent)
    page = history(client, customer)
    assert '<span class="log-object">Azure reservations</span>' in page
    assert '<span class="log-object">Azure savings plans</span>' in page
    admin_agent.language = "id"
    admin_agent.save()
    page = history(client, customer, "id")
    assert '<span class="log-object">Reservasi Azure</span>' in page
    assert '<span class="log-object">Paket penghematan Azure</span>' in page


def test_a_role_entry_names_the_user_and_the_subscription_not_a_number(
        signed_in, admin_agent, customer, origin):
    subscription = customer.subscriptions.get()
    user = CustomerUserFactory(customer=customer, display_name="Budi Santoso")
    assignment = grant_role(actor=admin_agent, subscription=subscription, customer_user=user, origin=origin)
    remove_role(actor=admin_agent, assignment=assignment, origin=origin)
    page = history(signed_in(admin_agent), customer)
    assert page.count(f'<span class="log-object">Owner for Budi Santoso, on {subscription.friendly_name}'
                      '</span>') == 2
    assert f"<span class=\"mono\">{assignment.pk}</span>" not in page


def test_an_older_role_entry_without_names_reads_by_its_ids(signed_in, operator, customer):
    log_entry(customer=customer, customer_name=customer.company_name, customer_tenant_id=customer.tenant_id,
              action="create_role_assignment", resource_type="role_assignment", resource_id="7",
              new_value={"role": "owner", "user_principal_name": "budi@contoso.example",
                         "subscription_id": "0f3e"})
    page = history(signed_in(operator), customer)
    assert '<span class="log-object">Owner for budi@contoso.example, on 0f3e</span>' in page


def test_refused_and_succeeded_permission_entries_are_shaped_alike(admin_agent, sales_agent, customer,
                                                                   origin):
    with pytest.raises(PermissionDenied):
        set_purchase_permissions(actor=sales_agent, customer=customer, origin=origin,
                                 allowed={"AzureSavingsPlan": True})
    set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                             allowed={"AzureSavingsPlan": True})
    failed, succeeded = ActivityLogEntry.objects.order_by("id")
    assert (failed.status, succeeded.status) == (Status.FAILED, Status.SUCCEEDED)
    shape = ("action", "resource_type", "resource_id", "old_value", "new_value")
    assert [getattr(failed, f) for f in shape] == [getattr(succeeded, f) for f in shape]


def test_the_details_show_old_to_new_in_words_before_the_json(signed_in, admin_agent, customer, origin):
    set_subscription_status(actor=admin_agent, subscription=customer.subscriptions.get(),
                            status="suspended", origin=origin)
    page = history(signed_in(admin_agent), customer)
    changes = page.index("<th scope=\"row\">Status</th><td>Active</td><td>Suspended</td>")
    assert changes < page.index("Old value")
    # Unchanged fields are not listed as changes.
    assert '<th scope="row">Friendly name</th>' not in page


def test_the_allowed_purchases_read_as_words(signed_in, admin_agent, customer, origin):
    set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                             allowed={"AzureReservedInstances": True})
    page = history(signed_in(admin_agent), customer)
    assert ("<th scope=\"row\">Customer may purchase</th><td>Nothing allowed</td>"
            "<td>Azure reservations</td>") in page


def test_the_activity_log_shows_the_same_words(signed_in, operator, admin_agent, customer, origin):
    set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                             allowed={"AzureSavingsPlan": True})
    page = signed_in(operator).get(reverse("activitylog:list")).content.decode()
    assert '<span class="log-object">Azure savings plans</span>' in page
    assert RoleAssignment.objects.count() == 1
