"""The Access review's column for customers' own purchases in the last 12 months (issue 15, item 1):
how many, and their commitments per currency, read for a whole page of customers in one aggregated query
(selectors.twelve_month_totals)."""

from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from permissions.review_columns import ReviewColumn, add_column

from . import selectors


def _count(totals: list | None) -> int:
    return sum(row["count"] for row in totals or [])


def _by_currency(totals: list | None) -> list[tuple[str, object]]:
    return sorted((row["currency_code"], row["total"]) for row in totals or [])


def page_cell(totals: list | None) -> str:
    """"2 purchases: 9,760.00 USD, 600.00 EUR" in the reader's language and number format; "None"."""
    count = _count(totals)
    if not count:
        return _("None")
    amounts = ", ".join(f"{floatformat(total or 0, '2g')} {currency}".strip()
                        for currency, total in _by_currency(totals))
    return ngettext("%(count)d purchase: %(amounts)s", "%(count)d purchases: %(amounts)s", count) % {
        "count": count, "amounts": amounts}


def export_count(totals: list | None) -> str:
    return str(_count(totals))


def export_commitments(totals: list | None) -> str:
    """"9760.00 USD; 600.00 EUR": plain numbers, for a spreadsheet."""
    return "; ".join(f"{total or 0:.2f} {currency}".strip() for currency, total in _by_currency(totals))


def register() -> None:
    add_column("self_purchases", ReviewColumn(
        header=gettext_lazy("Self-purchases, last 12 months"),
        read=selectors.twelve_month_totals,
        page_cell=page_cell,
        export=[(gettext_lazy("Self-purchases, last 12 months"), export_count),
                (gettext_lazy("Self-purchase commitments, last 12 months"), export_commitments)],
    ))
