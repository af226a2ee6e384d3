"""Changes the portal decided and Microsoft has still to apply: the outbox (README, How a write flows)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxChange(models.Model):
    """One change for Microsoft, written in the same transaction as the decision that made it.

    ``key`` names what the change is about (kind, customer, subject): of the waiting changes of one key only
    the oldest may run, and a newer one supersedes the waiting ones nobody is applying, so several decisions
    in a row reach Microsoft as the latest desired state, once. ``ms_request_id`` is fixed when the change
    is queued and sent on every attempt: Microsoft recognises a repeat by it.
    """

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting to apply")
        APPLIED = "applied", _("Applied")
        NOT_APPLIED = "not_applied", _("Not applied")
        SUPERSEDED = "superseded", _("Superseded")

    kind = models.CharField(_("kind"), max_length=64)
    key = models.CharField(_("about"), max_length=300, db_index=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="outbox_changes", verbose_name=_("customer"))
    desired = models.JSONField(_("desired state"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.WAITING)
    ms_request_id = models.UUIDField(_("request id"), default=uuid.uuid4, unique=True, editable=False)
    correlation_id = models.CharField(_("correlation id"), max_length=100, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", verbose_name=_("decided by"))
    actor_email = models.CharField(_("decided by"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("queued"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    # When the next attempt may start (a Retry-After, a backoff, a long-running operation's next poll).
    available_at = models.DateTimeField(_("next attempt"), db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # The lease: who is applying the change, until when. An expired lease is anyone's to take over.
    leased_by = models.CharField(max_length=200, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    # What the handler keeps between attempts (an operation to poll) and what it learned at the end.
    progress = models.JSONField(_("progress"), default=dict, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    superseded_by = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+")
    # Microsoft's last refusal or failure: its words, code, request id and HTTP status.
    error_message = models.TextField(_("reason"), blank=True)
    error_code = models.CharField(_("Microsoft's error code"), max_length=100, blank=True)
    error_request_id = models.CharField(_("Microsoft's request id"), max_length=100, blank=True)
    error_status = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    # The queue waits without spending attempts (the connection needs reconnecting).
    blocked = models.BooleanField(_("waiting for the connection"), default=False)

    class Meta:
        verbose_name = _("change to apply in Microsoft")
        verbose_name_plural = _("changes to apply in Microsoft")
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "available_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.state})"

    @property
    def is_waiting(self) -> bool:
        return self.state == self.State.WAITING
