"""Agents acting at once, each from its own thread and database connection (PostgreSQL only).

These tests commit for real (``transaction=True``): a thread's connection cannot see the data of a
test transaction that never commits.
"""

import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from activitylog.models import Action, ActivityLogEntry, Status
from customers.models import RoleAssignment
from customers.services import remove_role
from permissions.models import PurchasePermission, Resource
from permissions.services import set_purchase_permission
from portal.models import Agent

from ..factories import AgentFactory, ready_customer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

RESERVATIONS = Resource.AZURE_RESERVATIONS


def run_at_once(*jobs: Callable[[], None]) -> None:
    """Run each job in its own thread, all released together; fail on any error in a thread."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job):
        try:
            barrier.wait(timeout=10)
            job()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    assert errors == []


@pytest.fixture
def second_admin(db) -> Agent:
    return AgentFactory(email="admin2@partner.example", role=Agent.Role.ADMIN_AGENT)


def test_two_admins_toggling_at_once_lose_no_update(needs_postgres, admin_agent, second_admin, origin):
    customer = ready_customer(company_name="Contoso Ltd")
    changes = Counter()

    def toggle(agent: Agent, seed: int) -> Callable[[], None]:
        choices = random.Random(seed)

        def job():
            for _ in range(30):
                allowed = choices.choice([True, False])
                if set_purchase_permission(actor=agent, customer=customer, resource=RESERVATIONS,
                                           allowed=allowed, origin=origin):
                    changes[agent.email] += 1
        return job

    run_at_once(toggle(admin_agent, seed=1), toggle(second_admin, seed=2))

    entries = list(ActivityLogEntry.objects.filter(customer=customer).order_by("id"))
    assert entries, "no call changed anything; the test proved nothing"
    assert {entry.status for entry in entries} == {Status.SUCCEEDED}
    # One entry per real change, by the agent who made it...
    assert len(entries) == sum(changes.values())
    assert Counter(entry.actor_email for entry in entries) == changes
    # ...and the changes alternate: each saw the state the previous one left.
    expected = [Action.CREATE_PURCHASE_PERMISSION, Action.DELETE_PURCHASE_PERMISSION] * len(entries)
    assert [entry.action for entry in entries] == expected[:len(entries)]
    for previous, entry in zip(entries, entries[1:], strict=False):
        assert entry.old_value == previous.new_value
    # The final state is the last committed write.
    last = entries[-1]
    permission = PurchasePermission.objects.filter(customer=customer, resource=RESERVATIONS).first()
    if last.action == Action.CREATE_PURCHASE_PERMISSION:
        assert permission is not None
        assert permission.granted_by.email == last.actor_email
    else:
        assert permission is None


def test_two_admins_allowing_at_once_create_one_permission(needs_postgres, admin_agent, second_admin,
                                                           origin):
    # Many rounds, because a single one rarely hits the race; without the row lock this fails.
    for round_ in range(20):
        customer = ready_customer(company_name=f"Contoso {round_}")
        changed: list[bool] = []

        def allow(agent: Agent, customer=customer, changed=changed) -> Callable[[], None]:
            return lambda: changed.append(set_purchase_permission(
                actor=agent, customer=customer, resource=RESERVATIONS, allowed=True, origin=origin))

        run_at_once(allow(admin_agent), allow(second_admin))

        assert sorted(changed) == [False, True]
        assert PurchasePermission.objects.filter(customer=customer).count() == 1
        entry = ActivityLogEntry.objects.get(customer=customer)
        assert (entry.action, entry.status) == (Action.CREATE_PURCHASE_PERMISSION, Status.SUCCEEDED)


def test_removing_the_last_owner_while_allowing_never_leaves_a_later_allowance_without_owner(
        needs_postgres, admin_agent, second_admin, origin):
    # Both services lock the customer row, so readiness cannot change between check and write:
    # either the permission was created first (and may now be unusable) or the turn-on is refused.
    # Without the lock, 20 rounds reliably produce an allowance logged after the Owner's removal.
    for round_ in range(20):
        customer = ready_customer(company_name=f"Contoso {round_}")
        owner = RoleAssignment.objects.get(subscription__customer=customer)
        refused: list[ValidationError] = []

        def turn_on(customer=customer, refused=refused):
            try:
                set_purchase_permission(actor=admin_agent, customer=customer, resource=RESERVATIONS,
                                        allowed=True, origin=origin)
            except ValidationError as exc:
                refused.append(exc)

        def remove_owner(owner=owner):
            remove_role(actor=second_admin, assignment=owner, origin=origin)

        run_at_once(turn_on, remove_owner)

        log = list(ActivityLogEntry.objects.filter(customer=customer).order_by("id")
                   .values_list("action", "status"))
        if refused:
            assert not PurchasePermission.objects.filter(customer=customer).exists()
            assert log == [(Action.DELETE_ROLE_ASSIGNMENT, Status.SUCCEEDED),
                           (Action.CREATE_PURCHASE_PERMISSION, Status.FAILED)]
        else:
            assert PurchasePermission.objects.filter(customer=customer).exists()
            assert log == [(Action.CREATE_PURCHASE_PERMISSION, Status.SUCCEEDED),
                           (Action.DELETE_ROLE_ASSIGNMENT, Status.SUCCEEDED)]
