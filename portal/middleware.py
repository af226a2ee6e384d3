import contextlib
import ipaddress
import re
import uuid

from django.conf import settings
from django.utils import translation

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _traced(sent: str) -> str:
    return sent if _SAFE_ID.match(sent) else str(uuid.uuid4())


class RequestIdMiddleware:
    """Give every request Partner Center's trace ids, echoed in the response and kept in the log.

    ``MS-RequestId`` names this one request, ``MS-CorrelationId`` the caller's larger operation.
    A sane id the caller sends is kept; a missing or malformed one is replaced by a new UUID.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = _traced(request.META.get("HTTP_MS_REQUESTID", ""))
        request.correlation_id = _traced(request.META.get("HTTP_MS_CORRELATIONID", ""))
        response = self.get_response(request)
        response["MS-RequestId"] = request.request_id
        response["MS-CorrelationId"] = request.correlation_id
        return response


def remember_language(response, language: str) -> None:
    """Keep the language in Django's language cookie, as its set_language view does."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def preferred_language(user) -> str:
    """The language a signed-in agent chose, or "" (then the cookie or Accept-Language decides)."""
    language = getattr(user, "language", "") if user.is_authenticated else ""
    return language if language in dict(settings.LANGUAGES) else ""


class AgentLanguageMiddleware:
    """A signed-in agent's stored language beats the cookie and the browser's Accept-Language.

    Runs after Django's LocaleMiddleware (which picked the language from the cookie or the
    browser) and the AuthenticationMiddleware. The response also leaves the agent's language in
    the cookie, so that the sign-in page after signing out stays in that language.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = preferred_language(request.user)
        if language and language != request.LANGUAGE_CODE:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        # Read again: the request may have signed the agent in or changed the preference.
        language = preferred_language(request.user)
        cookie = settings.LANGUAGE_COOKIE_NAME
        if language and request.COOKIES.get(cookie) != language and cookie not in response.cookies:
            remember_language(response, language)
        return response


class ClientAddressMiddleware:
    """Behind TRUSTED_PROXY_COUNT proxies, the client is the address the outermost trusted proxy saw:
    the Nth entry from the right of X-Forwarded-For. Entries left of it are the client's own claims
    and never used; with no trusted proxy the header is ignored altogether."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.proxies = settings.TRUSTED_PROXY_COUNT

    def __call__(self, request):
        if self.proxies:
            hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
            hops = [hop for hop in hops if hop]
            if len(hops) >= self.proxies:
                candidate = hops[-self.proxies]
                with contextlib.suppress(ValueError):  # not an address: keep the connection's
                    request.META["REMOTE_ADDR"] = str(ipaddress.ip_address(candidate))
        return self.get_response(request)
