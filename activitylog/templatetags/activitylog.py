from django import template

from activitylog import rows

register = template.Library()


@register.simple_tag
def log_rows(entries) -> str:
    """The log's rows, each a <tbody> opening to its details, in words (activitylog/rows.py: why Python)."""
    return rows.rows(entries)
