"""Sign in with Microsoft: OpenID Connect against the partner's own Microsoft Entra ID tenant.

mozilla-django-oidc does the protocol (authorization code with PKCE S256, state and nonce kept in the
session, the code redeemed at the token endpoint, the ID token's RS256 signature checked against the
tenant's published keys). This module only configures it for Entra and decides who gets in:

- the ID token must come from the partner's tenant (issuer, ``tid``) for this app (``aud``);
- its app roles (``roles``, names in ENTRA_APP_ROLES) or groups (ENTRA_GROUP_ROLES) give the role;
  without one the sign-in is refused with a page that says so;
- with REQUIRE_MFA on, its ``amr`` must contain ``mfa``;
- the first sign-in adds the agent, a changed role applies at the next sign-in, each through the
  agent services (Add Agent, Update Agent Role); every refusal is a Sign In Failed entry.
"""

import logging
from urllib.parse import urlencode

import jwt
import requests
from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from activitylog.models import Action, ResourceType, Status
from activitylog.services import Origin, record, refusal_messages, refusal_reason
from portal.models import Agent

from . import services

log = logging.getLogger(__name__)

NO_ROLE = _("Your Microsoft account has no role in this portal. Ask your administrator to assign you one "
            "of the portal's app roles in Microsoft Entra ID, then sign in again.")
NO_MFA = _("Your Microsoft sign-in did not use multi-factor authentication, which this portal requires. "
           "Sign in again with multi-factor authentication.")
WRONG_TENANT = _("This Microsoft account does not belong to the partner's own tenant.")
DEACTIVATED = _("Your agent account in this portal is deactivated. Ask an Admin agent to reactivate it.")
NOT_VERIFIED = _("The answer from Microsoft could not be verified (it did not belong to this sign-in, was "
                 "used already, or was changed on the way). Nothing was signed in; start again.")
MICROSOFT_ERROR = _("Microsoft did not sign you in.")
UNREACHABLE = _("Microsoft's sign-in service did not answer. Nothing was signed in; try again in a minute.")


def entra_base() -> str:
    return f"{settings.MICROSOFT_LOGIN_URL}/{settings.ENTRA_TENANT_ID}"


def oidc_setting(attr: str, *args):
    """mozilla-django-oidc's settings, the Entra ones derived at each use from MICROSOFT_LOGIN_URL
    and ENTRA_TENANT_ID (so that the simulator can stand in for login.microsoftonline.com)."""
    derived = {
        "OIDC_RP_CLIENT_ID": lambda: settings.ENTRA_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": lambda: settings.ENTRA_CLIENT_SECRET,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": lambda: f"{entra_base()}/oauth2/v2.0/authorize",
        "OIDC_OP_TOKEN_ENDPOINT": lambda: f"{entra_base()}/oauth2/v2.0/token",
        "OIDC_OP_JWKS_ENDPOINT": lambda: f"{entra_base()}/discovery/v2.0/keys",
        # Entra puts roles and amr in the ID token only: the claims are the ID token's.
        "OIDC_OP_USER_ENDPOINT": lambda: None,
    }
    if attr in derived:
        return derived[attr]()
    return import_from_settings(attr, *args)


def role_from_claims(claims: dict) -> str | None:
    """The portal role the ID token's app roles (or groups) give: the first match in the order of
    ENTRA_APP_ROLES, then of ENTRA_GROUP_ROLES; None without one."""
    roles, groups = set(claims.get("roles") or ()), set(claims.get("groups") or ())
    for name, role in settings.ENTRA_APP_ROLES.items():
        if name in roles:
            return role
    for group, role in settings.ENTRA_GROUP_ROLES.items():
        if group in groups:
            return role
    return None


def record_refusal(request: HttpRequest, reason, who: str, actor: Agent | None = None) -> None:
    refusal = ValidationError(reason)
    record(action=Action.SIGN_IN, actor=actor, origin=Origin.from_request(request),
           resource_type=ResourceType.SIGN_IN, resource_id=who[:200], status=Status.FAILED,
           failure_reason=refusal_reason(refusal), failure_messages=refusal_messages(refusal),
           new_value={"method": "microsoft"})


class PasswordGuard(AxesStandaloneBackend):
    """axes' lockout check, for password sign-ins only: Sign in with Microsoft has nothing to guess,
    and a locked-out address must not keep the partner's staff from signing in with Microsoft."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if password is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class EntraBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(oidc_setting)

    def _verify_jws(self, payload, key):
        """The library checks the signature; here also the audience, the issuer and the times."""
        try:
            return jwt.decode(payload, key, algorithms=[self.OIDC_RP_SIGN_ALGO],
                              audience=settings.ENTRA_CLIENT_ID, issuer=f"{entra_base()}/v2.0",
                              options={"require": ["exp", "iat", "aud", "iss", "oid", "tid"]})
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from None

    def get_userinfo(self, access_token, id_token, payload):
        return payload

    def refuse(self, reason, claims: dict, actor: Agent | None = None) -> bool:
        self.request.entra_refusal = reason
        record_refusal(self.request, reason, who=claims.get("preferred_username") or claims.get("oid", ""),
                       actor=actor)
        return False

    def verify_claims(self, claims: dict) -> bool:
        if str(claims.get("tid", "")).lower() != settings.ENTRA_TENANT_ID.lower():
            return self.refuse(WRONG_TENANT, claims)
        if role_from_claims(claims) is None:
            return self.refuse(NO_ROLE, claims)
        if settings.REQUIRE_MFA and "mfa" not in (claims.get("amr") or ()):
            return self.refuse(NO_MFA, claims)
        return True

    def filter_users_by_claims(self, claims: dict):
        """The agent with this Entra object id; else an agent added in the portal with the same
        address and no Entra link yet, who is linked at this first sign-in."""
        linked = Agent.objects.filter(entra_object_id=claims["oid"])
        if linked.exists():
            return linked
        email = _email(claims)
        return Agent.objects.filter(email__iexact=email, entra_object_id__isnull=True) if email else linked

    def create_user(self, claims: dict) -> Agent:
        return services.add_agent(actor=None, email=_email(claims), role=role_from_claims(claims),
                                  full_name=claims.get("name", ""), entra_object_id=claims["oid"],
                                  origin=Origin.from_request(self.request))

    def update_user(self, user: Agent, claims: dict) -> Agent:
        if not user.is_active:
            self.refuse(DEACTIVATED, claims, actor=user)
            return user
        if user.entra_object_id is None:
            user.entra_object_id = claims["oid"]
            user.save(update_fields=["entra_object_id"])
        services.change_role(actor=None, agent=user, role=role_from_claims(claims),
                             origin=Origin.from_request(self.request))
        return user

    def get_user(self, user_id):
        """A deactivated agent's session ends at once, as with the password backend."""
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None


def _email(claims: dict) -> str:
    # The UPN in the partner's own tenant (tid checked), which its admins control; email only without one.
    return (claims.get("preferred_username") or claims.get("email") or "").strip().lower()


def entra_configured() -> bool:
    return bool(settings.ENTRA_CLIENT_ID)


class SignInWithMicrosoft(OIDCAuthenticationRequestView):
    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.OIDC_OP_AUTH_ENDPOINT = oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        self.OIDC_RP_CLIENT_ID = oidc_setting("OIDC_RP_CLIENT_ID")

    def get(self, request):
        if not entra_configured():
            raise Http404
        return super().get(request)


class MicrosoftCallback(OIDCAuthenticationCallbackView):
    """Where Microsoft sends the browser back. Any refusal is a page that says why (403); a state or
    nonce that does not match this browser's sign-in is refused the same way and logged."""

    get_settings = staticmethod(oidc_setting)

    def get(self, request):
        if not entra_configured():
            raise Http404
        try:
            return super().get(request)
        except (SuspiciousOperation, requests.HTTPError) as exc:
            # A state, nonce, code or token that does not fit this sign-in (Entra answers a code
            # that is not this browser's, or was redeemed already, with invalid_grant).
            log.warning("Sign in with Microsoft refused: %s", exc)
            request.entra_refusal = NOT_VERIFIED
            record_refusal(request, NOT_VERIFIED, who="")
            return self.login_failure()
        except requests.RequestException as exc:
            log.warning("Sign in with Microsoft: Microsoft did not answer: %s", exc)
            request.entra_refusal = UNREACHABLE
            return self.login_failure()

    def login_failure(self):
        reason = getattr(self.request, "entra_refusal", None)
        detail = ""
        if reason is None and self.request.GET.get("error"):
            reason, detail = MICROSOFT_ERROR, self.request.GET.get("error_description", "")[:500]
            record_refusal(self.request, MICROSOFT_ERROR, who="")
        return render(self.request, "registration/entra_refused.html",
                      {"reason": reason or NOT_VERIFIED, "detail": detail}, status=403)


def signed_in_with_microsoft(request: HttpRequest) -> bool:
    return request.session.get(BACKEND_SESSION_KEY, "") == "agents.entra.EntraBackend"


def microsoft_sign_out_url(request: HttpRequest) -> str:
    """Microsoft's sign-out, which comes back to the portal's sign-in page."""
    back = request.build_absolute_uri(reverse("login"))
    return f"{entra_base()}/oauth2/v2.0/logout?{urlencode({'post_logout_redirect_uri': back})}"


@login_not_required
def signed_out(request: HttpRequest) -> HttpResponse:
    """After signing out of the portal: the way to sign out of Microsoft as well."""
    return render(request, "registration/signed_out.html",
                  {"microsoft_sign_out": microsoft_sign_out_url(request) if entra_configured() else ""})
