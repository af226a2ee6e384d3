"""Reads about purchase permissions: readiness (one definition), the Account query, a customer's permissions.

Readiness is the rule "an active Azure plan or Azure Global subscription, and a customer user with the
Owner role on one": it is written once, as SQL over the customer row, and used both by the Account
query (the page and the API) and, under the customer's lock, by the service that turns permissions on.
The SQL is hand-written because the Account query is the portal's hottest read: the ORM spent about
15 ms building the same query from Exists/Subquery expressions on a 2-core machine, several times the
database's own time. Only table and column names from the models are interpolated; values are
parameters. The statements are the same on SQLite and PostgreSQL; only what the drivers give back
differs (see _account_row).
"""

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import connections
from django.db.models import BooleanField, Exists, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from activitylog.models import ActivityLogEntry, ResourceType, Status
from customers.models import ACTIVE, AzureSubscription, Customer, CustomerUser, RoleAssignment, Subscription

from .models import PurchasePermission, Resource
from .policies import Readiness


def _usable(customer_id: str, status: str = Subscription.Status.ACTIVE) -> tuple[str, list]:
    """An Azure plan or Azure Global subscription of the customer whose id is customer_id (an SQL column
    reference), in that status, as the subscription row aliased s."""
    return (f"s.customer_id = {customer_id} AND s.offer IN (%s, %s) AND s.status = %s",
            [*Subscription.AZURE_OFFERS, status])


def _owners(customer_id: str) -> tuple[str, list]:
    """The Owner assignments that make a customer ready: the customer's own User or Group (never the
    partner's ForeignGroup or a service principal) holding Owner on an active Azure subscription (or,
    typed in here, on the subscription itself) of an active Azure plan or Azure Global subscription."""
    subscription, assignment = Subscription._meta.db_table, RoleAssignment._meta.db_table
    azure, user = AzureSubscription._meta.db_table, CustomerUser._meta.db_table
    usable, usable_params = _usable(customer_id)
    clause = (f"FROM {assignment} r JOIN {subscription} s ON s.id = r.subscription_id"
              f" LEFT JOIN {azure} a ON a.id = r.azure_subscription_id"
              f" LEFT JOIN {user} u ON u.id = r.customer_user_id"
              f" WHERE {usable} AND r.role = %s AND r.principal_type IN (%s, %s)"
              f" AND (r.azure_subscription_id IS NULL OR a.status = %s)")
    return clause, [*usable_params, RoleAssignment.Role.OWNER, *RoleAssignment.CUSTOMER_PRINCIPALS, ACTIVE]


def _owners_on_suspended(customer_id: str) -> tuple[str, list]:
    """For the advice only: the customer's own User or Group holding Owner on a suspended Azure plan (on
    one of its Azure subscriptions, whatever their state, or typed in on the plan itself): reactivating
    the plan restores them."""
    subscription, assignment = Subscription._meta.db_table, RoleAssignment._meta.db_table
    suspended, suspended_params = _usable(customer_id, Subscription.Status.SUSPENDED)
    clause = (f"FROM {assignment} r JOIN {subscription} s ON s.id = r.subscription_id"
              f" WHERE {suspended} AND r.role = %s AND r.principal_type IN (%s, %s)")
    return clause, [*suspended_params, RoleAssignment.Role.OWNER, *RoleAssignment.CUSTOMER_PRINCIPALS]


def _readiness_tests(customer_id: str) -> tuple[list[str], list[list]]:
    """The readiness rule (has_azure_subscription and has_owner) and the advice's two facts
    (has_suspended_azure, has_owner_on_suspended), for the customer whose id is customer_id (an SQL
    column reference), as four EXISTS tests and their parameters."""
    subscription = Subscription._meta.db_table
    usable, usable_params = _usable(customer_id)
    owners, owner_params = _owners(customer_id)
    suspended, suspended_params = _usable(customer_id, Subscription.Status.SUSPENDED)
    owners_on_suspended, suspended_owner_params = _owners_on_suspended(customer_id)
    tests = [
        f"EXISTS (SELECT 1 FROM {subscription} s WHERE {usable})",  # noqa: S608
        f"EXISTS (SELECT 1 {owners})",
        # Not part of the rule, but of the advice: a suspended plan is reactivated, not bought again.
        f"EXISTS (SELECT 1 FROM {subscription} s WHERE {suspended})",  # noqa: S608
        f"EXISTS (SELECT 1 {owners_on_suspended})",
    ]
    return tests, [usable_params, owner_params, suspended_params, suspended_owner_params]


def _readiness_columns(q: Callable[[str], str]) -> tuple[list[str], list]:
    """The readiness rule and the advice's facts as columns of the customer row aliased c."""
    tests, params = _readiness_tests("c.id")
    columns = [f"{test} AS {q(name)}" for test, name in zip(tests, READINESS_COLUMNS, strict=True)]
    return columns, [value for test_params in params for value in test_params]


READINESS_COLUMNS = ("has_azure_subscription", "has_owner", "has_suspended_azure", "has_owner_on_suspended")


def _naming_columns(q: Callable[[str], str]) -> tuple[list[str], list]:
    """What the Account page's checklist names: the usable subscription, and the first Owner (as the
    rule counts them) with the Azure subscription they hold it on."""
    subscription, azure = Subscription._meta.db_table, AzureSubscription._meta.db_table
    usable, usable_params = _usable("c.id")
    owners, owner_params = _owners("c.id")
    first = " ORDER BY r.principal_type DESC, r.id LIMIT 1"
    columns = [
        # Where an Owner is granted: the first active Azure subscription of a usable one.
        f"(SELECT a.azure_subscription_id FROM {azure} a JOIN {subscription} s ON s.id = a.subscription_id"  # noqa: S608
        f" WHERE {usable} AND a.status = %s ORDER BY a.id LIMIT 1) AS {q('usable_azure_subscription_id')}",
        f"(SELECT s.friendly_name FROM {subscription} s WHERE {usable} ORDER BY s.id LIMIT 1)"  # noqa: S608
        f" AS {q('usable_subscription_name')}",
        f"(SELECT COALESCE(u.display_name, r.principal_name) {owners}{first}) AS {q('owner_name')}",
        f"(SELECT COALESCE(u.user_principal_name, r.principal_sign_in_name) {owners}{first})"
        f" AS {q('owner_sign_in_name')}",
        f"(SELECT COALESCE(a.friendly_name, s.friendly_name) {owners}{first})"
        f" AS {q('owner_subscription_name')}",
    ]
    return columns, [*usable_params, ACTIVE, *usable_params, *owner_params, *owner_params, *owner_params]


def with_readiness(customers):
    """Customers annotated has_azure_subscription and has_owner by the same rule, for lists and filters."""
    q = connections[customers.db].ops.quote_name
    tests, params = _readiness_tests(f"{q(Customer._meta.db_table)}.{q('id')}")
    # Table and column names from the models only; values are parameters.
    return customers.annotate(**{
        name: RawSQL(test, test_params, output_field=BooleanField())  # noqa: S611
        for name, test, test_params in zip(READINESS_COLUMNS, tests, params, strict=True)})


def ready_customers() -> Q:
    """A filter on customers annotated by with_readiness(): those that are ready."""
    return Q(has_azure_subscription=True, has_owner=True)


def with_permissions(customers):
    """Customers annotated allows_<resource> for each purchase permission (one EXISTS each)."""
    return customers.annotate(**{
        f"allows_{resource}": Exists(PurchasePermission.objects.filter(customer=OuterRef("pk"),
                                                                       resource=resource))
        for resource in Resource
    })


def readiness_without(customer: Customer, *, subscription: Subscription | None = None,
                      assignment: RoleAssignment | None = None) -> Readiness:
    """Readiness as it would be if that subscription stopped being active or that role were removed:
    the rule, asked of the database with that one row left out."""
    usable = Subscription.objects.filter(customer=customer, offer__in=Subscription.AZURE_OFFERS,
                                         status=Subscription.Status.ACTIVE)
    if subscription is not None:
        usable = usable.exclude(pk=subscription.pk)
    # The same Owners as _owners(): the customer's own User or Group, on an active Azure subscription.
    owners = RoleAssignment.objects.filter(
        Q(azure_subscription__isnull=True) | Q(azure_subscription__status=ACTIVE),
        role=RoleAssignment.Role.OWNER, principal_type__in=RoleAssignment.CUSTOMER_PRINCIPALS,
        subscription__in=usable)
    if assignment is not None:
        owners = owners.exclude(pk=assignment.pk)
    return Readiness(has_azure_subscription=usable.exists(), has_owner=owners.exists(),
                     tenant_id=str(customer.tenant_id))


def permissions_that_would_stop(customer: Customer, after: Readiness) -> list[Resource]:
    """The allowed purchase permissions that a change leaving the customer `after` would make unusable."""
    if after.ready or not purchase_readiness(customer).ready:
        return []
    allowed = permission_set(customer).resources
    return [resource for resource in Resource if resource in allowed]


def _readiness_sql(connection) -> tuple[str, list]:
    columns, params = _readiness_columns(connection.ops.quote_name)
    return f"SELECT {', '.join(columns)} FROM {Customer._meta.db_table} c WHERE c.id = %s", params  # noqa: S608


def _account_sql(connection) -> tuple[str, list]:
    """The Account page's one query: the customer, its readiness, and each permission's state."""
    q = connection.ops.quote_name
    permission, log = PurchasePermission._meta.db_table, ActivityLogEntry._meta.db_table
    columns, params = _readiness_columns(q)
    naming, naming_params = _naming_columns(q)
    columns, params = [*columns, *naming], [*params, *naming_params]
    for resource in Resource:
        last_change = (
            f"FROM {log} e WHERE e.customer_id = c.id AND e.resource_type = %s AND e.resource_id = %s"
            f" AND e.status = %s ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1"
        )
        change_params = [ResourceType.SELF_SERVE_POLICY.value, resource.value, Status.SUCCEEDED.value]
        columns += [
            f"EXISTS (SELECT 1 FROM {permission} p WHERE p.customer_id = c.id AND p.resource = %s)"  # noqa: S608
            f" AS {q(f'allows_{resource}')}",
            f"(SELECT e.actor_email {last_change}) AS {q(f'last_changed_by_{resource}')}",
            f"(SELECT e.occurred_at {last_change}) AS {q(f'last_changed_at_{resource}')}",
        ]
        params += [resource.value, *change_params, *change_params]
    sql = f"SELECT c.*, {', '.join(columns)} FROM {Customer._meta.db_table} c WHERE c.tenant_id = %s"  # noqa: S608
    return sql, params


_statements: dict[tuple[str, str], tuple[str, list]] = {}


def _statement(build: Callable, connection) -> tuple[str, list]:
    """A statement built once per database alias (the quoting is the backend's)."""
    key = (build.__name__, connection.alias)
    if key not in _statements:
        _statements[key] = build(connection)
    return _statements[key]


def purchase_readiness(customer: Customer) -> Readiness:
    """Readiness as the database has it now, in one query; the service asks it under the customer's lock."""
    connection = connections[Customer.objects.db]
    sql, params = _statement(_readiness_sql, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, customer.pk])
        row = cursor.fetchone()
    return Readiness(**{name: bool(value) for name, value in zip(READINESS_COLUMNS, row, strict=True)},
                     tenant_id=str(customer.tenant_id))


def customer_account(tenant_id) -> Customer | None:
    """The customer with its readiness and permission states annotated, or None (one query)."""
    connection = connections[Customer.objects.db]
    sql, params = _statement(_account_sql, connection)
    tenant = Customer._meta.get_field("tenant_id").get_db_prep_value(tenant_id, connection)
    customer = next(iter(Customer.objects.raw(sql, [*params, tenant])), None)
    if customer is not None:
        _account_row(customer)
    return customer


def _account_row(customer: Customer) -> None:
    """Raw columns come back as the driver gives them (SQLite: 0/1, and times as text or as naive
    datetimes in UTC); callers get booleans and aware datetimes on every database."""
    for name in READINESS_COLUMNS:
        setattr(customer, name, bool(getattr(customer, name)))
    for resource in Resource:
        setattr(customer, f"allows_{resource}", bool(getattr(customer, f"allows_{resource}")))
        changed_at = f"last_changed_at_{resource}"
        setattr(customer, changed_at, _aware(getattr(customer, changed_at)))


def _aware(value):
    """A time from a raw query: SQLite gives text or a naive datetime in UTC, PostgreSQL an aware one."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def readiness_of(customer: Customer) -> Readiness:
    """Readiness from a customer fetched through ``customer_account()``, with what the checklist names."""
    return Readiness(**{name: bool(getattr(customer, name)) for name in READINESS_COLUMNS},
                     tenant_id=str(customer.tenant_id),
                     subscription_name=getattr(customer, "usable_subscription_name", None),
                     owner_name=getattr(customer, "owner_name", None),
                     owner_sign_in_name=getattr(customer, "owner_sign_in_name", None),
                     owner_subscription_name=getattr(customer, "owner_subscription_name", None),
                     azure_subscription_id=_uuid_text(
                         getattr(customer, "usable_azure_subscription_id", None)),
                     synced=customer.synced_at is not None)


def _uuid_text(value) -> str:
    """A UUID column as the drivers give it (PostgreSQL: UUID, SQLite: 32 hex digits), as text."""
    return str(uuid.UUID(str(value))) if value else ""


class LastChange(NamedTuple):
    actor_email: str
    occurred_at: datetime


class PurchasePermissionState:
    """What the Account page shows for one resource: allowed or not, and who last changed it."""

    def __init__(self, resource: Resource, allowed: bool, last_change: LastChange | None, usable: bool):
        self.resource = resource
        self.allowed = allowed
        self.last_change = last_change
        # Allowed, but the customer can no longer buy (no active Azure subscription or no Owner).
        self.unusable = allowed and not usable

    @property
    def label(self) -> str:
        return self.resource.label

    @classmethod
    def for_customer(cls, customer: Customer, *, usable: bool) -> list["PurchasePermissionState"]:
        """From a customer fetched through ``customer_account()``."""
        states = []
        for resource in Resource:
            changed_by = getattr(customer, f"last_changed_by_{resource}")
            states.append(cls(
                resource=resource,
                allowed=getattr(customer, f"allows_{resource}"),
                last_change=LastChange(changed_by, getattr(customer, f"last_changed_at_{resource}"))
                if changed_by is not None else None,
                usable=usable,
            ))
        return states


@dataclass(frozen=True)
class PermissionSet:
    """A customer's purchase permissions as they stand, with a version that every change changes."""

    tenant_id: uuid.UUID
    rows: tuple  # (pk, resource, granted_at), by resource

    @property
    def exists(self) -> bool:
        return bool(self.rows)

    @property
    def resources(self) -> set[str]:
        return {resource for _pk, resource, _at in self.rows}

    @property
    def version(self) -> str:
        """Changes whenever a permission is created or removed (the API's etag)."""
        text = "|".join([str(self.tenant_id),
                         *(f"{pk}:{resource}:{at.isoformat()}" for pk, resource, at in self.rows)])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def permission_set(customer: Customer) -> PermissionSet:
    rows = PurchasePermission.objects.filter(customer=customer).order_by("resource")
    return PermissionSet(customer.tenant_id, tuple(rows.values_list("pk", "resource", "granted_at")))


@dataclass(frozen=True)
class PartnerCenterState:
    """Where the customer's self-serve policy stands in Partner Center (issue 11): the latest change the
    portal queued for it, and a difference Partner Center has that the portal did not make (drift)."""

    state: str  # "applied", "waiting", "not_applied" or "" (nothing was ever pushed)
    at: "datetime | None"  # applied at / waiting since / failed at
    reason: str = ""
    error_code: str = ""
    error_request_id: str = ""
    change_id: int | None = None
    blocked: bool = False
    # Partner Center's own setting, when it differs from the portal's with nothing pending.
    drift: list | None = None
    drift_found_at: "datetime | None" = None

    @property
    def drift_states(self) -> list[tuple]:
        """(label, allowed in Partner Center) for each resource, when drifted."""
        if self.drift is None:
            return []
        return [(resource.label, resource.value in self.drift) for resource in Resource]


def _partner_center_sql(connection) -> tuple[str, list]:
    """The latest change queued for the customer's policy (superseded ones aside), when the changes still
    waiting began (the first change after the last one settled), and Partner Center's policy when it
    drifted: one row, whatever is missing."""
    from outbox.models import OutboxChange

    from .models import SELF_SERVE_POLICY_CHANGE, PartnerCenterPolicy

    change, policy = OutboxChange._meta.db_table, PartnerCenterPolicy._meta.db_table
    superseded, waiting = OutboxChange.State.SUPERSEDED, OutboxChange.State.WAITING
    mine = "customer_id = c.id AND kind = %s"
    sql = (f"SELECT o.id, o.state, o.applied_at, o.updated_at, o.created_at, o.blocked, o.error_message,"  # noqa: S608
           f" o.error_code, o.error_request_id,"
           f" (SELECT w.created_at FROM {change} w WHERE w.{mine} AND w.id > COALESCE("
           f"(SELECT MAX(x.id) FROM {change} x WHERE x.{mine} AND x.state NOT IN (%s, %s)), 0)"
           f" ORDER BY w.id LIMIT 1),"
           f" p.permissions, p.drift_found_at"
           f" FROM {Customer._meta.db_table} c"
           f" LEFT JOIN {change} o"
           f" ON o.id = (SELECT MAX(l.id) FROM {change} l WHERE l.{mine} AND l.state <> %s)"
           f" LEFT JOIN {policy} p ON p.customer_id = c.id AND p.drift_found_at IS NOT NULL"
           f" WHERE c.id = %s")
    return sql, [SELF_SERVE_POLICY_CHANGE, SELF_SERVE_POLICY_CHANGE, waiting, superseded,
                 SELF_SERVE_POLICY_CHANGE, superseded]


def partner_center_state(customer: Customer) -> PartnerCenterState:
    """One query (hand-written for the Account page's sake, as the Account query is)."""
    from outbox.models import OutboxChange

    connection = connections[Customer.objects.db]
    sql, params = _statement(_partner_center_sql, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, customer.pk])
        row = cursor.fetchone()
    if row is None:
        return PartnerCenterState(state="", at=None)
    (change_id, state, applied_at, updated_at, created_at, blocked, reason, code, request_id, since,
     drifted, drift_found_at) = row
    drift = {}
    if drift_found_at is not None:
        drift = {"drift": json.loads(drifted) if isinstance(drifted, str) else drifted,
                 "drift_found_at": _aware(drift_found_at)}
    if change_id is None:
        return PartnerCenterState(state="", at=None, **drift)
    if state == OutboxChange.State.APPLIED:
        return PartnerCenterState(state="applied", at=_aware(applied_at), change_id=change_id, **drift)
    if state == OutboxChange.State.NOT_APPLIED:
        return PartnerCenterState(state="not_applied", at=_aware(updated_at), reason=reason,
                                  error_code=code, error_request_id=request_id, change_id=change_id, **drift)
    return PartnerCenterState(state="waiting", at=_aware(since or created_at), change_id=change_id,
                              blocked=bool(blocked), reason=reason if blocked else "", **drift)
