"""Partner Center's seek paging: an opaque, signed continuation token sent back in a header.

The token carries the query and the keyset of the last item returned, so a later page starts
strictly after it whatever was written meanwhile, and cannot be altered by the caller.
"""

from django.core import signing
from django.http import HttpRequest
from django.utils.translation import gettext as _

from .errors import bad_request

HEADER = "MS-ContinuationToken"
_SALT = "api.continuation"


def continuation_token(kind: str, query: dict, after) -> str:
    return signing.dumps({"kind": kind, "query": query, "after": after}, salt=_SALT, compress=True)


def continuation(request: HttpRequest, kind: str) -> tuple[dict, object] | None:
    """(query, keyset) from the request's continuation token, None without one, 400 if it is bad."""
    token = request.headers.get(HEADER)
    if not token:
        return None
    try:
        state = signing.loads(token, salt=_SALT)
    except (signing.BadSignature, ValueError, UnicodeError):
        state = None
    if not isinstance(state, dict) or state.get("kind") != kind:
        raise bad_request("invalid_continuation_token",
                          _("The continuation token is not one this endpoint issued. "
                            "Start again without MS-ContinuationToken."))
    return state["query"], state["after"]


def collection(items: list, *, path: str, token: str | None) -> dict:
    """A page in Partner Center's collection shape, with the next page's link when there is one."""
    body = {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}
    if token is not None:
        body["continuationToken"] = token
        body["links"] = {"next": {"uri": path, "method": "GET",
                                  "headers": [{"key": HEADER, "value": token}]}}
    return body


def page_size(request: HttpRequest, *, default: int, maximum: int) -> int:
    raw = request.GET.get("size")
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise bad_request("invalid_size",
                          _("size must be a whole number from 1 to %(max)s.") % {"max": maximum})
    return int(raw)


def seek(ordered, *, size: int, kind: str, query: dict, keyset) -> tuple[list, str | None]:
    """One page of an ordered queryset, and the token for the next page when there is one."""
    page = list(ordered[: size + 1])
    items = page[:size]
    token = continuation_token(kind, query, keyset(items[-1])) if len(page) > size else None
    return items, token
