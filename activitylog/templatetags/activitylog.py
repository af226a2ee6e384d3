import json

from django import template

register = template.Library()


@register.filter
def as_json(value) -> str:
    """An entry's old or new value as readable JSON, the way the API and the export show it."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
