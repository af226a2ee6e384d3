"""What every /v1 endpoint shares: bearer sign-in, rate limit, JSON bodies and JSON errors."""

import datetime as dt
import json
import logging
from collections.abc import Callable
from functools import wraps
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from .errors import ApiError, bad_request, error_response
from .models import ApiToken
from .ratelimit import retry_after
from .services import note_use

logger = logging.getLogger(__name__)

Handler = Callable[..., HttpResponse]


def json_response(data, status: HTTPStatus = HTTPStatus.OK, headers=None) -> JsonResponse:
    return JsonResponse(data, status=status, headers=headers, safe=False,
                        json_dumps_params={"ensure_ascii": False})


def json_time(moment: dt.datetime | None) -> str | None:
    """UTC, ISO 8601 with a Z, as Partner Center writes times."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _bearer(request: HttpRequest) -> ApiToken | None:
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return ApiToken.objects.find(raw.strip())


def _authenticate(request: HttpRequest) -> None:
    token = _bearer(request)
    if token is None:
        raise ApiError(
            HTTPStatus.UNAUTHORIZED, "unauthorized",
            _("Send a valid personal API token as 'Authorization: Bearer <token>'. "
              "Revoked, expired and unknown tokens are refused."),
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    wait = retry_after(token.pk)
    if wait is not None:
        raise ApiError(
            HTTPStatus.TOO_MANY_REQUESTS, "rate_limited",
            _("Too many requests with this token. Retry after %(seconds)s seconds.") % {"seconds": wait},
            headers={"Retry-After": str(wait)},
        )
    note_use(token)
    # The token acts as its owner; a session cookie sent along is ignored.
    request.user = token.owner
    request.api_token = token


def _refusal(exc: PermissionDenied | ValidationError) -> ApiError:
    if isinstance(exc, PermissionDenied):
        return ApiError(HTTPStatus.FORBIDDEN, "forbidden",
                        str(exc) or _("Your role does not allow this."))
    messages = exc.messages
    codes = {error.code for error in exc.error_list} if hasattr(exc, "error_list") else set()
    code = "customer_not_ready" if "not_ready" in codes else "invalid_request"
    return bad_request(code, " ".join(messages), messages)


def endpoint(*, public: bool = False, **handlers: Handler) -> Handler:
    """One URL of the API, with a handler per HTTP method (GET=..., PUT=...)."""
    allowed = sorted(handlers)

    @login_not_required
    @csrf_exempt
    @never_cache
    @wraps(next(iter(handlers.values())))
    def view(request: HttpRequest, **kwargs) -> HttpResponse:
        try:
            handler = handlers.get(request.method)
            if handler is None:
                raise ApiError(
                    HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed",
                    _("Use one of: %(methods)s.") % {"methods": ", ".join(allowed)},
                    headers={"Allow": ", ".join(allowed)},
                )
            if not public:
                _authenticate(request)
            if any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
                raise bad_request("invalid_query", _("The query string must not contain NUL characters."))
            try:
                return handler(request, **kwargs)
            except (PermissionDenied, ValidationError) as exc:
                raise _refusal(exc) from exc
        except ApiError as exc:
            return exc.response()
        except Http404:
            return error_response(HTTPStatus.NOT_FOUND, "not_found", _("Not found."))
        except SuspiciousOperation:  # e.g. more query parameters than Django parses
            return error_response(HTTPStatus.BAD_REQUEST, "invalid_request",
                                  _("The request is malformed or too large."))
        except Exception:
            # A last resort: the fuzz test keeps this path unused.
            logger.exception("Unhandled error in %s %s", request.method, request.path)
            return error_response(
                HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error",
                _("Something went wrong on our side. Read the resource again before you retry."))

    view.allowed_methods = allowed
    view.public = public
    return view


def read_json(request: HttpRequest) -> dict:
    """The request's JSON object body, or an ApiError a caller can act on (415, 413, 400)."""
    content_type = request.content_type or ""
    if content_type.lower() != "application/json":
        raise ApiError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                       _("Send the body as JSON with 'Content-Type: application/json'."))
    limit = settings.API_MAX_BODY_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    too_big = ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload_too_large",
                       _("The body may be at most %(limit)s bytes.") % {"limit": limit})
    if length > limit:
        raise too_big
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_big from None
    if len(body) > limit:
        raise too_big
    try:
        data = json.loads(body.decode(request.encoding or "utf-8"))
    except (UnicodeDecodeError, LookupError, ValueError, RecursionError):
        raise bad_request("malformed_json", _("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise bad_request("malformed_json", _("The body must be a JSON object."))
    return data
