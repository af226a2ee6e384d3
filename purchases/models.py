"""What the customer buys itself, as Microsoft shows it, and the one de-duplicated purchase the partner sees.

Mirrors (one row per Microsoft object, refreshed by the sync):
- Order: Partner Center's orders of a customer (the partner's and the customer's own).
- ReservationOrder / Reservation: Microsoft.Capacity in the customer's tenant.
- SavingsPlanOrder / SavingsPlan: Microsoft.BillingBenefits in the customer's tenant (never in Partner
  Center).

CustomerPurchase is the purchase itself, seen from Partner Center (an order, its reserved-instance
entitlement, its create_order audit record) and/or from Azure (the reservation or savings plan order),
matched so that nothing is counted twice: at most one row per Partner Center order and one per Azure order
(two unique keys; a row found from one side first gains the other's key when it is seen).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

HOURS_IN_TERM = {"P1Y": 24 * 365, "P3Y": 24 * 365 * 3, "P5Y": 24 * 365 * 5}


class Term(models.TextChoices):
    P1Y = "P1Y", _("1 year")
    P3Y = "P3Y", _("3 years")
    P5Y = "P5Y", _("5 years")


class Kind(models.TextChoices):
    RESERVATION = "reservation", _("Azure reservation")
    SAVINGS_PLAN = "savings_plan", _("Azure savings plan")


class Order(models.Model):
    """A Partner Center order (GET /v1/customers/{id}/orders)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="orders")
    order_id = models.CharField(_("order id"), max_length=64)
    billing_cycle = models.CharField(_("billing cycle"), max_length=32, blank=True)
    transaction_type = models.CharField(_("transaction type"), max_length=32, blank=True)
    status = models.CharField(_("status"), max_length=32, blank=True)
    currency_code = models.CharField(_("currency"), max_length=3, blank=True)
    created_at = models.DateTimeField(_("created"))
    client_name = models.CharField(_("placed through"), max_length=100, blank=True)
    placed_by = models.CharField(_("placed by"), max_length=254, blank=True)
    line_items = models.JSONField(_("line items"), default=list)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["customer", "order_id"], name="order_unique")]

    def __str__(self) -> str:
        return self.order_id

    @property
    def description(self) -> str:
        return ", ".join(str(line.get("friendlyName") or line.get("offerId") or "")
                         for line in self.line_items)


class _Benefit(models.Model):
    """What a reservation order and a savings plan order share (Azure's properties)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    order_id = models.CharField(_("order id"), max_length=64)
    display_name = models.CharField(_("name"), max_length=200, blank=True)
    term = models.CharField(_("term"), max_length=8, choices=Term.choices, blank=True)
    billing_plan = models.CharField(_("billing plan"), max_length=16, blank=True)
    amount = models.DecimalField(_("total"), max_digits=14, decimal_places=2, null=True, blank=True)
    currency_code = models.CharField(_("currency"), max_length=3, blank=True)
    purchased_at = models.DateTimeField(_("purchased"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    provisioning_state = models.CharField(_("state"), max_length=32, blank=True)
    created_by = models.CharField(_("bought by"), max_length=254, blank=True)

    class Meta:
        abstract = True
        ordering = ["-purchased_at", "-id"]


class ReservationOrder(_Benefit):
    quantity = models.PositiveIntegerField(_("quantity"), default=1)

    class Meta(_Benefit.Meta):
        verbose_name = _("reservation order")
        verbose_name_plural = _("reservation orders")
        constraints = [models.UniqueConstraint(fields=["customer", "order_id"],
                                               name="reservation_order_unique")]

    def __str__(self) -> str:
        return str(self.order_id)


class Reservation(models.Model):
    order = models.ForeignKey(ReservationOrder, on_delete=models.CASCADE, related_name="reservations")
    reservation_id = models.CharField(_("reservation id"), max_length=64)
    display_name = models.CharField(_("name"), max_length=200, blank=True)
    sku = models.CharField(_("product"), max_length=100, blank=True)
    location = models.CharField(_("region"), max_length=64, blank=True)
    resource_type = models.CharField(_("resource type"), max_length=64, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    scope = models.CharField(_("scope"), max_length=32, blank=True)
    applied_scopes = models.JSONField(_("applied scopes"), default=list)
    effective_at = models.DateTimeField(_("effective"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    renew = models.BooleanField(_("renews"), default=False)
    provisioning_state = models.CharField(_("state"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("Azure reservation")
        verbose_name_plural = _("Azure reservations")
        ordering = ["-effective_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["order", "reservation_id"], name="reservation_unique")]

    def __str__(self) -> str:
        return str(self.reservation_id)


class SavingsPlanOrder(_Benefit):
    class Meta(_Benefit.Meta):
        verbose_name = _("savings plan order")
        verbose_name_plural = _("savings plan orders")
        constraints = [models.UniqueConstraint(fields=["customer", "order_id"],
                                               name="savings_plan_order_unique")]

    def __str__(self) -> str:
        return str(self.order_id)


class SavingsPlan(models.Model):
    order = models.ForeignKey(SavingsPlanOrder, on_delete=models.CASCADE, related_name="plans")
    plan_id = models.CharField(_("savings plan id"), max_length=64)
    display_name = models.CharField(_("name"), max_length=200, blank=True)
    hourly_commitment = models.DecimalField(_("hourly commitment"), max_digits=12, decimal_places=4)
    currency_code = models.CharField(_("currency"), max_length=3, blank=True)
    scope = models.CharField(_("scope"), max_length=32, blank=True)
    applied_scope = models.CharField(_("applied scope"), max_length=200, blank=True)
    effective_at = models.DateTimeField(_("effective"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    renew = models.BooleanField(_("renews"), default=False)
    provisioning_state = models.CharField(_("state"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("Azure savings plan")
        verbose_name_plural = _("Azure savings plans")
        ordering = ["-effective_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["order", "plan_id"], name="savings_plan_unique")]

    def __str__(self) -> str:
        return str(self.plan_id)


class CustomerPurchase(models.Model):
    """One thing the customer bought itself, however many of Microsoft's sources show it."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="self_purchases")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The two sides' keys; at least one is set. Unique per customer, so a purchase is one row.
    partner_center_order_id = models.CharField(_("Partner Center order"), max_length=64, null=True,
                                               blank=True)
    azure_order_id = models.CharField(_("Azure order"), max_length=64, null=True, blank=True)
    product = models.CharField(_("product"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    term = models.CharField(_("term"), max_length=8, choices=Term.choices, blank=True)
    billing_plan = models.CharField(_("billing plan"), max_length=16, blank=True)
    commitment = models.DecimalField(_("commitment"), max_digits=14, decimal_places=2, null=True, blank=True)
    currency_code = models.CharField(_("currency"), max_length=3, blank=True)
    buyer = models.CharField(_("bought by"), max_length=254, blank=True)
    purchased_at = models.DateTimeField(_("purchased"), db_index=True)
    seen_at = models.DateTimeField(_("seen"), default=timezone.now)

    class Meta:
        verbose_name = _("customer purchase")
        verbose_name_plural = _("customer purchases")
        ordering = ["-purchased_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "partner_center_order_id"],
                                    name="customer_purchase_pc_unique"),
            models.UniqueConstraint(fields=["customer", "azure_order_id"],
                                    name="customer_purchase_azure_unique"),
        ]
        indexes = [
            models.Index(fields=["customer", "-purchased_at"], name="customer_purchase_customer"),
            models.Index(fields=["kind", "-purchased_at"], name="customer_purchase_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.product}"


def savings_plan_commitment(hourly: Decimal, term: str) -> Decimal:
    """A savings plan's whole commitment: the hourly amount × the hours in its term."""
    return (hourly * HOURS_IN_TERM.get(term, 0)).quantize(Decimal("0.01"))


class NotificationPreference(models.Model):
    """An agent's own choice, on the profile page: "Tell me when a customer buys" (off by default)."""

    agent = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="purchase_preference")
    notify_purchases = models.BooleanField(_("Tell me when a customer buys"), default=False)

    def __str__(self) -> str:
        return str(f"{self.agent_id}: {self.notify_purchases}")


class Notification(models.Model):
    """One notification: a purchase, or a customer's spend crossing 80 % / 100 % of its limit. Unique per
    event (the purchase; the limit's crossing), so two sources or two workers notify once."""

    class Event(models.TextChoices):
        PURCHASE = "purchase", _("Customer purchase")
        LIMIT_80 = "limit_80", _("80 % of the self-purchase limit")
        LIMIT_100 = "limit_100", _("Self-purchase limit reached")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    event = models.CharField(_("event"), max_length=16, choices=Event.choices)
    purchase = models.OneToOneField(CustomerPurchase, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="notification")
    # What a limit notification is about: "<limit id>:<limit version>" (a new limit may notify again).
    key = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["event", "key"], name="notification_unique")]

    def __str__(self) -> str:
        return str(f"{self.event} {self.key}")


class Delivery(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        WEBHOOK = "webhook", _("Webhook")

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        SENT = "sent", _("Sent")
        GIVEN_UP = "given_up", _("Given up")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    target = models.CharField(_("to"), max_length=500)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.WAITING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["notification", "channel", "target"],
                                               name="delivery_unique")]

    def __str__(self) -> str:
        return str(f"{self.channel} {self.target}: {self.state}")


class PurchaseLimit(models.Model):
    """A customer's self-purchase limit: an amount over a rolling 12 months of its own purchases."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.PROTECT,
                                    related_name="purchase_limit")
    amount = models.DecimalField(_("limit"), max_digits=14, decimal_places=2)
    currency_code = models.CharField(_("currency"), max_length=3, default="USD")
    turn_off_at_limit = models.BooleanField(_("Turn permissions off at the limit"), default=False)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return str(f"{self.customer_id}: {self.amount} {self.currency_code}")


class BillingPolicy(models.Model):
    """Cost visibility: Azure's viewCharges on the partner's billing account for this customer."""

    class ViewCharges(models.TextChoices):
        ALLOWED = "Allowed", _("Allowed")
        NOT_ALLOWED = "NotAllowed", _("Not allowed")

    customer = models.OneToOneField("customers.Customer", on_delete=models.PROTECT,
                                    related_name="billing_policy")
    view_charges = models.CharField(max_length=16, choices=ViewCharges.choices,
                                    default=ViewCharges.NOT_ALLOWED)
    # What Azure held when the poll last read it (differs from view_charges while a push is under way).
    held_view_charges = models.CharField(max_length=16, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return str(f"{self.customer_id}: {self.view_charges}")


from .operation_models import PartnerOperation  # noqa: E402, F401 - issue 13: the partner's operations
