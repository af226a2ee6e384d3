"""The Microsoft connection's own state: stored credential, the sync lock, each run and its errors."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Connection(models.Model):
    """The one connection to Microsoft (pk=1): the App+User refresh token and the sync lock."""

    # Fernet-encrypted (crypto.py); never shown, never logged.
    refresh_token_encrypted = models.TextField(blank=True)
    refresh_token_stored_at = models.DateTimeField(_("refresh token stored"), null=True, blank=True)
    refresh_token_redeemed_at = models.DateTimeField(_("refresh token last redeemed"), null=True,
                                                     blank=True)
    # Microsoft refused the credentials (invalid_grant): a person must connect again.
    needs_reconnecting = models.BooleanField(_("needs reconnecting"), default=False)
    reconnect_reason = models.TextField(_("why"), blank=True)
    # The sync lock: who holds it (host:pid:random) and its last sign of life.
    sync_holder = models.CharField(max_length=200, blank=True)
    sync_heartbeat = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Microsoft connection")
        verbose_name_plural = _("Microsoft connection")

    def __str__(self) -> str:
        return "Microsoft connection"

    @classmethod
    def get(cls) -> "Connection":
        connection, _created = cls.objects.get_or_create(pk=1)
        return connection

    @property
    def has_refresh_token(self) -> bool:
        return bool(self.refresh_token_encrypted)


class SyncRun(models.Model):
    class Outcome(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Succeeded with errors")
        FAILED = "failed", _("Failed")
        INTERRUPTED = "interrupted", _("Interrupted")
        NEEDS_RECONNECTING = "needs_reconnecting", _("Needs reconnecting")

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=32, choices=Outcome.choices,
                               default=Outcome.RUNNING)
    only_customer = models.CharField(_("customer"), max_length=64, blank=True)
    # {"customers": {"added": n, "changed": n, "removed": n}, ..., "requests": n, "throttled": n}
    counts = models.JSONField(_("counts"), default=dict)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("Microsoft sync")
        verbose_name_plural = _("Microsoft syncs")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Microsoft sync {self.started_at:%Y-%m-%d %H:%M:%S} ({self.outcome})"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class SyncError(models.Model):
    """What went wrong for one customer (or the whole run), with Microsoft's code and request id."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="errors")
    occurred_at = models.DateTimeField(_("when"), auto_now_add=True)
    customer_tenant_id = models.CharField(_("customer tenant id"), max_length=64, blank=True)
    customer_name = models.CharField(_("customer"), max_length=200, blank=True)
    message = models.TextField(_("error"))
    error_code = models.CharField(_("Microsoft's error code"), max_length=100, blank=True)
    request_id = models.CharField(_("request id"), max_length=100, blank=True)
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    url = models.CharField(_("address"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("Microsoft sync error")
        verbose_name_plural = _("Microsoft sync errors")
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return self.message[:80]

