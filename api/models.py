import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# "csp_<prefix>_<secret>": the prefix finds the row, only the secret's SHA-256 is stored.
TOKEN_SCHEME = "csp"  # noqa: S105 - a public marker, not a secret
PREFIX_BYTES = 4
_HEX = re.compile(f"[0-9a-f]{{{PREFIX_BYTES * 2}}}")
SECRET_BYTES = 32


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self) -> "ApiTokenQuerySet":
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, owner__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def find(self, raw: str) -> "ApiToken | None":
        """The usable token a bearer string names, or None; the secret is compared in constant time."""
        scheme, _sep, rest = raw.partition("_")
        prefix, _sep, secret = rest.partition("_")
        if scheme != TOKEN_SCHEME or not _HEX.fullmatch(prefix) or not secret:
            return None
        token = self.usable().select_related("owner").filter(prefix=prefix).first()
        if token is None or not hmac.compare_digest(token.secret_hash, digest(secret)):
            return None
        return token


class ApiToken(models.Model):
    """A personal API token: it acts as its owner, with the owner's role."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=PREFIX_BYTES * 2, unique=True, editable=False)
    secret_hash = models.CharField(_("SHA-256 of the secret"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix})"

    @property
    def display_prefix(self) -> str:
        return f"{TOKEN_SCHEME}_{self.prefix}_…"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @staticmethod
    def new_secret() -> tuple[str, str, str]:
        """(prefix, secret, the full token to show once)."""
        prefix = secrets.token_hex(PREFIX_BYTES)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        return prefix, secret, f"{TOKEN_SCHEME}_{prefix}_{secret}"
