import csv
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.db import connection
from django.db.models import Case, F, Func, TextField, Value, When
from django.db.models.functions import Cast, Coalesce
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from portal.csv_export import QUOTING, Echo, cell, streamed_csv

from . import db
from .forms import ActivityLogFilterForm
from .models import Action, ActivityLogEntry, ActivityLogQuerySet, Source, Status
from .policies import VIEW_REFUSED, can_view_activity_log
from .selectors import cursor_for, keyset_filter

PAGE_SIZE = 50


def require_auditor(request: HttpRequest) -> None:
    if not can_view_activity_log(request.user):
        raise PermissionDenied(VIEW_REFUSED)


def _link(params: QueryDict, **cursor: str) -> str:
    params = params.copy()
    for key in ("before", "after"):
        params.pop(key, None)
    params.update(cursor)
    return "?" + params.urlencode()


@dataclass
class LogPage:
    """One page of entries, newest first, and the links to its neighbours (keyset paging)."""

    entries: list
    newer_url: str | None = None
    older_url: str | None = None
    first_page_url: str | None = None
    invalid_link: bool = False

    def context(self) -> dict:
        return {"entries": self.entries, "newer_url": self.newer_url, "older_url": self.older_url,
                "first_page_url": self.first_page_url}


def keyset_page(filtered: ActivityLogQuerySet, params: QueryDict) -> LogPage:
    """The page that the `before`/`after` cursor in params names, read by index however deep."""
    before, after = params.get("before"), params.get("after")
    try:
        with db.planned_for_these_filters():
            if after:
                # Walking back towards the newest: read upwards, then show newest first again.
                rows = list(filtered.filter(keyset_filter(after, older=False))
                            .order_by("occurred_at", "id")[: PAGE_SIZE + 1])
                has_more_newer = len(rows) > PAGE_SIZE
                entries = rows[:PAGE_SIZE][::-1]
                has_more_older = True
            else:
                if before:
                    filtered = filtered.filter(keyset_filter(before, older=True))
                rows = list(filtered.newest_first()[: PAGE_SIZE + 1])
                has_more_older = len(rows) > PAGE_SIZE
                entries = rows[:PAGE_SIZE]
                has_more_newer = bool(before)
    except ValueError:
        return LogPage(entries=[], invalid_link=True)
    page = LogPage(entries=entries)
    if entries and has_more_older:
        page.older_url = _link(params, before=cursor_for(entries[-1]))
    if entries and has_more_newer:
        page.newer_url = _link(params, after=cursor_for(entries[0]))
    if page.newer_url or before:
        page.first_page_url = _link(params)
    return page


INVALID_PAGE_LINK = gettext_lazy("That page link is no longer valid. Start again from the first page.")


@require_GET
def activity_log(request: HttpRequest) -> HttpResponse:
    require_auditor(request)
    form = ActivityLogFilterForm(request.GET)
    page = LogPage(entries=[])
    if form.is_valid():
        page = keyset_page(form.filter(ActivityLogEntry.objects.all()), form.given)
        if page.invalid_link:
            form.add_error(None, INVALID_PAGE_LINK)
    export_params = form.given.copy()
    for key in ("before", "after"):
        export_params.pop(key, None)
    return render(request, "activitylog/list.html", {
        "form": form, **page.context(), "export_query": export_params.urlencode(),
    }, status=200 if form.is_valid() else 400)


class _Neutralised(Func):
    """cell() in SQL: text a spreadsheet would run as a formula gets a leading quote; NULL becomes '',
    which COPY's FORCE_QUOTE writes as "", as Python's csv module writes None and '' with QUOTE_ALL.

    Only for expressions without parameters: the template repeats the expression.
    """

    template = ("COALESCE(CASE WHEN left(%(expressions)s, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') "
                "THEN '''' ELSE '' END || regexp_replace(%(expressions)s, "
                "E'([;,])([=+@\\t\\r-])', E'\\\\1''\\\\2', 'g'), '')")
    output_field = TextField()


class _UtcText(Func):
    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
    output_field = TextField()


class _Host(Func):
    function = "host"
    output_field = TextField()


def _label(field: str, choices) -> Case:
    """A choice's display name in the request's language, picked in SQL."""
    return Case(*[When(**{field: code}, then=Value(cell(str(label)))) for code, label in choices],
                default=F(field), output_field=TextField())


EXPORT_COLUMNS = [
    # (header, the cell from an entry in Python, the same cell as an SQL expression for COPY)
    (gettext_lazy("Date-Time (UTC)"), lambda e: e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
     lambda: _UtcText("occurred_at")),
    (gettext_lazy("Action"), lambda e: e.get_action_display(), lambda: _label("action", Action.choices)),
    (gettext_lazy("Action code"), lambda e: e.action, lambda: _Neutralised(F("action"))),
    (gettext_lazy("Status"), lambda e: e.get_status_display(), lambda: _label("status", Status.choices)),
    # The stored English text, on both paths, as the API gives it: an export is a record to compare and
    # pass on, and COPY cannot format each row's messages in the reader's language (the page does).
    (gettext_lazy("Reason"), lambda e: e.failure_reason, lambda: _Neutralised(F("failure_reason"))),
    (gettext_lazy("Performed by"), lambda e: e.actor_email, lambda: _Neutralised(F("actor_email"))),
    (gettext_lazy("Affected customer"), lambda e: e.customer_name, lambda: _Neutralised(F("customer_name"))),
    (gettext_lazy("Customer tenant id"), lambda e: str(e.customer_tenant_id or ""),
     lambda: Coalesce(Cast("customer_tenant_id", TextField()), Value(""), output_field=TextField())),
    (gettext_lazy("Resource type"), lambda e: e.resource_type, lambda: _Neutralised(F("resource_type"))),
    (gettext_lazy("Resource id"), lambda e: e.resource_id, lambda: _Neutralised(F("resource_id"))),
    (gettext_lazy("Old value"), lambda e: e.old_value, lambda: _Neutralised(Cast("old_value", TextField()))),
    (gettext_lazy("New value"), lambda e: e.new_value, lambda: _Neutralised(Cast("new_value", TextField()))),
    (gettext_lazy("Source"), lambda e: e.get_source_display(), lambda: _label("source", Source.choices)),
    (gettext_lazy("Request id"), lambda e: e.request_id, lambda: _Neutralised(F("request_id"))),
    (gettext_lazy("Correlation id"), lambda e: e.correlation_id, lambda: _Neutralised(F("correlation_id"))),
    (gettext_lazy("Client IP"), lambda e: e.client_ip, lambda: _Neutralised(_Host("client_ip"))),
]


@require_GET
def export(request: HttpRequest) -> HttpResponse:
    require_auditor(request)
    form = ActivityLogFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "activitylog/list.html", {"form": form, "entries": []}, status=400)
    entries = form.filter(ActivityLogEntry.objects.all()).newest_first()
    rows = _copied_rows(entries) if db.exports_with_copy() else _written_rows(entries)
    return streamed_csv(rows, "activity-log")


def _header(lineterminator: str = "\r\n") -> str:
    writer = csv.writer(Echo(), lineterminator=lineterminator, quoting=QUOTING)
    return "\ufeff" + writer.writerow([str(header) for header, _value, _sql in EXPORT_COLUMNS])


def _written_rows(entries: ActivityLogQuerySet) -> Iterator[str]:
    """The export row by row in Python, on any database (SQLite in development)."""
    writer = csv.writer(Echo(), quoting=QUOTING)
    yield _header()
    for entry in entries.iterator(chunk_size=2000):
        yield writer.writerow([cell(value(entry)) for _header, value, _sql in EXPORT_COLUMNS])


def _copied_rows(entries: ActivityLogQuerySet) -> Iterator[bytes]:
    """The same CSV written by PostgreSQL's COPY and streamed as it arrives, in 64 KB pieces: several
    hundred thousand rows a second in constant memory, where a model instance per row manages 20,000."""
    # Built per request: the display names are the request's language.
    columns = [sql() for _header, _value, sql in EXPORT_COLUMNS]
    names = [f"c{n}" for n in range(len(columns))]
    yield _header(lineterminator="\n").encode()
    try:
        sql, params = (entries.annotate(**dict(zip(names, columns, strict=True)))
                       .values_list(*names).query.sql_with_params())
    except EmptyResultSet:  # a filter no entry can match, such as an unknown performer
        return
    connection.ensure_connection()
    batch = bytearray()
    # A client-side-binding cursor: COPY cannot take server-side parameters.
    with psycopg.ClientCursor(connection.connection) as cursor, \
            cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *)", params) as copy:
        for data in copy:
            batch += data
            if len(batch) >= 65536:
                yield bytes(batch)
                batch.clear()
    if batch:
        yield bytes(batch)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 403 page: what was refused, and whether the refused attempt was recorded in the log.

    Services log every refused write as Failed under the request's id; a page that is only refused
    (a read-only role opening a form) leaves no entry, and the page says nothing it cannot back up.
    """
    reason = exception.args[0] if getattr(exception, "args", None) and exception.args[0] else ""
    request_id = getattr(request, "request_id", "")
    recorded = bool(request_id) and ActivityLogEntry.objects.filter(
        request_id=request_id, status=Status.FAILED).exists()
    return render(request, "403.html", {"reason": reason, "recorded": recorded}, status=403)
