"""Personal API tokens: issue (shown once), revoke, and note when one was last used."""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Agent

from .models import ApiToken, digest

# Writing last_used_at on every request would add a write to every read; a minute is precise enough.
LAST_USED_PRECISION = dt.timedelta(minutes=1)
REVOKE_REFUSED = _("You can revoke only your own tokens.")


def issue_token(*, owner: Agent, name: str, expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for its owner; returns it with the secret, which is never shown again."""
    while True:
        prefix, secret, raw = ApiToken.new_secret()
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    token = ApiToken.objects.create(
        owner=owner, name=name, prefix=prefix, secret_hash=digest(secret), expires_at=expires_at
    )
    return token, raw


@transaction.atomic
def revoke_token(*, actor: Agent, token: ApiToken) -> bool:
    """Revoke one of the actor's own tokens. Returns whether it was still usable."""
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.owner_id != actor.pk:
        raise PermissionDenied(REVOKE_REFUSED)
    if locked.revoked_at is not None:
        return False
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    return True


def note_use(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
