"""Stored Microsoft credentials are encrypted at rest with Fernet, the key coming from the environment."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    key = settings.MICROSOFT_CREDENTIALS_KEY
    if not key:
        # Derived from the secret key when no key of its own is set (README "Connected to Microsoft").
        digest = hashlib.sha256(b"microsoft-credentials:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str | None:
    """The secret, or None when it cannot be read with this key (the key changed: reconnect)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None
