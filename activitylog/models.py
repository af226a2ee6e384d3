from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    """What happened, as a stable code and the name a partner knows from Partner Center."""

    CREATE_PURCHASE_PERMISSION = (
        "create_customer_purchase_permissions",
        _("Create Customer Purchase Permissions"),
    )
    DELETE_PURCHASE_PERMISSION = (
        "delete_customer_purchase_permissions",
        _("Delete Customer Purchase Permissions"),
    )
    ADD_CUSTOMER = "add_customer", _("Add Customer")
    CREATE_ORDER = "create_order", _("Create Order")
    UPDATE_SUBSCRIPTION = "update_subscription", _("Update Subscription")
    ADD_CUSTOMER_USER = "add_customer_user", _("Add Customer User")
    CREATE_ROLE_ASSIGNMENT = "create_role_assignment", _("Create Role Assignment")
    DELETE_ROLE_ASSIGNMENT = "delete_role_assignment", _("Delete Role Assignment")


class Status(models.TextChoices):
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Source(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    SYSTEM = "system", _("System")


class AppendOnlyError(Exception):
    """Raised on any attempt to rewrite or remove history."""


class ActivityLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Activity log entries cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Activity log entries cannot be deleted.")

    def newest_first(self):
        return self.order_by("-occurred_at", "-id")


class ActivityLogEntry(models.Model):
    """One thing the portal did, or refused to do. Written once, never changed."""

    occurred_at = models.DateTimeField(_("date-time (UTC)"), default=timezone.now)
    action = models.CharField(_("action"), max_length=64, choices=Action.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    failure_reason = models.TextField(_("reason"), blank=True)

    # Who and whom are kept as text as well as links, so the entry reads the same for ever.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("performed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_email = models.CharField(_("performed by"), max_length=254)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("affected customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    customer_name = models.CharField(_("affected customer"), max_length=200, blank=True)
    customer_tenant_id = models.UUIDField(_("customer tenant id"), null=True, blank=True)

    resource_type = models.CharField(_("resource type"), max_length=64, blank=True)
    resource_id = models.CharField(_("resource id"), max_length=200, blank=True)
    old_value = models.JSONField(_("old value"), null=True, blank=True, encoder=DjangoJSONEncoder)
    new_value = models.JSONField(_("new value"), null=True, blank=True, encoder=DjangoJSONEncoder)

    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    correlation_id = models.CharField(_("correlation id"), max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(_("client IP"), null=True, blank=True)

    objects = ActivityLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity log entry")
        verbose_name_plural = _("activity log entries")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["-occurred_at", "-id"], name="activity_time_idx"),
            models.Index(fields=["customer_tenant_id", "-occurred_at"], name="activity_tenant_idx"),
            models.Index(fields=["customer", "resource_type", "-occurred_at"],
                         name="activity_customer_res_idx"),
            models.Index(fields=["action", "-occurred_at"], name="activity_action_idx"),
            models.Index(fields=["actor_email", "-occurred_at"], name="activity_actor_idx"),
            models.Index(fields=["status", "-occurred_at"], name="activity_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.get_action_display()} ({self.actor_email})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Activity log entries cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Activity log entries cannot be deleted.")

    @property
    def succeeded(self) -> bool:
        return self.status == Status.SUCCEEDED
