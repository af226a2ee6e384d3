"""The stored App+User refresh token: encrypted at rest, never logged, never shown."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import crypto
from .models import Connection


def refresh_token() -> str | None:
    """The stored refresh token, else MICROSOFT_REFRESH_TOKEN from the settings, else None."""
    connection = Connection.get()
    if connection.refresh_token_encrypted:
        return crypto.decrypt(connection.refresh_token_encrypted)
    return settings.MICROSOFT_REFRESH_TOKEN or None


def has_refresh_token() -> bool:
    return Connection.get().has_refresh_token or bool(settings.MICROSOFT_REFRESH_TOKEN)


def store_refresh_token(token: str, *, redeemed: bool = False) -> None:
    """Keep a new refresh token (from connect_microsoft, or one Microsoft rotated)."""
    token = token.strip()
    if not token:
        raise ValueError("An empty refresh token cannot be stored.")
    from .tokens import forget_all

    if not redeemed:
        forget_all()
    now = timezone.now()
    with transaction.atomic():
        pk = Connection.get().pk
        connection = Connection.objects.select_for_update(no_key=True, of=("self",)).get(pk=pk)
        connection.refresh_token_encrypted = crypto.encrypt(token)
        connection.refresh_token_stored_at = now
        if redeemed:
            connection.refresh_token_redeemed_at = now
        else:
            connection.needs_reconnecting, connection.reconnect_reason = False, ""
        connection.save(update_fields=["refresh_token_encrypted", "refresh_token_stored_at",
                                       "refresh_token_redeemed_at", "needs_reconnecting",
                                       "reconnect_reason"])


def mark_needs_reconnecting(reason: str) -> None:
    Connection.get()
    Connection.objects.filter(pk=1).update(needs_reconnecting=True, reconnect_reason=reason)
