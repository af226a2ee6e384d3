import datetime as dt
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connections, models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _


class Resource(models.TextChoices):
    """What a customer may buy itself; codes are Partner Center's, names are the Account page's."""

    AZURE_RESERVATIONS = "AzureReservedInstances", _("Azure reservations")
    AZURE_SAVINGS_PLAN = "AzureSavingsPlan", _("Azure savings plans")


# Partner Center's one action on a self-serve permission.
PURCHASE = "Purchase"


def policy_permissions(resources) -> list[dict]:
    """Resources as Partner Center's SelfServePolicy lists them, in Resource order."""
    return [{"resource": resource, "action": PURCHASE}
            for resource in Resource.values if resource in resources]


class PurchasePermission(models.Model):
    """A customer may buy this resource itself. The row exists exactly while that is allowed."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="purchase_permissions"
    )
    resource = models.CharField(_("resource"), max_length=32, choices=Resource.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("granted by"),
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)

    class Meta:
        verbose_name = _("customer purchase permission")
        verbose_name_plural = _("customer purchase permissions")
        constraints = [
            models.UniqueConstraint(fields=["customer", "resource"], name="purchase_permission_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.get_resource_display()}"


class AccessReview(models.Model):
    """When an Operator or Admin agent last signed off a customer's allowed purchase permissions."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="access_review"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at (UTC)"))

    class Meta:
        verbose_name = _("access review")
        verbose_name_plural = _("access reviews")
        indexes = [models.Index(fields=["reviewed_at"], name="access_review_time_idx")]

    def __str__(self) -> str:
        return f"{self.customer}: {self.reviewed_at:%Y-%m-%d %H:%M} ({self.reviewed_by})"


def with_permissions(customers):
    """Customers annotated allows_<resource> for each purchase permission (one EXISTS each)."""
    return customers.annotate(**{
        f"allows_{resource}": models.Exists(
            PurchasePermission.objects.filter(customer=models.OuterRef("pk"), resource=resource))
        for resource in Resource
    })


class LastChange(NamedTuple):
    actor_email: str
    occurred_at: datetime


def _account_sql(connection) -> tuple[str, list]:
    """The Account page's one query: the customer, its readiness, and each permission's state.

    Hand-written because it is the portal's hottest read: the ORM spent about 15 ms building the
    same query from Exists/Subquery expressions on a 2-core machine, several times the database's
    own time. Only table and column names from the models are interpolated; values are parameters.
    """
    from activitylog.models import ActivityLogEntry, Status
    from customers.models import Customer, RoleAssignment, Subscription

    q = connection.ops.quote_name
    customer, subscription = Customer._meta.db_table, Subscription._meta.db_table
    assignment, permission = RoleAssignment._meta.db_table, PurchasePermission._meta.db_table
    log = ActivityLogEntry._meta.db_table
    usable = ("s.customer_id = c.id AND s.offer IN (%s, %s) AND s.status = %s")
    usable_params = [*Subscription.AZURE_OFFERS, Subscription.Status.ACTIVE]
    columns = [
        f"EXISTS (SELECT 1 FROM {subscription} s WHERE {usable}) AS {q('has_azure_subscription')}",  # noqa: S608
        f"EXISTS (SELECT 1 FROM {assignment} r JOIN {subscription} s ON s.id = r.subscription_id"  # noqa: S608
        f" WHERE {usable} AND r.role = %s) AS {q('has_owner')}",
    ]
    params = [*usable_params, *usable_params, RoleAssignment.Role.OWNER]
    for resource in Resource:
        last_change = (
            f"FROM {log} e WHERE e.customer_id = c.id AND e.resource_type = %s AND e.resource_id = %s"
            f" AND e.status = %s ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1"
        )
        change_params = ["self_serve_policy", resource.value, Status.SUCCEEDED]
        columns += [
            f"EXISTS (SELECT 1 FROM {permission} p WHERE p.customer_id = c.id AND p.resource = %s)"  # noqa: S608
            f" AS {q(f'allows_{resource}')}",
            f"(SELECT e.actor_email {last_change}) AS {q(f'last_changed_by_{resource}')}",
            f"(SELECT e.occurred_at {last_change}) AS {q(f'last_changed_at_{resource}')}",
        ]
        params += [resource.value, *change_params, *change_params]
    sql = f"SELECT c.*, {', '.join(columns)} FROM {customer} c WHERE c.tenant_id = %s"  # noqa: S608
    return sql, params


_account_queries: dict[str, tuple[str, list]] = {}


def customer_account(tenant_id):
    """The customer with its readiness and permission states annotated, or None (one query)."""
    from customers.models import Customer

    connection = connections[Customer.objects.db]
    if connection.vendor not in _account_queries:
        _account_queries[connection.vendor] = _account_sql(connection)
    sql, params = _account_queries[connection.vendor]
    tenant = Customer._meta.get_field("tenant_id").get_db_prep_value(tenant_id, connection)
    customer = next(iter(Customer.objects.raw(sql, [*params, tenant])), None)
    if customer is not None:
        # Raw columns come back as the driver gives them (SQLite: 0/1, and times as text or as
        # naive datetimes in UTC); callers get booleans and aware datetimes on every database.
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
    return customer


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
    def for_customer(cls, customer, *, usable: bool) -> list["PurchasePermissionState"]:
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
