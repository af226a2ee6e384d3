"""Personal API tokens: issue (shown once), revoke, and note when one was last used."""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activitylog import chain
from activitylog.models import Action, ResourceType
from activitylog.services import Origin, audited
from portal.models import Agent

from .models import ApiToken, digest

# Writing last_used_at on every request would add a write to every read; a minute is precise enough.
LAST_USED_PRECISION = dt.timedelta(minutes=1)
REVOKE_REFUSED = _("You can revoke only your own tokens.")
CREATE_REFUSED = _("You can create tokens only for yourself.")


def _token_value(token: ApiToken) -> dict:
    """What the log keeps of a token: never its secret or the secret's hash."""
    return {"name": token.name, "owner": token.owner.email,
            "expires_at": chain.utc_text(token.expires_at) if token.expires_at else None,
            "revoked_at": chain.utc_text(token.revoked_at) if token.revoked_at else None}


def issue_token(
    *, actor: Agent | None, owner: Agent, name: str, origin: Origin, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for its owner, logged as Create API Token; returns it with the secret, shown only once.

    ``actor`` is who asked: the owner on the web, None for the create_api_token command (run on the
    server by someone the portal does not know).
    """
    if actor is not None and actor.pk != owner.pk:
        raise PermissionDenied(CREATE_REFUSED)
    with audited(actor=actor, origin=origin, action=Action.CREATE_API_TOKEN,
                 resource_type=ResourceType.API_TOKEN) as audit:
        while True:
            prefix, secret, raw = ApiToken.new_secret()
            if not ApiToken.objects.filter(prefix=prefix).exists():
                break
        token = ApiToken.objects.create(
            owner=owner, name=name, prefix=prefix, secret_hash=digest(secret), expires_at=expires_at
        )
        audit.succeeded(resource_id=token.prefix, new_value=_token_value(token))
    return token, raw


def revoke_token(*, actor: Agent, token: ApiToken, origin: Origin) -> bool:
    """Revoke one of the actor's own tokens, logged as Revoke API Token. Returns whether it was usable.

    Revoking another agent's token is refused, and the refusal logged as Failed.
    """
    with audited(actor=actor, origin=origin, action=Action.REVOKE_API_TOKEN,
                 resource_type=ResourceType.API_TOKEN, resource_id=token.prefix) as audit:
        if token.owner_id != actor.pk:  # the owner of a token never changes
            raise PermissionDenied(REVOKE_REFUSED)
        # The token's row only, FOR NO KEY UPDATE: locking its owner's row too (select_related with a
        # plain FOR UPDATE) made a refusal by that owner, waiting for the row at its commit while
        # holding the log's lock, deadlock with this revoke waiting for the log.
        locked = (ApiToken.objects.select_for_update(no_key=True, of=("self",)).select_related("owner")
                  .get(pk=token.pk))
        if locked.revoked_at is not None:
            return False
        before = _token_value(locked)
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit.succeeded(old_value=before, new_value=_token_value(locked))
    return True


def note_use(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
