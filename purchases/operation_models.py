"""The partner's operations on what a customer bought (issue 13): one row per change asked of Azure.

A row is a quote (refund or exchange, never sent), or a change waiting to be sent, in progress at Azure (a
202 to poll), succeeded or failed. The worker sends and follows it (purchases/operations.py); the mirror and
the activity log change only when Azure says how it ended. Returns still waiting or in progress count against
the customer's refund allowance, so two returns at once cannot both cross it.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PartnerOperation(models.Model):
    class Kind(models.TextChoices):
        UPDATE_RESERVATION = "update_reservation", _("Update Reservation")
        RETURN_RESERVATION = "return_reservation", _("Return Reservation")
        EXCHANGE_RESERVATION = "exchange_reservation", _("Exchange Reservation")
        UPDATE_SAVINGS_PLAN = "update_savings_plan", _("Update Savings Plan")

    class State(models.TextChoices):
        QUOTED = "quoted", _("Quoted")
        WAITING = "waiting", _("Waiting to be sent")
        IN_PROGRESS = "in_progress", _("In progress")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    PENDING = (State.WAITING, State.IN_PROGRESS)

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("operation"), max_length=24, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.WAITING)
    reservation = models.ForeignKey(
        "purchases.Reservation", on_delete=models.PROTECT, null=True, blank=True, related_name="operations"
    )
    savings_plan = models.ForeignKey(
        "purchases.SavingsPlan", on_delete=models.PROTECT, null=True, blank=True, related_name="operations"
    )
    # What is sent to Azure: the PATCH properties, or the quote's session (and quantity, reason).
    request = models.JSONField(default=dict)
    # Microsoft's quote (calculateRefund / calculateExchange) as shown to the agent; the log's old value.
    quote = models.JSONField(default=dict, blank=True)
    quoted_at = models.DateTimeField(null=True, blank=True)
    # The mirror's values before the change (the log's old value for an update).
    before = models.JSONField(default=dict, blank=True)
    # A return's refund in USD, counted against the allowance while waiting, in progress or succeeded.
    refund_usd = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    poll_url = models.CharField(max_length=2000, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.CharField(max_length=1000, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    origin = models.JSONField(default=dict, blank=True)  # source, request id, correlation id, client ip
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("partner operation")
        verbose_name_plural = _("partner operations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state"], name="partner_operation_state"),
            models.Index(fields=["customer", "kind", "state"], name="partner_operation_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_state_display()})"

    @property
    def pending(self) -> bool:
        return self.state in self.PENDING
