import csv
import json
import re
from collections.abc import Iterator

import psycopg
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.db import connection
from django.db.models import Case, F, Func, TextField, Value, When
from django.db.models.functions import Cast, Coalesce
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from . import db
from .forms import ActivityLogFilterForm
from .models import Action, ActivityLogEntry, ActivityLogQuerySet, Source, Status
from .policies import can_view_activity_log
from .selectors import cursor_for, keyset_filter

PAGE_SIZE = 50
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet whose list separator is ";" (Indonesian and most European defaults) honours quotes only at
# the start of the fields it splits, so quoting alone cannot keep "Acme;=2+5;" whole: a formula start just
# after a ";" or "," inside a cell gets the same leading quote as one at the start of a cell.
INNER_FORMULA = re.compile(r"([;,])([=+\-@\t\r])")


def require_auditor(request: HttpRequest) -> None:
    if not can_view_activity_log(request.user):
        raise PermissionDenied


def _link(params: QueryDict, **cursor: str) -> str:
    params = params.copy()
    for key in ("before", "after"):
        params.pop(key, None)
    params.update(cursor)
    return "?" + params.urlencode()


@require_GET
def activity_log(request: HttpRequest) -> HttpResponse:
    require_auditor(request)
    form = ActivityLogFilterForm(request.GET)
    entries, newer_url, older_url = [], None, None
    if form.is_valid():
        filtered = form.filter(ActivityLogEntry.objects.all())
        before, after = request.GET.get("before"), request.GET.get("after")
        try:
            with db.planned_for_these_filters():
                if after:
                    # Walking back towards the newest: read upwards, then show newest first again.
                    page = list(filtered.filter(keyset_filter(after, older=False))
                                .order_by("occurred_at", "id")[: PAGE_SIZE + 1])
                    has_more_newer = len(page) > PAGE_SIZE
                    entries = page[:PAGE_SIZE][::-1]
                    has_more_older = True
                else:
                    if before:
                        filtered = filtered.filter(keyset_filter(before, older=True))
                    page = list(filtered.newest_first()[: PAGE_SIZE + 1])
                    has_more_older = len(page) > PAGE_SIZE
                    entries = page[:PAGE_SIZE]
                    has_more_newer = bool(before)
        except ValueError:
            form.add_error(None, _("That page link is no longer valid. Start again from the first page."))
            entries, has_more_newer, has_more_older = [], False, False
        if entries and has_more_older:
            older_url = _link(form.given, before=cursor_for(entries[-1]))
        if entries and has_more_newer:
            newer_url = _link(form.given, after=cursor_for(entries[0]))
    export_params = form.given.copy()
    for key in ("before", "after"):
        export_params.pop(key, None)
    return render(request, "activitylog/list.html", {
        "form": form, "entries": entries, "newer_url": newer_url, "older_url": older_url,
        "export_query": export_params.urlencode(),
        "first_page_url": _link(form.given) if (newer_url or request.GET.get("before")) else None,
    }, status=200 if form.is_valid() else 400)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will show as text, never run as a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = INNER_FORMULA.sub(r"\1'\2", text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# Public: other exports (purchases/) quote and neutralise their cells the same way.
csv_cell = _cell


class _Neutralised(Func):
    """_cell() in SQL: text a spreadsheet would run as a formula gets a leading quote; NULL becomes '',
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
    return Case(*[When(**{field: code}, then=Value(_cell(str(label)))) for code, label in choices],
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
    filename = f"activity-log-{timezone.now():%Y%m%d-%H%M%S}.csv"
    return StreamingHttpResponse(
        rows, content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# Every cell is quoted, on both paths: a spreadsheet whose list separator is ";" (Indonesian and most
# European defaults) would otherwise split "Acme;=2+5;" and run "=2+5" as a cell of its own.
QUOTING = csv.QUOTE_ALL


def _header(lineterminator: str = "\r\n") -> str:
    writer = csv.writer(_Echo(), lineterminator=lineterminator, quoting=QUOTING)
    return "\ufeff" + writer.writerow([str(header) for header, _value, _sql in EXPORT_COLUMNS])


def _written_rows(entries: ActivityLogQuerySet) -> Iterator[str]:
    """The export row by row in Python, on any database (SQLite in development)."""
    writer = csv.writer(_Echo(), quoting=QUOTING)
    yield _header()
    for entry in entries.iterator(chunk_size=2000):
        yield writer.writerow([_cell(value(entry)) for _header, value, _sql in EXPORT_COLUMNS])


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
