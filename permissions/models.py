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


class PurchasePermissionState:
    """What the Account page shows for one resource: allowed or not, and who last changed it."""

    def __init__(self, resource: Resource, allowed: bool, last_change, usable: bool):
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
        """One query for the permissions and one per resource for its last successful change."""
        from activitylog.models import ActivityLogEntry, Status

        allowed = set(
            PurchasePermission.objects.filter(customer=customer).values_list("resource", flat=True)
        )
        changes = ActivityLogEntry.objects.filter(
            customer=customer, resource_type="self_serve_policy", status=Status.SUCCEEDED
        ).newest_first()
        return [
            cls(
                resource=resource,
                allowed=resource in allowed,
                last_change=changes.filter(resource_id=resource).first(),
                usable=usable,
            )
            for resource in Resource
        ]
