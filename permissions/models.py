from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Resource(models.TextChoices):
    """What a customer may buy itself; codes are Partner Center's, names are the Account page's."""

    AZURE_RESERVATIONS = "AzureReservedInstances", _("Azure reservations")
    AZURE_SAVINGS_PLAN = "AzureSavingsPlan", _("Azure savings plans")


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


class LastChange(NamedTuple):
    actor_email: str
    occurred_at: datetime


def with_purchase_permissions(customers: models.QuerySet) -> models.QuerySet:
    """Annotate, per resource, whether it is allowed and who last changed it and when."""
    from activitylog.models import ActivityLogEntry, Status

    annotations = {}
    for resource in Resource:
        changes = ActivityLogEntry.objects.filter(
            customer=models.OuterRef("pk"), resource_type="self_serve_policy", resource_id=resource,
            status=Status.SUCCEEDED,
        ).newest_first()
        annotations |= {
            f"allows_{resource}": models.Exists(
                PurchasePermission.objects.filter(customer=models.OuterRef("pk"), resource=resource)
            ),
            f"last_changed_by_{resource}": models.Subquery(changes.values("actor_email")[:1]),
            f"last_changed_at_{resource}": models.Subquery(changes.values("occurred_at")[:1]),
        }
    return customers.annotate(**annotations)


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
        """From a customer fetched through ``with_purchase_permissions()``."""
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
