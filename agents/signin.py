"""Password sign-in that resists guessing: django-axes counts failures per account and per client
address, and every counted failure and every lockout is an activity log entry (Sign In, Failed)."""

import unicodedata

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from activitylog.models import Action, ResourceType, Status
from activitylog.services import Origin, record, refusal_messages, refusal_reason

WRONG_PASSWORD = _("Wrong e-mail address or password.")
LOCKED_OUT = _("Too many failed sign-ins: locked for %(minutes)s minutes.")


def typed_username(request, credentials: dict | None) -> str:
    """The account a sign-in names, as axes counts it: trimmed and in lower case, like the addresses
    stored, so that "Admin@" and "admin@" are one account; control characters dropped."""
    credentials = credentials or {}
    typed = credentials.get("username", credentials.get("email"))
    if typed is None and request is not None and hasattr(request, "POST"):
        typed = request.POST.get("username", "")
    text = "".join(ch for ch in str(typed or "") if unicodedata.category(ch)[0] != "C")
    return text.strip().lower()[:200]


def client_address(request) -> str | None:
    """The client's address: REMOTE_ADDR, which ClientAddressMiddleware has already taken from the
    trusted proxies' X-Forwarded-For when there are any."""
    return request.META.get("REMOTE_ADDR") or None


def cool_off_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


class RecordingHandler(AxesDatabaseHandler):
    """axes' database handler, which also writes the activity log entry of each counted failure.

    An attempt while locked out is refused before any password is checked (axes' backend comes
    first) and is not written one by one: a hammering guesser would otherwise write at its own pace.
    """

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if "password" not in (credentials or {}):
            return  # not a password sign-in (Sign in with Microsoft logs its own refusals)
        already_locked = getattr(request, "axes_locked_out", False)
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None or already_locked:
            return
        locked = getattr(request, "axes_locked_out", False)
        refusal = (ValidationError(LOCKED_OUT, params={"minutes": cool_off_minutes()}) if locked
                   else ValidationError(WRONG_PASSWORD))
        record(action=Action.SIGN_IN, actor=None, origin=Origin.from_request(request),
               resource_type=ResourceType.SIGN_IN, resource_id=typed_username(request, credentials),
               status=Status.FAILED, failure_reason=refusal_reason(refusal),
               failure_messages=refusal_messages(refusal),
               new_value={"locked_out": locked,
                          "failures": getattr(request, "axes_failures_since_start", None)})


def locked_out(request, original_response=None, credentials=None):
    """The page a locked-out sign-in gets: what happened, for how long, and what to do (429)."""
    return render(request, "registration/locked_out.html", {"minutes": cool_off_minutes()},
                  status=settings.AXES_HTTP_RESPONSE_CODE)
