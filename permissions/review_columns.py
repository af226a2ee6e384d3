"""Columns that apps above permissions add to the Access review, such as purchases' self-purchases in the
last 12 months: permissions may not import those apps (tests/test_structure.py), so each registers its
column here from its AppConfig.ready(), as apps say how the log names their objects (activitylog.objects).

A column reads a whole page of customers at once, in one query however many rows the page has, and gives
each customer its cell on the page and its cells in the CSV export.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise


@dataclass(frozen=True)
class ReviewColumn:
    header: Promise | str
    # Customer ids -> what the column knows of each, in one query; a customer it knows nothing of is absent.
    read: Callable[[list[int]], dict[int, Any]]
    # A customer's cell on the page, from what read() gave it (None when absent).
    page_cell: Callable[[Any], str]
    # The export's columns: (header, the cell from what read() gave the customer).
    export: Sequence[tuple[Promise | str, Callable[[Any], str]]]


_COLUMNS: dict[str, ReviewColumn] = {}


def add_column(key: str, column: ReviewColumn) -> None:
    """Register (or replace) the column called key; the page shows columns in the order they came."""
    _COLUMNS[key] = column


def columns() -> list[ReviewColumn]:
    return list(_COLUMNS.values())


def read(customers: Iterable) -> dict[int, list]:
    """Each customer's values, one per column, read with one query per column for them all."""
    customers = list(customers)
    ids = [customer.pk for customer in customers]
    known = [column.read(ids) if ids else {} for column in columns()]
    return {pk: [values.get(pk) for values in known] for pk in ids}
