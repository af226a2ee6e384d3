import uuid

from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.text import Folded, natural


class CustomerQuerySet(models.QuerySet):
    def search(self, query: str) -> "CustomerQuerySet":
        """Company name or domain (substring, ignoring case and accents), or the exact tenant id."""
        query = query.strip()
        if not query:
            return self
        try:
            return self.filter(tenant_id=uuid.UUID(query))
        except ValueError:
            wanted = Folded(models.Value(query))
            return self.alias(folded_name=Folded("company_name"), folded_domain=Folded("domain")).filter(
                models.Q(folded_name__contains=wanted) | models.Q(folded_domain__contains=wanted)
            )

    def by_name(self) -> "CustomerQuerySet":
        """In the order a reader expects: "Café" beside "CV Maju", whatever the case or accents."""
        return self.order_by(natural("company_name"), "id")


class Customer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    company_name = models.CharField(_("company name"), max_length=200)
    domain = models.CharField(
        _("domain name"), max_length=253, unique=True, help_text=_("For example contoso.onmicrosoft.com")
    )
    tenant_id = models.UUIDField(_("Microsoft ID"), unique=True, default=uuid.uuid4, editable=False)
    address_line = models.CharField(_("address"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country or region"), max_length=2, blank=True,
                               help_text=_("Two-letter ISO code, for example ID or US."))
    contact_name = models.CharField(_("primary contact"), max_length=150, blank=True)
    contact_email = models.EmailField(_("primary contact e-mail"), blank=True)
    contact_phone = models.CharField(_("primary contact phone"), max_length=40, blank=True)
    status = models.CharField(_("account status"), max_length=16, choices=Status.choices,
                              default=Status.ACTIVE)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["company_name", "id"]
        indexes = [models.Index(Lower("company_name"), name="customer_name_lower_idx")]
        # Domains are stored in lower case, so the unique constraint on them ignores case.
        constraints = [
            models.CheckConstraint(condition=models.Q(domain=Lower("domain")),
                                   name="customer_domain_lowercase"),
        ]

    def __str__(self) -> str:
        return self.company_name

    def get_absolute_url(self) -> str:
        return reverse("customers:account", args=[self.tenant_id])


class CustomerUser(models.Model):
    """A person in the customer's tenant, who may hold roles on its Azure subscriptions."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="users")
    user_principal_name = models.CharField(
        _("sign-in name"), max_length=254, help_text=_("For example alex@contoso.onmicrosoft.com")
    )
    display_name = models.CharField(_("display name"), max_length=150)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer user")
        verbose_name_plural = _("customer users")
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("user_principal_name"), "customer", name="customer_user_unique_upn"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.user_principal_name}>"


class SubscriptionQuerySet(models.QuerySet):
    def azure(self) -> "SubscriptionQuerySet":
        return self.filter(offer__in=Subscription.AZURE_OFFERS)

    def active(self) -> "SubscriptionQuerySet":
        return self.filter(status=Subscription.Status.ACTIVE)


class Subscription(models.Model):
    """A subscription the partner bought for the customer."""

    class Offer(models.TextChoices):
        AZURE_PLAN = "azure_plan", _("Azure plan")
        AZURE_GLOBAL = "azure_global", _("Azure Global")
        MICROSOFT_365 = "microsoft_365", _("Microsoft 365 Business Standard")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CANCELLED = "cancelled", _("Cancelled")

    AZURE_OFFERS = (Offer.AZURE_PLAN, Offer.AZURE_GLOBAL)

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    subscription_id = models.UUIDField(_("subscription id"), unique=True, default=uuid.uuid4,
                                       editable=False)
    offer = models.CharField(_("offer"), max_length=32, choices=Offer.choices)
    friendly_name = models.CharField(_("friendly name"), max_length=100)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.ACTIVE)
    created_at = models.DateTimeField(_("purchased"), auto_now_add=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.friendly_name

    @property
    def is_azure(self) -> bool:
        return self.offer in self.AZURE_OFFERS

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class RoleAssignment(models.Model):
    """An Azure RBAC role held by a customer user on one of the customer's Azure subscriptions."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        CONTRIBUTOR = "contributor", _("Contributor")
        READER = "reader", _("Reader")

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="role_assignments"
    )
    customer_user = models.ForeignKey(
        CustomerUser, on_delete=models.PROTECT, related_name="role_assignments"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(_("assigned"), auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "customer_user", "role"], name="role_assignment_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.customer_user} on {self.subscription}"
