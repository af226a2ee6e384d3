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
    # Partner Center's relationshipToPartner ("reseller", "advisor", ...), as Microsoft says it.
    relationship = models.CharField(_("relationship"), max_length=32, blank=True)
    # When the Microsoft sync last brought this customer in; null for a customer typed in here.
    synced_at = models.DateTimeField(_("synchronised"), null=True, blank=True)
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


# Partner Center offer ids: an Azure plan's starts with this product id (MICROSOFT.md 1.4; the part
# after it varies), the legacy Azure offer is this one exactly.
AZURE_PLAN_PRODUCT = "DZH318Z0BPS6"
AZURE_GLOBAL_OFFER = "MS-AZR-0145P"
# Azure's built-in Owner role definition, compared by id, never by name (MICROSOFT.md 2).
OWNER_ROLE_DEFINITION = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR_ROLE_DEFINITION = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER_ROLE_DEFINITION = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ACTIVE = "active"


class SubscriptionQuerySet(models.QuerySet):
    def azure(self) -> "SubscriptionQuerySet":
        return self.filter(offer__in=Subscription.AZURE_OFFERS)

    def active(self) -> "SubscriptionQuerySet":
        return self.filter(status=Subscription.Status.ACTIVE)


class Subscription(models.Model):
    """A subscription the partner bought for the customer (a Partner Center subscription)."""

    class Offer(models.TextChoices):
        AZURE_PLAN = "azure_plan", _("Azure plan")
        AZURE_GLOBAL = "azure_global", _("Azure Global")
        MICROSOFT_365 = "microsoft_365", _("Microsoft 365 Business Standard")
        OTHER = "other", _("Other offer")

    class Status(models.TextChoices):
        """The statuses the portal knows. Synchronised subscriptions keep Microsoft's status text as it
        comes (a value Microsoft adds later, such as "expired", is kept and is simply not active)."""

        ACTIVE = ACTIVE, _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CANCELLED = "cancelled", _("Cancelled")
        PENDING = "pending", _("Pending")
        DELETED = "deleted", _("Deleted")
        EXPIRED = "expired", _("Expired")

    AZURE_OFFERS = (Offer.AZURE_PLAN, Offer.AZURE_GLOBAL)

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    subscription_id = models.UUIDField(_("subscription id"), unique=True, default=uuid.uuid4,
                                       editable=False)
    offer = models.CharField(_("offer"), max_length=32, choices=Offer.choices)
    # Partner Center's offerId and offerName, as Microsoft says them; blank for one bought here.
    offer_id = models.CharField(_("offer id"), max_length=100, blank=True)
    offer_name = models.CharField(_("offer name"), max_length=200, blank=True)
    friendly_name = models.CharField(_("friendly name"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    status = models.CharField(_("status"), max_length=32, default=Status.ACTIVE)
    created_at = models.DateTimeField(_("purchased"), auto_now_add=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.friendly_name

    @staticmethod
    def offer_of(offer_id: str) -> "Subscription.Offer":
        """Which kind of offer a Partner Center offerId is (by the Azure plan's product prefix)."""
        offer_id = (offer_id or "").strip().upper()
        if offer_id.startswith(AZURE_PLAN_PRODUCT):
            return Subscription.Offer.AZURE_PLAN
        if offer_id.split(":")[0] == AZURE_GLOBAL_OFFER:
            return Subscription.Offer.AZURE_GLOBAL
        return Subscription.Offer.OTHER

    @property
    def is_azure(self) -> bool:
        return self.offer in self.AZURE_OFFERS

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def get_status_display(self) -> str:
        return status_label(self.status)


def status_label(status: str) -> str:
    """A known status in the reader's language; one Microsoft added later as Microsoft says it."""
    try:
        return Subscription.Status(status).label
    except ValueError:
        return status


class AzureSubscription(models.Model):
    """An Azure subscription (Azure Resource Manager's) inside an Azure plan; Azure Global's is its own."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT,
                                     related_name="azure_subscriptions",
                                     verbose_name=_("Partner Center subscription"))
    azure_subscription_id = models.UUIDField(_("Azure subscription id"), unique=True)
    friendly_name = models.CharField(_("friendly name"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=32, default=ACTIVE)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("Azure subscription")
        verbose_name_plural = _("Azure subscriptions")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.friendly_name or str(self.azure_subscription_id)

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    def get_status_display(self) -> str:
        return status_label(self.status)


class RoleAssignment(models.Model):
    """An Azure RBAC role held by a principal on one of the customer's Azure subscriptions.

    Typed in here, it links a customer user on the Partner Center subscription; synchronised from Azure,
    it is on an Azure subscription and names the principal as Azure and Microsoft Graph do.
    """

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        CONTRIBUTOR = "contributor", _("Contributor")
        READER = "reader", _("Reader")
        OTHER = "other", _("Other role")

    class PrincipalType(models.TextChoices):
        USER = "User", _("User")
        GROUP = "Group", _("Group")
        SERVICE_PRINCIPAL = "ServicePrincipal", _("Service principal")
        FOREIGN_GROUP = "ForeignGroup", _("Foreign group (partner)")

    CUSTOMER_PRINCIPALS = (PrincipalType.USER, PrincipalType.GROUP)
    ROLE_DEFINITIONS = {
        OWNER_ROLE_DEFINITION: Role.OWNER,
        CONTRIBUTOR_ROLE_DEFINITION: Role.CONTRIBUTOR,
        READER_ROLE_DEFINITION: Role.READER,
    }

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="role_assignments"
    )
    azure_subscription = models.ForeignKey(
        AzureSubscription, on_delete=models.PROTECT, related_name="role_assignments",
        null=True, blank=True, verbose_name=_("Azure subscription"),
    )
    customer_user = models.ForeignKey(
        CustomerUser, on_delete=models.PROTECT, related_name="role_assignments", null=True, blank=True,
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    # Azure's view of the assignment (synchronised rows): its name (a GUID), the role definition's id
    # and the principal, with names from Microsoft Graph.
    assignment_name = models.CharField(_("assignment id"), max_length=64, blank=True)
    role_definition_id = models.CharField(_("role definition id"), max_length=64, blank=True)
    principal_id = models.CharField(_("principal id"), max_length=64, blank=True)
    principal_type = models.CharField(_("principal type"), max_length=32, default=PrincipalType.USER)
    principal_name = models.CharField(_("display name"), max_length=256, blank=True)
    principal_sign_in_name = models.CharField(_("sign-in name"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("assigned"), auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "customer_user", "role"], name="role_assignment_unique"
            ),
            models.UniqueConstraint(
                fields=["azure_subscription", "assignment_name"], name="role_assignment_azure_unique",
                condition=models.Q(azure_subscription__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.principal_label} on {self.subscription}"

    @classmethod
    def role_of(cls, role_definition_id: str) -> "RoleAssignment.Role":
        """The role a role definition id names, by the id's GUID (never the role's display name)."""
        guid = (role_definition_id or "").rstrip("/").rsplit("/", 1)[-1].lower()
        return cls.ROLE_DEFINITIONS.get(guid, cls.Role.OTHER)

    @property
    def principal_label(self) -> str:
        if self.customer_user_id is not None:
            return str(self.customer_user)
        if self.principal_sign_in_name:
            return f"{self.principal_name} <{self.principal_sign_in_name}>"
        return self.principal_name or self.principal_id

    @property
    def counts_as_customer(self) -> bool:
        return self.principal_type in self.CUSTOMER_PRINCIPALS

    def get_principal_type_display(self) -> str:
        try:
            return str(self.PrincipalType(self.principal_type).label)
        except ValueError:
            return self.principal_type
