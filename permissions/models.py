from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Resource(models.TextChoices):
    """What a customer may buy itself; codes are Partner Center's, names are the Account page's."""

    AZURE_RESERVATIONS = "AzureReservedInstances", _("Azure reservations")
    AZURE_SAVINGS_PLAN = "AzureSavingsPlan", _("Azure savings plans")


# Partner Center's one action on a self-serve permission.
PURCHASE = "Purchase"
# The outbox kind that carries a customer's desired SelfServePolicy to Partner Center (issue 11).
SELF_SERVE_POLICY_CHANGE = "partnercenter.self_serve_policy"


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
    # Null when the permission was adopted from Partner Center's own policy (the Microsoft sync).
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("granted by"), null=True, blank=True,
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


class PartnerCenterPolicy(models.Model):
    """A customer's SelfServePolicy as Partner Center last said (a push's answer or a sync's read)."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE,
                                    related_name="partner_center_policy", verbose_name=_("customer"))
    # Resources in Partner Center's codes (AzureReservedInstances, AzureSavingsPlan); [] = no policy.
    permissions = models.JSONField(_("permissions in Partner Center"), default=list)
    etag = models.CharField(max_length=200, blank=True)
    read_at = models.DateTimeField(_("read"))
    # Drift: Partner Center differs from the portal with nothing of ours pending (someone used Partner
    # Center directly). Kept until an Admin agent applies the portal's setting or accepts Partner Center's.
    drift_found_at = models.DateTimeField(_("difference found"), null=True, blank=True)

    class Meta:
        verbose_name = _("self-serve policy in Partner Center")
        verbose_name_plural = _("self-serve policies in Partner Center")

    def __str__(self) -> str:
        return f"{self.customer_id}: {', '.join(self.permissions) or '-'}"


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
