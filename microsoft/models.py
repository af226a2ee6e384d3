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



# --- Partner Center's activity log, imported (issue 11 step 6; audit_import.py) ---------------------

class AuditImportState(models.Model):
    """The import's high-water mark (pk=1): every day up to ``imported_through`` has been imported whole
    (the last of them re-read next time, for records that land late). Its row lock serialises writers."""

    imported_through = models.DateField(_("imported through"), null=True, blank=True)

    class Meta:
        verbose_name = _("Partner Center activity log import")
        verbose_name_plural = _("Partner Center activity log import")

    def __str__(self) -> str:
        return f"Partner Center audit records imported through {self.imported_through or 'never'}"

    @classmethod
    def get(cls) -> "AuditImportState":
        state, _created = cls.objects.get_or_create(pk=1)
        return state


class AuditImportRun(models.Model):
    """One import: its windows, what it found and wrote, and the error that stopped it, if one did."""

    class Outcome(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        NEEDS_RECONNECTING = "needs_reconnecting", _("Needs reconnecting")

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=32, choices=Outcome.choices, default=Outcome.RUNNING)
    # {"windows": n, "pages": n, "fetched": n, "imported": n, "duplicates": n, "requests": n, "seconds": s}
    counts = models.JSONField(_("counts"), default=dict)
    imported_through = models.DateField(_("imported through"), null=True, blank=True)
    # The window that failed (nothing of it was written) and what Microsoft answered.
    failed_window_start = models.DateField(_("failed window from"), null=True, blank=True)
    failed_window_end = models.DateField(_("failed window to"), null=True, blank=True)
    message = models.TextField(_("error"), blank=True)
    error_code = models.CharField(_("Microsoft's error code"), max_length=100, blank=True)
    request_id = models.CharField(_("request id"), max_length=100, blank=True)
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)

    class Meta:
        verbose_name = _("Partner Center activity log import run")
        verbose_name_plural = _("Partner Center activity log import runs")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Partner Center audit import {self.started_at:%Y-%m-%d %H:%M:%S} ({self.outcome})"


class ImportedAuditRecord(models.Model):
    """Each Partner Center audit record imported, once: its id is unique, so a rerun after a crash (or two
    imports at once) never writes a record twice. Written in the same transaction as the record's activity log
    entry (whose source_record carries the same id), and kept apart from the append-only log: past Partner
    Center's 90 days a record cannot come back, so these rows may go while the entries stay."""

    record_id = models.CharField(_("Partner Center record id"), max_length=200, unique=True)
    operation_date = models.DateTimeField(_("operation date"), null=True, blank=True, db_index=True)
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        verbose_name = _("imported Partner Center audit record")
        verbose_name_plural = _("imported Partner Center audit records")

    def __str__(self) -> str:
        return self.record_id
