"""Every kind of write on one customer at once, from many threads (PostgreSQL only; commits for real).

Admins save the customer's permissions, read-only agents forge the same change (refused and logged as
Failed), and agents revoke their tokens, some of them someone else's (refused too). Each write locks
rows and then the activity log; a refusal takes only the log's lock. The lock order has to hold for all
of them together, or PostgreSQL breaks a deadlock by failing one of the transactions.
"""

import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from activitylog.models import Action, ActivityLogEntry, Status
from activitylog.services import Origin
from api.models import ApiToken
from api.services import issue_token, revoke_token
from permissions.models import PurchasePermission, Resource
from permissions.services import set_purchase_permissions
from portal.models import Agent

from .factories import AgentFactory, ready_customer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ROUNDS = 25
TOKENS = 12
ORIGIN = Origin(source="web", request_id="concurrency", client_ip="203.0.113.9")


class Mix:
    """What the threads did, counted as they go: changes, refusals by (agent, action), errors."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changes = 0
        self.refusals: Counter = Counter()
        self.revoked: list[tuple[ApiToken, str]] = []
        self.errors: list[BaseException] = []

    def note(self, **counts) -> None:
        with self.lock:
            self.changes += counts.get("changes", 0)
            if "refused" in counts:
                self.refusals[counts["refused"]] += 1
            if "revoked" in counts:
                self.revoked.append(counts["revoked"])


def run_together(mix: Mix, jobs: list[Callable[[], None]]) -> None:
    barrier = threading.Barrier(len(jobs))

    def run(job):
        try:
            barrier.wait(timeout=10)
            job()
        except BaseException as exc:  # a deadlock, a lost refusal: counted, reported below
            with mix.lock:
                mix.errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"


def admin_saving(mix: Mix, agent: Agent, customer, seed: int) -> Callable[[], None]:
    choices = random.Random(seed)

    def job():
        for _ in range(ROUNDS):
            allowed = {resource: choices.random() < 0.5 for resource in Resource.values}
            changed = set_purchase_permissions(actor=agent, customer=customer, allowed=allowed,
                                               origin=ORIGIN)
            mix.note(changes=len(changed))
    return job


def forging(mix: Mix, agent: Agent, customer) -> Callable[[], None]:
    def job():
        for _ in range(ROUNDS):
            # Every resource turned on: whatever the state, at least one change is refused.
            try:
                set_purchase_permissions(actor=agent, customer=customer, origin=ORIGIN,
                                         allowed=dict.fromkeys(Resource.values, True))
            except PermissionDenied:
                mix.note(refused=(agent.email, Action.CREATE_PURCHASE_PERMISSION))
            else:
                raise AssertionError(f"{agent} was allowed to change permissions")
    return job


def revoking(mix: Mix, agent: Agent, tokens: list[tuple[ApiToken, str]],
             others: list[tuple[ApiToken, str]]) -> Callable[[], None]:
    def job():
        for (token, raw), (other, _other_raw) in zip(tokens, others, strict=True):
            assert revoke_token(actor=agent, token=token, origin=ORIGIN) is True
            mix.note(revoked=(token, raw))
            try:
                revoke_token(actor=agent, token=other, origin=ORIGIN)
            except PermissionDenied:
                mix.note(refused=(agent.email, Action.REVOKE_API_TOKEN))
            else:
                raise AssertionError(f"{agent} revoked someone else's token")
    return job


def test_admins_forgers_and_revokes_on_one_customer_never_deadlock(needs_postgres):
    customer = ready_customer(company_name="Contoso Ltd")
    admins = [AgentFactory(email=f"admin{n}@partner.example", role=Agent.Role.ADMIN_AGENT)
              for n in range(3)]
    helpdesk = AgentFactory(email="helpdesk@partner.example", role=Agent.Role.HELPDESK_AGENT)
    sales = AgentFactory(email="sales@partner.example", role=Agent.Role.SALES_AGENT)
    # Tokens of the agents who also write and are refused: their agent rows are in every lock order.
    tokens = {agent.email: [issue_token(actor=agent, owner=agent, name=f"script {n}", origin=ORIGIN)
                            for n in range(TOKENS)]
              for agent in (*admins, helpdesk, sales)}
    kept = {agent.email: [issue_token(actor=agent, owner=agent, name=f"kept {n}", origin=ORIGIN)
                          for n in range(TOKENS)]
            for agent in (helpdesk, sales)}
    logged_before = ActivityLogEntry.objects.order_by("-id").values_list("id", flat=True).first()
    mix = Mix()

    run_together(mix, [
        *(admin_saving(mix, admin, customer, seed=n) for n, admin in enumerate(admins)),
        forging(mix, helpdesk, customer),
        forging(mix, sales, customer),
        revoking(mix, helpdesk, tokens[helpdesk.email], kept[sales.email]),
        revoking(mix, sales, tokens[sales.email], kept[helpdesk.email]),
        revoking(mix, admins[0], tokens[admins[0].email], kept[sales.email]),
    ])

    assert mix.errors == []
    assert mix.changes, "no admin changed anything; the test proved nothing"
    entries = list(ActivityLogEntry.objects.filter(id__gt=logged_before).order_by("id"))
    failed = Counter((entry.actor_email, entry.action) for entry in entries
                     if entry.status == Status.FAILED)
    # Each forged save refuses one or two changes, one entry each; each refused revoke is one entry.
    assert {key: count for key, count in failed.items() if key[1] == Action.REVOKE_API_TOKEN} == {
        key: count for key, count in mix.refusals.items() if key[1] == Action.REVOKE_API_TOKEN}
    for agent in (helpdesk, sales):
        refused_saves = mix.refusals[agent.email, Action.CREATE_PURCHASE_PERMISSION]
        assert refused_saves == ROUNDS
        assert refused_saves <= failed[agent.email, Action.CREATE_PURCHASE_PERMISSION] <= 2 * refused_saves
    assert not any(entry.actor_email in (helpdesk.email, sales.email)
                   and entry.action != Action.REVOKE_API_TOKEN and entry.status == Status.SUCCEEDED
                   for entry in entries)
    succeeded = [entry for entry in entries if entry.status == Status.SUCCEEDED
                 and entry.action in (Action.CREATE_PURCHASE_PERMISSION, Action.DELETE_PURCHASE_PERMISSION)]
    assert len(succeeded) == mix.changes
    # The permissions are what the last logged change of each left.
    for resource in Resource.values:
        last = [entry for entry in succeeded if entry.resource_id == resource]
        exists = PurchasePermission.objects.filter(customer=customer, resource=resource).exists()
        if last:
            assert exists is (last[-1].action == Action.CREATE_PURCHASE_PERMISSION)
    # Every revoked token is dead, logged once; no one else's token was touched.
    assert len(mix.revoked) == TOKENS * 3
    for token, raw in mix.revoked:
        token.refresh_from_db()
        assert token.revoked_at is not None
        assert ApiToken.objects.find(raw) is None
    revokes = Counter(entry.resource_id for entry in entries
                      if entry.action == Action.REVOKE_API_TOKEN and entry.status == Status.SUCCEEDED)
    assert revokes == Counter(token.prefix for token, _raw in mix.revoked)
    for token, raw in (pair for pairs in kept.values() for pair in pairs):
        assert ApiToken.objects.find(raw) == token
