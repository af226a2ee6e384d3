"""The portal's one client for Microsoft: Partner Center, Azure Resource Manager, Microsoft Graph.

The same code talks to Microsoft and to the simulator; only the four base URLs (settings) and the
credentials differ. It paces itself below Microsoft's documented limits (a token bucket per partner
tenant for Partner Center, one per Azure subscription for ARM), honours Retry-After on a 429, backs off
with jitter on 5xx, timeouts and dropped connections, bounds its retries, and turns every answer it
cannot use into a typed error that says what came back (MICROSOFT.md §0-§2).
"""

import io
import json
import logging
import os
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urljoin, urlsplit

import certifi
import pycurl
from django.conf import settings
from requests.utils import get_auth_from_url, get_encoding_from_headers, get_environ_proxies, select_proxy
from urllib3 import HTTPHeaderDict

logger = logging.getLogger(__name__)

# Resource identifiers (token audiences); they stay Microsoft's whatever host serves the API.
PARTNER_CENTER = "https://api.partnercenter.microsoft.com"
AZURE_MANAGEMENT = "https://management.azure.com"
MICROSOFT_GRAPH = "https://graph.microsoft.com"
ROLE_ASSIGNMENTS_API_VERSION = "2022-04-01"


# --- errors ---------------------------------------------------------------------------------------

class MicrosoftError(Exception):
    """An answer from Microsoft the portal cannot use; carries what Microsoft said about it."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "", request_id: str = "",
                 url: str = ""):
        super().__init__(message)
        self.message, self.status, self.code = message, status, code
        self.request_id, self.url = request_id, url

    def __str__(self) -> str:
        return self.message


class MalformedResponse(MicrosoftError):
    """Not the JSON Microsoft documents: an HTML page from a proxy, truncated JSON, a missing field."""


class ThrottledError(MicrosoftError):
    """Still answered 429 after the bounded retries; ``retry_after`` is Microsoft's Retry-After (s)."""

    retry_after: float | None = None


class UnavailableError(MicrosoftError):
    """5xx, timeouts or dropped connections after the bounded retries."""


class CredentialsRefused(MicrosoftError):
    """The identity platform refused the credentials (invalid_grant: expired refresh token, no MFA)."""


# --- pacing -----------------------------------------------------------------------------------------

class TokenBucket:
    """Take one token per request; refills at ``rate`` a second up to ``capacity``. Thread-safe."""

    def __init__(self, *, rate: float, capacity: float, sleep: Callable[[float], None] = time.sleep):
        self.rate, self.capacity, self._sleep = rate, capacity, sleep
        self._tokens, self._at = capacity, time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Wait until a token is free; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait:
            self._sleep(wait)
        return wait


class Buckets:
    """One bucket per key (a tenant, a subscription), the least recently used forgotten past ``keep``."""

    def __init__(self, *, rate: float, capacity: float, keep: int = 4096):
        self.rate, self.capacity, self.keep = rate, capacity, keep
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        with self._lock:
            bucket = self._buckets.pop(key, None) or TokenBucket(rate=self.rate, capacity=self.capacity)
            self._buckets[key] = bucket
            while len(self._buckets) > self.keep:
                self._buckets.popitem(last=False)
        return bucket.take()


@dataclass
class Stats:
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class HTTPStatusError(Exception):
    """raise_for_status() on a 4xx or 5xx answer."""

    def __init__(self, response: "Response"):
        super().__init__(f"HTTP {response.status_code} from {response.url}")
        self.response = response


class Response:
    """An answer, read whole before it is returned (a cut body is a dropped connection, not a short
    read later): what the portal and MSAL read of it, under requests' names."""

    __slots__ = ("status_code", "headers", "content", "url", "_text")

    def __init__(self, status_code: int, headers, content: bytes, url: str):
        self.status_code, self.headers, self.content, self.url = status_code, headers, content, url
        self._text = None

    @property
    def text(self) -> str:
        """The body decoded by the charset the Content-Type names (as requests reads it), else UTF-8."""
        if self._text is None:
            charset = get_encoding_from_headers(self.headers) or "utf-8"
            try:
                self._text = self.content.decode(charset, errors="replace")
            except LookupError:  # a charset Python does not know
                self._text = self.content.decode("utf-8", errors="replace")
        return self._text

    def json(self):
        """The parsed JSON; ValueError when the body is not JSON."""
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise HTTPStatusError(self)


class TransportError(Exception):
    """No usable answer at the transport's level (libcurl's error ``code``); a bug of ours (a malformed
    URL, an option libcurl refuses) is one and is not retried."""

    def __init__(self, message: str, code: int = 0):
        super().__init__(message)
        self.code = code


class ConnectionDropped(TransportError):
    """No (whole) answer: the connection refused, reset, or closed before the body's end; no reply."""


class TimedOut(ConnectionDropped):
    """No answer within MICROSOFT_TIMEOUT_SECONDS (connecting, or the whole request)."""


class TLSError(ConnectionDropped):
    """The TLS handshake failed: cut by the network, or a certificate the CA bundle does not vouch for.
    Retried (bounded) like any dropped connection: the former heals, the latter ends as unavailable."""


# What the transport raises, and the part of it that means "no (whole) answer", retried by the loops.
TRANSPORT_ERRORS = (TransportError,)
DROPPED = (ConnectionDropped,)
# libcurl's error codes (CURLE_*) that are bugs of ours rather than the network's: not retried.
_NOT_THE_NETWORK = {1, 2, 3, 4, 43, 48}
_TIMED_OUT = {28}
_TLS = {35, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98}


def _transport_error(exc: "pycurl.error") -> TransportError:
    code, message = (exc.args + (0, ""))[:2]
    kind = (TransportError if code in _NOT_THE_NETWORK else TimedOut if code in _TIMED_OUT
            else TLSError if code in _TLS else ConnectionDropped)
    return kind(f"{message} (libcurl error {code})", code=code)


class CountingSession:
    """The portal's HTTP client for Microsoft, on libcurl (pycurl); counts every request it sends
    (MSAL's token requests included: it is MSAL's http_client too).

    Why libcurl: a first sync makes about eight HTTPS requests per customer, and Python's own HTTP stack
    (http.client under urllib3 and requests) spends 0.2 ms of CPU on each (0.5 through requests), most of
    it parsing headers with the email package; libcurl does the whole exchange in C with the GIL released,
    0.07 ms. Each thread has its own handle (libcurl handles are not shared between threads), which keeps
    its connections alive between requests. Which proxy (HTTPS_PROXY / NO_PROXY) a host goes through is
    worked out once per host and given to libcurl explicitly (it reads no environment itself then). No
    retries (the client's loop retries) and no redirects (Microsoft's APIs answer none; a 3xx is an answer
    the loop cannot use). The body is read whole before the answer is returned: a connection closed before
    the Content-Length arrived is ConnectionDropped, never a short body parsed later."""

    def __init__(self, stats: Stats, *, ca_bundle: str, timeout: float):
        self.stats = stats
        self.headers = {"User-Agent": "csp-partner-portal"}
        self.timeout_ms = max(1, int(timeout * 1000))
        self._ca = (pycurl.CAPATH if os.path.isdir(ca_bundle) else pycurl.CAINFO, ca_bundle)
        self._local = threading.local()
        self._handles: list[pycurl.Curl] = []
        self._proxies: dict[str, tuple[str, str]] = {}  # "scheme://host[:port]" -> (proxy, user:password)
        self._lock = threading.Lock()

    def _handle(self) -> "pycurl.Curl":
        curl = getattr(self._local, "curl", None)
        if curl is None:
            curl = self._local.curl = pycurl.Curl()
            with self._lock:
                self._handles.append(curl)
        else:
            curl.reset()  # options only: the handle's live connections stay
        return curl

    def _proxy(self, url: str) -> tuple[str, str]:
        """The proxy (without its credentials) and "user:password" for url's host, from the environment
        as requests reads it; ("", "") when the host is reached directly."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._proxies.get(origin)
        if found is None:
            proxy, userpwd = select_proxy(origin + "/", get_environ_proxies(origin + "/")) or "", ""
            if proxy:
                proxied = urlsplit(proxy if "://" in proxy else "http://" + proxy)
                if proxied.username:
                    userpwd = ":".join(get_auth_from_url(proxied.geturl()))
                proxy = proxied._replace(netloc=proxied.netloc.rpartition("@")[2]).geturl()
            found = self._proxies[origin] = (proxy, userpwd)
        return found

    def request(self, method: str, url: str, *, params: dict | None = None, data=None, json_body=None,
                headers: dict | None = None, timeout=None, fresh: bool = False, **ignored) -> Response:
        """One request and its whole answer. ``data``: a dict (form-encoded) or a string; ``params``: a
        dict for the query string; a header or field whose value is None is not sent (MSAL's contract).

        ``fresh``: on a connection of its own, closed after it. libcurl sends a request again, once, on a
        new connection when a kept-alive one was lost without any answer (the server had closed it while
        idle, most often); that is right for a read or a token request, never for a change sent to
        Microsoft, which must leave exactly once (the outbox decides what happens after a lost answer)."""
        self.stats.add(requests=1)
        sent = dict(self.headers)
        if headers:
            sent.update((name, value) for name, value in headers.items() if value is not None)
        body = None
        if json_body is not None:
            body = json.dumps(json_body, allow_nan=False).encode()
            sent.setdefault("Content-Type", "application/json")
        elif isinstance(data, dict):
            body = urlencode({k: v for k, v in data.items() if v is not None}, doseq=True).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        if params:
            url += ("&" if "?" in url else "?") + urlencode(
                {k: v for k, v in params.items() if v is not None}, doseq=True)
        if isinstance(timeout, tuple):
            timeout = sum(timeout)
        curl = self._handle()
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.NOSIGNAL, 1)  # threads: no SIGALRM for timeouts
        curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTPS | pycurl.PROTO_HTTP)
        curl.setopt(*self._ca)
        curl.setopt(pycurl.TIMEOUT_MS, self.timeout_ms if timeout is None else max(1, int(timeout * 1000)))
        curl.setopt(pycurl.ACCEPT_ENCODING, "")  # whatever libcurl decodes (gzip, deflate, br), decoded
        if fresh:
            curl.setopt(pycurl.FRESH_CONNECT, 1)
            curl.setopt(pycurl.FORBID_REUSE, 1)
        proxy, userpwd = self._proxy(url)
        curl.setopt(pycurl.PROXY, proxy)  # "" : no proxy, whatever the environment says
        if userpwd:
            curl.setopt(pycurl.PROXYUSERPWD, userpwd)
        # "Expect:": no 100-continue round trip before a body.
        curl.setopt(pycurl.HTTPHEADER, [f"{name}: {value}" for name, value in sent.items()] + ["Expect:"])
        if method == "GET":
            curl.setopt(pycurl.HTTPGET, 1)
        elif method == "HEAD":
            curl.setopt(pycurl.NOBODY, 1)
        else:
            if method != "POST":
                curl.setopt(pycurl.CUSTOMREQUEST, method)
            curl.setopt(pycurl.POSTFIELDS, body or b"")
        received, lines = io.BytesIO(), []
        curl.setopt(pycurl.WRITEDATA, received)
        curl.setopt(pycurl.HEADERFUNCTION, lines.append)
        try:
            curl.perform()
        except pycurl.error as exc:
            raise _transport_error(exc) from None
        return Response(curl.getinfo(pycurl.RESPONSE_CODE), _headers(lines), received.getvalue(), url)

    def get(self, url: str, params: dict | None = None, headers: dict | None = None, **kwargs) -> Response:
        return self.request("GET", url, params=params, headers=headers, **kwargs)

    def post(self, url: str, params: dict | None = None, data=None, headers: dict | None = None,
             **kwargs) -> Response:
        return self.request("POST", url, params=params, data=data, headers=headers, **kwargs)

    def close(self) -> None:
        with self._lock:
            for curl in self._handles:
                curl.close()
            self._handles.clear()
        self._local = threading.local()


def _headers(lines: list[bytes]) -> HTTPHeaderDict:
    """The last answer's headers (after a proxy's "200 Connection established", say), case-insensitive."""
    found = HTTPHeaderDict()
    for raw in lines:
        line = raw.decode("iso-8859-1").rstrip("\r\n")
        if line.startswith("HTTP/"):
            found = HTTPHeaderDict()
        elif ":" in line:
            name, _, value = line.partition(":")
            found.add(name.strip(), value.strip())
    return found


def ca_bundle() -> str:
    """The CA bundle to trust: REQUESTS_CA_BUNDLE / SSL_CERT_FILE (setting or environment), else
    certifi's (what requests trusted)."""
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = getattr(settings, name, None) or os.environ.get(name)
        if value:
            return value
    return certifi.where()


def new_session(stats: Stats) -> CountingSession:
    return CountingSession(stats, ca_bundle=ca_bundle(), timeout=settings.MICROSOFT_TIMEOUT_SECONDS)


def pc_scope(url: str) -> str:
    """The Partner Center throttle scope a request counts against (MICROSOFT.md §0): the Customer
    resource (the customer list, one customer) and the Subscription resource (a customer's subscriptions
    and everything under them, azureEntitlements included) each have their own documented 500 requests a
    minute per tenant; orders and the other endpoints publish no number and are paced apart, each at the
    same pace, so that none of them eats into the documented two."""
    path = urlsplit(url).path.lower()
    marker = path.find("/v1/")
    parts = path[marker + 4:].split("/") if marker >= 0 else path.strip("/").split("/")
    if parts[0] == "customers":
        if len(parts) <= 2:
            return "customer"
        return "subscription" if parts[2] == "subscriptions" else parts[2]
    return parts[0] or "other"


# --- the client -----------------------------------------------------------------------------------

RETRY_STATUSES = {408, 500, 502, 503, 504}


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _error_details(response: Response) -> tuple[str, str]:
    """Microsoft's error code and description from a PC, ARM, Graph or Entra error body."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    if isinstance(body.get("error"), dict):  # ARM and Graph: {"error": {"code", "message"}}
        return str(body["error"].get("code", "")), str(body["error"].get("message", ""))
    if isinstance(body.get("error"), str):  # Entra: {"error", "error_description"}
        return body["error"], str(body.get("error_description", ""))
    return str(body.get("code", body.get("statusCode", ""))), str(
        body.get("description", body.get("message", "")))


def _looks_like_html(response: Response) -> bool:
    content_type = response.headers.get("Content-Type", "").lower()
    return "html" in content_type or response.text.lstrip()[:1] == "<"


def parse_json(response: Response, *, request_id: str = "") -> dict:
    """The JSON object of a response, or MalformedResponse saying what came instead."""
    url = response.url
    if _looks_like_html(response):
        raise MalformedResponse(
            f"Microsoft answered with an HTML page (HTTP {response.status_code}), not JSON: "
            "a proxy or gateway may be in the way.",
            status=response.status_code, request_id=request_id, url=url)
    try:
        body = response.json()
    except ValueError:
        raise MalformedResponse(
            f"Microsoft's answer is not valid JSON (HTTP {response.status_code}, "
            f"{len(response.content)} bytes; truncated?).",
            status=response.status_code, request_id=request_id, url=url) from None
    if not isinstance(body, dict):
        raise MalformedResponse("Microsoft's answer is JSON but not an object.",
                                status=response.status_code, request_id=request_id, url=url)
    return body


def require(item: dict, *path: str, where: str = "", request_id: str = ""):
    """item[path[0]][path[1]]...; MalformedResponse naming the missing field when it is not there."""
    value = item
    for key in path:
        if not isinstance(value, dict) or value.get(key) in (None, ""):
            raise MalformedResponse(
                f"Microsoft's answer{f' for {where}' if where else ''} lacks the field "
                f"{'.'.join(path)}.", request_id=request_id)
        value = value[key]
    return value


@dataclass(frozen=True)
class Answer:
    """A whole answer: its status, its JSON and its headers (case-insensitive)."""

    status: int
    data: dict
    headers: object


class MicrosoftClient:
    """HTTP to the four Microsoft services, with tokens from ``tokens`` (microsoft.tokens.Tokens)."""

    def __init__(self, *, tokens, stats: Stats | None = None, session: CountingSession | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.stats = stats or getattr(session, "stats", None) or Stats()
        self.session = session or new_session(self.stats)
        self.tokens = tokens
        self._sleep = sleep
        self.partner_center_url = settings.PARTNER_CENTER_URL
        self.management_url = settings.AZURE_MANAGEMENT_URL
        self.graph_url = settings.MICROSOFT_GRAPH_URL
        per_minute = settings.MICROSOFT_PC_REQUESTS_PER_MINUTE
        # Partner Center: a smooth pace (a burst of one second's worth) per partner tenant and throttle
        # scope (pc_scope), below the documented 500 a minute. Over any minute a bucket lets through at most
        # capacity + 60 × rate (8 + 480 by default), so a sliding 60-second window of 500 is never hit.
        self._pc_buckets = Buckets(rate=per_minute / 60.0, capacity=max(1.0, per_minute / 60.0))
        arm_rate = settings.MICROSOFT_ARM_READS_PER_SECOND if per_minute > 0 else 0
        self._arm_buckets = Buckets(rate=arm_rate, capacity=settings.MICROSOFT_ARM_READS_BURST)
        self.max_retries = settings.MICROSOFT_MAX_RETRIES
        self.backoff = getattr(settings, "MICROSOFT_BACKOFF_SECONDS", 1.0)
        self.correlation_id = str(uuid.uuid4())

    # -- the one request loop --

    def request(self, method: str, url: str, *, token: Callable[[], str], pace: Callable[[], float],
                headers: dict | None = None, json_body=None, idempotent: bool = True,
                request_id: str | None = None, correlation_id: str | None = None, full: bool = False):
        """Send, retrying what is worth retrying; the parsed JSON object (or {} for 204).

        ``request_id`` (MS-RequestId) is a new one unless given: the outbox sends its change's own on
        every attempt; ``correlation_id`` (MS-CorrelationId) is the client's unless given. With ``full``, an
        Answer (status, data, headers): a 202's Azure-AsyncOperation and Retry-After (issue 13).
        """
        request_id = request_id or str(uuid.uuid4())  # kept across retries: Partner Center's idempotency key
        correlation_id = correlation_id or self.correlation_id
        attempt = 0
        while True:
            self.stats.add(waited_seconds=pace())
            sent = {"Authorization": f"Bearer {token()}", "Accept": "application/json",
                    "MS-RequestId": request_id, "MS-CorrelationId": correlation_id,
                    "MS-PartnerCenter-Application": "csp-partner-portal", **(headers or {})}
            wait, failure = None, None
            try:
                response = self.session.request(method, url, headers=sent, json_body=json_body,
                                                fresh=not idempotent)
            except DROPPED as exc:
                failure = UnavailableError(
                    f"No answer from Microsoft ({type(exc).__name__}).", request_id=request_id, url=url)
            else:
                if response.status_code == 429:
                    self.stats.add(throttled=1)
                    wait = _retry_after(response)
                    failure = ThrottledError("Microsoft is throttling the portal (HTTP 429).",
                                             status=429, request_id=request_id, url=url)
                    failure.retry_after = wait
                elif response.status_code == 401 and attempt == 0:
                    self.tokens.forget(url)
                    failure = MicrosoftError("Microsoft refused the access token (HTTP 401).",
                                             status=401, request_id=request_id, url=url)
                elif response.status_code in RETRY_STATUSES:
                    code, description = _error_details(response)
                    kind = MalformedResponse if _looks_like_html(response) else UnavailableError
                    text = (f"Microsoft answered with an HTML page (HTTP {response.status_code}), not JSON: "
                            "a proxy or gateway may be in the way." if kind is MalformedResponse else
                            f"Microsoft is unavailable (HTTP {response.status_code})"
                            + (f": {description}" if description else "."))
                    failure = kind(text, status=response.status_code, code=code, request_id=request_id,
                                   url=url)
                elif response.status_code >= 400:
                    code, description = _error_details(response)
                    raise MicrosoftError(
                        f"Microsoft refused the request (HTTP {response.status_code}"
                        f"{', code ' + code if code else ''}){': ' + description if description else '.'}",
                        status=response.status_code, code=code, request_id=request_id, url=url)
                elif response.status_code == 204 or not response.content:
                    return Answer(response.status_code, {}, response.headers) if full else {}
                else:
                    try:
                        data = parse_json(response, request_id=request_id)
                        return Answer(response.status_code, data, response.headers) if full else data
                    except MalformedResponse as exc:
                        failure = exc  # a cut body is a dropped answer: a read is worth another try
            if attempt >= self.max_retries or not idempotent:
                raise failure
            attempt += 1
            if wait is None:
                wait = min(30.0, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)  # noqa: S311
            self.stats.add(retries=1, waited_seconds=wait)
            logger.info("Microsoft: %s %s, retrying in %.1f s (%s)", method, urlsplit(url).path, wait,
                        failure.message)
            self._sleep(wait)

    # -- Partner Center --

    def pace_partner_center(self, url: str) -> float:
        """Wait for the Partner Center bucket of url's throttle scope; the seconds waited."""
        return self._pc_buckets.take(f"{self.tokens.partner_tenant}:{pc_scope(url)}")

    def _pc(self, method: str, path_or_url: str, *, headers: dict | None = None, json_body=None) -> dict:
        url = path_or_url if "://" in path_or_url else self.partner_center_url + path_or_url
        partner = self.tokens.partner_tenant
        return self.request(method, url, headers=headers, json_body=json_body,
                            token=lambda: self.tokens.app_only(partner, PARTNER_CENTER),
                            pace=lambda: self.pace_partner_center(url))

    def pc_collection(self, path: str) -> Iterator[dict]:
        """Every item of a Partner Center collection, following links.next and MS-ContinuationToken."""
        url, headers, seen = path, None, set()
        while True:
            page = self._pc("GET", url, headers=headers)
            items = page.get("items")
            if not isinstance(items, list):
                raise MalformedResponse(f"Partner Center's collection {path} lacks its items.")
            yield from items
            following = (page.get("links") or {}).get("next")
            if not isinstance(following, dict) or not following.get("uri"):
                return
            headers = {h["key"]: h["value"] for h in following.get("headers") or []
                       if isinstance(h, dict) and "key" in h and "value" in h}
            url = self._next_pc_url(following["uri"])
            if (url, tuple(sorted(headers.items()))) in seen:
                raise MalformedResponse(f"Partner Center's collection {path} pages in a circle.")
            seen.add((url, tuple(sorted(headers.items()))))

    def _next_pc_url(self, uri: str) -> str:
        """links.next.uri is relative to the version root ("/customers?..." or "/v1/customers?...")."""
        if "://" in uri:
            return uri
        if not uri.startswith("/"):
            uri = "/" + uri
        if not uri.startswith("/v1/"):
            uri = "/v1" + uri
        return self.partner_center_url + uri

    def audit_records(self, start, end=None, *, size: int = 500, query_filter: dict | None = None
                      ) -> Iterator[dict]:
        """Partner Center's audit records from the day ``start`` to the day ``end`` (dates, UTC, both
        included; at most 30 days, none older than 90: MICROSOFT.md §4.3), following the continuation
        token. ``query_filter``: {"Field": "CustomerId" | "CompanyName" | "ResourceType", "Value": …,
        "Operator": …}.
        """
        path = f"/v1/auditrecords?startDate={start:%Y-%m-%d}"
        if end is not None:
            path += f"&endDate={end:%Y-%m-%d}"
        path += f"&size={size}"
        if query_filter is not None:
            path += "&filter=" + quote(json.dumps(query_filter))
        return self.pc_collection(path)

    def customers(self, *, size: int = 100) -> Iterator[dict]:
        return self.pc_collection(f"/v1/customers?size={size}")

    def customer(self, tenant_id: str) -> dict:
        return self._pc("GET", f"/v1/customers/{tenant_id}")

    def subscriptions(self, tenant_id: str) -> list[dict]:
        return list(self.pc_collection(f"/v1/customers/{tenant_id}/subscriptions"))

    def azure_entitlements(self, tenant_id: str, subscription_id: str) -> list[dict]:
        return list(self.pc_collection(
            f"/v1/customers/{tenant_id}/subscriptions/{subscription_id}/azureEntitlements"))

    def self_serve_policies(self, tenant_id: str) -> list[dict]:
        """SelfServePolicy is App+User only (MICROSOFT.md §3)."""
        partner = self.tokens.partner_tenant
        url = f"{self.partner_center_url}/v1/SelfServePolicy?entity_id={tenant_id}"
        page = self.request(
            "GET", url, token=lambda: self.tokens.app_user(partner, PARTNER_CENTER),
            pace=lambda: self.pace_partner_center(url))
        items = page.get("items")
        if not isinstance(items, list):
            raise MalformedResponse("Partner Center's self-serve policies lack their items.")
        return items

    def _pc_user(self, method: str, path: str, **kwargs) -> dict:
        """An App+User call to Partner Center (SelfServePolicy is App+User only, MICROSOFT.md §3)."""
        partner = self.tokens.partner_tenant
        url = self.partner_center_url + path
        return self.request(method, url, token=lambda: self.tokens.app_user(partner, PARTNER_CENTER),
                            pace=lambda: self.pace_partner_center(url), **kwargs)

    def self_serve_policy(self, tenant_id: str) -> dict | None:
        """The customer's one self-serve policy, or None."""
        items = self.self_serve_policies(tenant_id)
        policies = [item for item in items if isinstance(item, dict)]
        return policies[0] if policies else None

    def create_self_serve_policy(self, body: dict, *, request_id: str, correlation_id: str) -> dict:
        return self._pc_user("POST", "/v1/SelfServePolicy", json_body=body, idempotent=False,
                             request_id=request_id, correlation_id=correlation_id)

    def update_self_serve_policy(self, policy_id: str, body: dict, *, request_id: str,
                                 correlation_id: str) -> dict:
        etag = (body.get("attributes") or {}).get("etag", "")
        return self._pc_user("PUT", f"/v1/SelfServePolicy/{policy_id}", json_body=body, idempotent=False,
                             headers={"If-Match": etag} if etag else None,
                             request_id=request_id, correlation_id=correlation_id)

    def delete_self_serve_policy(self, policy_id: str, *, request_id: str, correlation_id: str) -> dict:
        return self._pc_user("DELETE", f"/v1/SelfServePolicy/{policy_id}", idempotent=False,
                             request_id=request_id, correlation_id=correlation_id)

    # -- Azure Resource Manager --

    def role_assignments(self, tenant_id: str, azure_subscription_id: str) -> Iterator[dict]:
        """Role assignments at the subscription's scope (and above), following nextLink."""
        url = (f"{self.management_url}/subscriptions/{azure_subscription_id}/providers/"
               f"Microsoft.Authorization/roleAssignments?api-version={ROLE_ASSIGNMENTS_API_VERSION}"
               f"&$filter=atScope()")
        seen = set()
        while url:
            page = self.request("GET", url, token=lambda: self.tokens.customer(tenant_id, AZURE_MANAGEMENT),
                                pace=lambda: self._arm_buckets.take(azure_subscription_id))
            value = page.get("value")
            if not isinstance(value, list):
                raise MalformedResponse("Azure's role assignments lack their value list.", url=url)
            yield from value
            following = page.get("nextLink")
            url = self._same_host(following, self.management_url) if following else None
            if url in seen:
                raise MalformedResponse("Azure's role assignments page in a circle.", url=url)
            seen.add(url)

    @staticmethod
    def _same_host(link: str, base: str) -> str:
        """A nextLink names Microsoft's own host; keep our configured base (a stand-in's) for it."""
        parts, configured = urlsplit(urljoin(base + "/", link)), urlsplit(base)
        if parts.netloc == configured.netloc:
            return parts.geturl()
        path = parts.path
        if configured.path and not path.startswith(configured.path):
            path = configured.path.rstrip("/") + path
        return parts._replace(scheme=configured.scheme, netloc=configured.netloc, path=path).geturl()

    # -- Microsoft Graph --

    def directory_objects(self, tenant_id: str, ids: list[str]) -> list[dict]:
        """Users, groups and service principals by object id (at most 1,000 ids a call)."""
        found = []
        for start in range(0, len(ids), 1000):
            page = self.request(
                "POST", f"{self.graph_url}/v1.0/directoryObjects/getByIds",
                token=lambda: self.tokens.customer(tenant_id, MICROSOFT_GRAPH), pace=lambda: 0.0,
                json_body={"ids": ids[start:start + 1000], "types": ["user", "group", "servicePrincipal"]})
            value = page.get("value")
            if not isinstance(value, list):
                raise MalformedResponse("Microsoft Graph's directory objects lack their value list.")
            found.extend(value)
        return found

    def close(self) -> None:
        self.session.close()
