"""CSV downloads a spreadsheet opens safely, streamed row by row: the log's export, the access review."""

import csv
import json
import re
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet whose list separator is ";" (Indonesian and most European defaults) honours quotes only at
# the start of the fields it splits, so quoting alone cannot keep "Acme;=2+5;" whole: a formula start just
# after a ";" or "," inside a cell gets the same leading quote as one at the start of a cell.
INNER_FORMULA = re.compile(r"([;,])([=+\-@\t\r])")
# Every cell is quoted, on every path: a spreadsheet whose list separator is ";" would otherwise split
# "Acme;=2+5;" and run "=2+5" as a cell of its own.
QUOTING = csv.QUOTE_ALL


class Echo:
    """A file-like object for csv.writer that hands each written row back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def cell(value) -> str:
    """A CSV cell that a spreadsheet will show as text, never run as a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = INNER_FORMULA.sub(r"\1'\2", text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def streamed_csv(rows: Iterable[str] | Iterator[bytes], name: str) -> StreamingHttpResponse:
    """rows as a download named <name>-<UTC time>.csv."""
    filename = f"{name}-{timezone.now():%Y%m%d-%H%M%S}.csv"
    return StreamingHttpResponse(
        rows, content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
