"""A small HTTP toolkit for the simulator: requests, responses and a router (no framework needed)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs


class Request:
    def __init__(self, *, method: str, path: str, raw_query: str, headers, body: bytes, host: str,
                 prefix: str) -> None:
        self.method = method
        self.path = path                  # the full path, with the service's prefix
        self.raw_query = raw_query
        self.query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        self.headers = headers            # case-insensitive (http.client.HTTPMessage)
        self.body = body
        self.host = host
        self.prefix = prefix              # "/partnercenter", "/management", "/graph", "/login" or ""
        self.base = f"https://{host}"
        self.tenant: str | None = None    # for the journal: the tenant the call acted for
        self.principal: dict | None = None

    @property
    def local_path(self) -> str:
        """The path after the service's prefix: Microsoft's own path."""
        return self.path[len(self.prefix):] or "/"

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def json(self, error: Callable[[str], Exception]):
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise error(f"The request body is not valid JSON: {exc}") from exc

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace"),
                                             keep_blank_values=True).items()}


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    data: object = None                   # the JSON document, kept for the unknown_enum fault

    def header(self, name: str, value: str) -> Response:
        self.headers.append((name, value))
        return self


def json_response(status: int, data, headers: dict[str, str] | None = None) -> Response:
    response = Response(status=status, body=json.dumps(data).encode(), data=data)
    for name, value in (headers or {}).items():
        response.header(name, value)
    return response


def empty_response(status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(status=status, content_type=None)
    for name, value in (headers or {}).items():
        response.header(name, value)
    return response


def html_response(status: int, html: str) -> Response:
    return Response(status=status, body=html.encode(), content_type="text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return Response(status=302, content_type=None, headers=[("Location", location)])


class HttpError(Exception):
    """Raised by a handler to answer with an error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


Handler = Callable[..., Response]


class Router:
    """Routes (method, path regex) to handlers; path groups become keyword arguments."""

    def __init__(self, *, ignore_case: bool = False) -> None:
        self.routes: list[tuple[str, re.Pattern, Handler]] = []
        self.flags = re.IGNORECASE if ignore_case else 0

    def route(self, methods: str, pattern: str):
        def register(handler: Handler) -> Handler:
            for method in methods.split(","):
                self.routes.append((method, re.compile(f"^{pattern}$", self.flags), handler))
            return handler
        return register

    def match(self, method: str, path: str) -> tuple[Handler | None, dict, bool]:
        """The handler and its arguments; the last item says whether the path exists for another method."""
        path_known = False
        for route_method, pattern, handler in self.routes:
            found = pattern.match(path)
            if found:
                path_known = True
                if route_method == method:
                    return handler, found.groupdict(), True
        return None, {}, path_known


def new_guid() -> str:
    return str(uuid.uuid4())


def dispatch(router: Router, sim, req: Request, *, not_found: Callable[[], Response],
             not_allowed: Callable[[], Response] | None = None) -> Response:
    handler, kwargs, path_known = router.match(req.method, req.local_path)
    if handler is None:
        return (not_allowed or not_found)() if path_known else not_found()
    return handler(sim, req, **kwargs)
