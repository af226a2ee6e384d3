from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AgentManager(BaseUserManager["Agent"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "Agent":
        if not email:
            raise ValueError("An agent needs an e-mail address.")
        agent = self.model(email=self.normalize_email(email).lower(), **fields)
        agent.set_password(password)
        agent.save(using=self._db)
        return agent

    def get_by_natural_key(self, email: str) -> "Agent":
        # Addresses are stored in lower case; people type them in any case when signing in.
        return self.get(email__iexact=email)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "Agent":
        fields.setdefault("role", Agent.Role.OPERATOR)
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class Agent(AbstractBaseUser, PermissionsMixin):
    """A member of the partner's staff, signing in with an e-mail address."""

    class Role(models.TextChoices):
        ADMIN_AGENT = "admin_agent", _("Admin agent")
        SALES_AGENT = "sales_agent", _("Sales agent")
        HELPDESK_AGENT = "helpdesk_agent", _("Help desk agent")
        OPERATOR = "operator", _("Operator")

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    # The least-privileged role is the default: read-only, no audit access.
    role = models.CharField(
        _("role"), max_length=20, choices=Role.choices, default=Role.HELPDESK_AGENT
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Untick instead of deleting: an agent who acted stays in the activity log."),
    )
    is_staff = models.BooleanField(
        _("can use the Django admin"),
        default=False,
        help_text=_("Lets this agent manage partner staff in the Django admin."),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # Empty until the agent picks a language in the switcher: then the browser's language applies.
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The portal's language for this agent; empty follows the browser."),
    )

    # Set for an agent who signs in with Microsoft Entra ID: the user's object id in the partner's
    # tenant. Such an agent's role comes from the Entra app roles at each sign-in.
    entra_object_id = models.CharField(
        _("Microsoft Entra object id"), max_length=64, unique=True, null=True, blank=True, editable=False
    )

    objects = AgentManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name or self.email
