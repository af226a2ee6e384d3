"""Suspending a subscription and removing the last Owner ask first, saying what will stop working."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from activitylog.models import ActivityLogEntry, Status
from customers.models import RoleAssignment, Subscription
from permissions.services import set_purchase_permissions
from tests.factories import CustomerUserFactory, RoleAssignmentFactory


@pytest.fixture
def allowed(admin_agent, customer, origin):
    set_purchase_permissions(actor=admin_agent, customer=customer, origin=origin,
                             allowed={"AzureReservedInstances": True})
    return customer


def suspend_url(customer) -> str:
    return reverse("customers:subscription_status",
                   args=[customer.tenant_id, customer.subscriptions.get().subscription_id])


def remove_url(customer, assignment) -> str:
    return reverse("customers:role_remove", args=[customer.tenant_id, assignment.pk])


def test_suspend_first_shows_what_will_stop_working(signed_in, admin_agent, allowed):
    before = ActivityLogEntry.objects.count()
    response = signed_in(admin_agent).post(suspend_url(allowed), {"status": "suspended"})
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Suspend Azure plan?" in page
    assert "What will stop working" in page
    assert "The customer can no longer buy Azure reservations itself, although it stays allowed." in page
    assert 'name="confirmed" value="on"' in page and 'name="status" value="suspended"' in page
    # Nothing happened yet.
    assert allowed.subscriptions.get().status == Subscription.Status.ACTIVE
    assert ActivityLogEntry.objects.count() == before


def test_suspend_without_allowed_permissions_still_asks_but_lists_nothing_stopping(
        signed_in, admin_agent, customer):
    page = signed_in(admin_agent).post(suspend_url(customer), {"status": "suspended"}).content.decode()
    assert "Suspend Azure plan?" in page and "What will stop working" not in page
    assert customer.subscriptions.get().status == Subscription.Status.ACTIVE


def test_confirmed_suspend_suspends(signed_in, admin_agent, allowed):
    response = signed_in(admin_agent).post(suspend_url(allowed), {"status": "suspended", "confirmed": "on"},
                                           follow=True)
    assert allowed.subscriptions.get().status == Subscription.Status.SUSPENDED
    assert "Azure plan is now suspended." in response.content.decode()


def test_reactivating_needs_no_confirmation(signed_in, admin_agent, customer):
    Subscription.objects.filter(customer=customer).update(status=Subscription.Status.SUSPENDED)
    signed_in(admin_agent).post(suspend_url(customer), {"status": "active"})
    assert customer.subscriptions.get().status == Subscription.Status.ACTIVE


@pytest.mark.parametrize("role", ["sales_agent", "helpdesk_agent", "operator"])
def test_a_forged_suspend_that_skips_the_confirmation_changes_nothing(signed_in, request, allowed, role):
    agent = request.getfixturevalue(role)
    before = ActivityLogEntry.objects.count()
    for data in ({"status": "suspended"}, {"status": "suspended", "confirmed": "on"}):
        response = signed_in(agent).post(suspend_url(allowed), data)
        assert response.status_code == HTTPStatus.FORBIDDEN
    assert allowed.subscriptions.get().status == Subscription.Status.ACTIVE
    refused = ActivityLogEntry.objects.order_by("id")[before:]
    assert [(e.status, e.actor) for e in refused] == [(Status.FAILED, agent)] * 2


def test_removing_the_last_owner_first_shows_what_will_stop_working(signed_in, admin_agent, allowed):
    owner = RoleAssignment.objects.get()
    before = ActivityLogEntry.objects.count()
    response = signed_in(admin_agent).post(remove_url(allowed, owner))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Remove the last Owner?" in page
    assert "The customer can no longer buy Azure reservations itself" in page
    assert RoleAssignment.objects.filter(pk=owner.pk).exists()
    assert ActivityLogEntry.objects.count() == before


def test_a_forged_remove_that_skips_the_confirmation_removes_nothing(signed_in, admin_agent, allowed):
    owner = RoleAssignment.objects.get()
    before = ActivityLogEntry.objects.count()
    for forged in ({}, {"confirmed": ""}, {"confirmed": "false"}):
        response = signed_in(admin_agent).post(remove_url(allowed, owner), forged)
        assert response.status_code == HTTPStatus.OK  # the confirmation step, again
    assert RoleAssignment.objects.filter(pk=owner.pk).exists()
    assert ActivityLogEntry.objects.count() == before


def test_confirmed_removal_of_the_last_owner_removes_it(signed_in, admin_agent, allowed):
    owner = RoleAssignment.objects.get()
    signed_in(admin_agent).post(remove_url(allowed, owner), {"confirmed": "on"})
    assert not RoleAssignment.objects.filter(pk=owner.pk).exists()


def test_removing_an_owner_who_is_not_the_last_needs_no_confirmation(signed_in, admin_agent, customer):
    plan = customer.subscriptions.get()
    RoleAssignmentFactory(subscription=plan, customer_user=CustomerUserFactory(customer=customer))
    first = RoleAssignment.objects.order_by("pk").first()
    response = signed_in(admin_agent).post(remove_url(customer, first))
    assert response.status_code == HTTPStatus.FOUND
    assert not RoleAssignment.objects.filter(pk=first.pk).exists()


def test_removing_a_reader_needs_no_confirmation(signed_in, admin_agent, customer):
    reader = RoleAssignmentFactory(subscription=customer.subscriptions.get(), role="reader",
                                   customer_user=CustomerUserFactory(customer=customer))
    signed_in(admin_agent).post(remove_url(customer, reader))
    assert not RoleAssignment.objects.filter(pk=reader.pk).exists()


@pytest.mark.parametrize("role", ["sales_agent", "helpdesk_agent", "operator"])
def test_a_forged_remove_by_a_read_only_role_is_refused_and_logged(signed_in, request, allowed, role):
    owner = RoleAssignment.objects.get()
    response = signed_in(request.getfixturevalue(role)).post(remove_url(allowed, owner))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert RoleAssignment.objects.filter(pk=owner.pk).exists()
    assert ActivityLogEntry.objects.order_by("-id").first().status == Status.FAILED
