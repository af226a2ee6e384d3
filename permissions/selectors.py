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
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from activitylog.models import ActivityLogEntry, ResourceType, Status
from customers.models import ACTIVE, AzureSubscription, Customer, CustomerUser, RoleAssignment, Subscription

from .models import PurchasePermission, Resource
from .policies import Readiness


def _owners(q: Callable[[str], str]) -> tuple[str, list]:
    """The Owner assignments that make a customer ready, for the customer row aliased c: the customer's
    own User or Group (never the partner's ForeignGroup or a service principal) holding Owner on an
    active Azure subscription (or, typed in here, on the subscription itself) of an active Azure plan or
    Azure Global subscription."""
    subscription, assignment = Subscription._meta.db_table, RoleAssignment._meta.db_table
    azure, user = AzureSubscription._meta.db_table, CustomerUser._meta.db_table
    usable, usable_params = _usable()
    clause = (f"FROM {assignment} r JOIN {subscription} s ON s.id = r.subscription_id"
              f" LEFT JOIN {azure} a ON a.id = r.azure_subscription_id"
              f" LEFT JOIN {user} u ON u.id = r.customer_user_id"
              f" WHERE {usable} AND r.role = %s AND r.principal_type IN (%s, %s)"
              f" AND (r.azure_subscription_id IS NULL OR a.status = %s)")
    return clause, [*usable_params, RoleAssignment.Role.OWNER, *RoleAssignment.CUSTOMER_PRINCIPALS, ACTIVE]


def _usable() -> tuple[str, list]:
    return ("s.customer_id = c.id AND s.offer IN (%s, %s) AND s.status = %s",
            [*Subscription.AZURE_OFFERS, Subscription.Status.ACTIVE])


def _readiness_columns(q: Callable[[str], str]) -> tuple[list[str], list]:
    """The readiness rule: has_azure_subscription and has_owner, for the customer row aliased c."""
    subscription = Subscription._meta.db_table
    usable, usable_params = _usable()
    owners, owner_params = _owners(q)
    columns = [
        f"EXISTS (SELECT 1 FROM {subscription} s WHERE {usable}) AS {q('has_azure_subscription')}",  # noqa: S608
        f"EXISTS (SELECT 1 {owners}) AS {q('has_owner')}",
    ]
    return columns, [*usable_params, *owner_params]


def _naming_columns(q: Callable[[str], str]) -> tuple[list[str], list]:
    """What the Account page's checklist names: the usable subscription, and the first Owner (as the
    rule counts them) with the Azure subscription they hold it on."""
    subscription = Subscription._meta.db_table
    usable, usable_params = _usable()
    owners, owner_params = _owners(q)
    first = " ORDER BY r.principal_type DESC, r.id LIMIT 1"
    columns = [
        f"(SELECT s.friendly_name FROM {subscription} s WHERE {usable} ORDER BY s.id LIMIT 1)"  # noqa: S608
        f" AS {q('usable_subscription_name')}",
        f"(SELECT COALESCE(u.display_name, r.principal_name) {owners}{first}) AS {q('owner_name')}",
        f"(SELECT COALESCE(u.user_principal_name, r.principal_sign_in_name) {owners}{first})"
        f" AS {q('owner_sign_in_name')}",
        f"(SELECT COALESCE(a.friendly_name, s.friendly_name) {owners}{first})"
        f" AS {q('owner_subscription_name')}",
    ]
    return columns, [*usable_params, *owner_params, *owner_params, *owner_params]


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
        has_azure, has_owner = cursor.fetchone()
    return Readiness(has_azure_subscription=bool(has_azure), has_owner=bool(has_owner),
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
    customer.has_azure_subscription = bool(customer.has_azure_subscription)
    customer.has_owner = bool(customer.has_owner)
    for resource in Resource:
        setattr(customer, f"allows_{resource}", bool(getattr(customer, f"allows_{resource}")))
        changed_at = getattr(customer, f"last_changed_at_{resource}")
        if isinstance(changed_at, str):
            changed_at = parse_datetime(changed_at)
        if changed_at is not None and timezone.is_naive(changed_at):
            changed_at = timezone.make_aware(changed_at, dt.UTC)
        setattr(customer, f"last_changed_at_{resource}", changed_at)


def readiness_of(customer: Customer) -> Readiness:
    """Readiness from a customer fetched through ``customer_account()``, with what the checklist names."""
    return Readiness(has_azure_subscription=customer.has_azure_subscription,
                     has_owner=customer.has_owner, tenant_id=str(customer.tenant_id),
                     subscription_name=getattr(customer, "usable_subscription_name", None),
                     owner_name=getattr(customer, "owner_name", None),
                     owner_sign_in_name=getattr(customer, "owner_sign_in_name", None),
                     owner_subscription_name=getattr(customer, "owner_subscription_name", None),
                     synced=customer.synced_at is not None)


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
