"""Access tokens from the Microsoft identity platform, through MSAL.

- App-only (client credentials) where Microsoft allows it: Partner Center's customer, subscription and
  azureEntitlements reads (MICROSOFT.md §0 "Which calls allow app-only").
- App+User (the Secure Application Model refresh token) where Microsoft requires it: SelfServePolicy;
  and for Azure Resource Manager and Microsoft Graph in each customer's own tenant, where the partner's
  access comes through its Admin agents (AOBO / GDAP), i.e. a user. Without a stored refresh token the
  customer-tenant tokens fall back to app-only.

A refresh token Microsoft rotates is kept (encrypted, microsoft.credentials) and never logged.
"""

import importlib.util
import random
import sys
import threading
import time
from collections import OrderedDict

import msal
from django.conf import settings

from . import credentials
from .client import (
    AZURE_MANAGEMENT,
    MICROSOFT_GRAPH,
    PARTNER_CENTER,
    TRANSPORT_ERRORS,
    CredentialsRefused,
    MicrosoftError,
    UnavailableError,
)

# MSAL looks for its optional msal-extensions package each time it builds an application (one per customer
# tenant): a failed import, i.e. a search of every sys.path entry, per customer. Not installed: say so once.
if importlib.util.find_spec("msal_extensions") is None:
    sys.modules.setdefault("msal_extensions", None)

# Invalid_grant and its relatives: the refresh token is expired, revoked or lacks MFA; a person must act.
REFUSED_CREDENTIALS = {"invalid_grant", "interaction_required", "invalid_client", "unauthorized_client"}


# Access tokens outlive one sync (an hour; the sync runs every 15 minutes): kept for the process, newest
# last, the oldest forgotten past MICROSOFT_TOKEN_CACHE_SIZE. Keyed by where they came from and for what.
_TOKENS: OrderedDict[tuple, tuple[str, float]] = OrderedDict()
_TOKENS_LOCK = threading.Lock()


def forget_all() -> None:
    """New credentials: no token obtained with the old ones is used again."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


class Tokens:
    def __init__(self, *, session, keep_apps: int = 64):
        self.session = session
        self.partner_tenant = settings.PARTNER_TENANT_ID
        self.login_url = settings.MICROSOFT_LOGIN_URL
        self._apps: OrderedDict[str, msal.ConfidentialClientApplication] = OrderedDict()
        self._keep_apps = keep_apps
        self._keep_tokens = getattr(settings, "MICROSOFT_TOKEN_CACHE_SIZE", 20000)
        self._lock = threading.Lock()
        # Read once, in the thread that builds the client: fetching threads never touch the database.
        self._refresh_token: str = credentials.refresh_token() or ""
        self.rotated = False

    def _app(self, tenant: str) -> msal.ConfidentialClientApplication:
        with self._lock:
            app = self._apps.pop(tenant, None)
        if app is None:
            if not settings.MICROSOFT_APP_ID or not settings.MICROSOFT_APP_SECRET:
                raise CredentialsRefused("MICROSOFT_APP_ID and MICROSOFT_APP_SECRET are not set.",
                                         code="not_configured")
            try:
                app = msal.ConfidentialClientApplication(
                    settings.MICROSOFT_APP_ID, client_credential=settings.MICROSOFT_APP_SECRET,
                    authority=f"{self.login_url}/{tenant}", http_client=self.session,
                    # A stand-in's host is not one Microsoft knows; live hosts need no discovery either.
                    instance_discovery=False,
                )
            except ValueError as exc:
                raise MicrosoftError(f"The identity platform for tenant {tenant} cannot be used: {exc}",
                                     code="authority") from None
            # No answer to its discovery request, or a 5xx (MsalServiceError): left to _ask, which retries.
        with self._lock:
            self._apps[tenant] = app
            while len(self._apps) > self._keep_apps:
                self._apps.popitem(last=False)
        return app

    def _key(self, tenant: str, resource: str, kind: str) -> tuple:
        return (self.login_url, settings.MICROSOFT_APP_ID, tenant.lower(), resource, kind)

    def _cached_token(self, key) -> str | None:
        with _TOKENS_LOCK:
            found = _TOKENS.get(key)
        if found and found[1] > time.monotonic() + 120:
            return found[0]
        return None

    def _keep(self, key, result: dict) -> str:
        token = result["access_token"]
        expires = time.monotonic() + float(result.get("expires_in", 300))
        with _TOKENS_LOCK:
            _TOKENS.pop(key, None)
            _TOKENS[key] = (token, expires)
            while len(_TOKENS) > self._keep_tokens:
                _TOKENS.popitem(last=False)
        return token

    @staticmethod
    def _check(result: dict, tenant: str) -> dict:
        if "access_token" in result:
            return result
        error = result.get("error", "")
        codes = result.get("error_codes") or []
        description = result.get("error_description", "")
        first_line = description.splitlines()[0] if description else ""
        message = f"The identity platform refused the request for tenant {tenant}: {error}. {first_line}"
        kind = CredentialsRefused if error in REFUSED_CREDENTIALS else MicrosoftError
        raise kind(message.strip(), status=400, code=f"{error} {codes[0]}" if codes else error,
                   request_id=result.get("correlation_id", ""))

    def app_only(self, tenant: str, resource: str) -> str:
        key = self._key(tenant, resource, "app")
        token = self._cached_token(key)
        if token:
            return token
        scopes = [f"{resource}/.default"]
        result = self._ask(tenant, lambda: self._app(tenant).acquire_token_for_client(scopes=scopes))
        return self._keep(key, self._check(result, tenant))

    def _ask(self, tenant: str, call) -> dict:
        """One token request, retried (bounded, with jitter) on a dropped connection, a timeout, a 5xx
        (MSAL raises MsalServiceError for one, from the token endpoint or the discovery document) or a
        non-JSON answer; then UnavailableError.

        After a 5xx the tenant's application is forgotten: MSAL keeps a 5xx answer (for its Retry-After,
        else 5 s) and would hand the retry that same answer without asking."""
        for attempt in range(settings.MICROSOFT_MAX_RETRIES + 1):
            try:
                return call()
            except (*TRANSPORT_ERRORS, msal.exceptions.MsalServiceError, ValueError) as exc:
                failure = exc
                if isinstance(exc, msal.exceptions.MsalServiceError):
                    with self._lock:
                        self._apps.pop(tenant, None)
                time.sleep(min(30.0, getattr(settings, "MICROSOFT_BACKOFF_SECONDS", 1.0) * 2 ** attempt)
                           * random.uniform(0.5, 1.5))  # noqa: S311
        raise UnavailableError(f"No usable answer from the identity platform ({type(failure).__name__}).",
                               url=self.login_url)

    def refresh_token(self) -> str:
        if not self._refresh_token:
            raise CredentialsRefused(
                "No App+User refresh token is stored: run manage.py connect_microsoft.",
                code="no_refresh_token")
        return self._refresh_token

    def app_user(self, tenant: str, resource: str) -> str:
        key = self._key(tenant, resource, "user")
        token = self._cached_token(key)
        if token:
            return token
        refresh_token = self.refresh_token()
        result = self._ask(tenant, lambda: self._app(tenant).acquire_token_by_refresh_token(
            refresh_token, scopes=[f"{resource}/.default"]))
        result = self._check(result, tenant)
        rotated = result.get("refresh_token")
        with self._lock:
            if rotated and rotated != self._refresh_token:
                self._refresh_token, self.rotated = rotated, True
        return self._keep(key, result)

    def customer(self, tenant: str, resource: str) -> str:
        """A token for ARM or Graph in the customer's own tenant."""
        if self._refresh_token:
            return self.app_user(tenant, resource)
        return self.app_only(tenant, resource)

    def forget(self, url: str) -> None:
        """Drop cached access tokens for the service at url after a 401, so the retry asks anew."""
        resource = (PARTNER_CENTER if url.startswith(settings.PARTNER_CENTER_URL)
                    else MICROSOFT_GRAPH if url.startswith(settings.MICROSOFT_GRAPH_URL)
                    else AZURE_MANAGEMENT)
        with _TOKENS_LOCK:
            for key in [key for key in _TOKENS if key[3] == resource]:
                del _TOKENS[key]

    def save_rotated(self) -> None:
        """Keep the newest refresh token Microsoft handed out (once per sync, not once per call)."""
        if self.rotated and self._refresh_token:
            credentials.store_refresh_token(self._refresh_token, redeemed=True)
            self.rotated = False
