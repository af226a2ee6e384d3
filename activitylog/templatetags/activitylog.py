import json

from django import template

from activitylog.models import ResourceType

register = template.Library()

@register.filter
def as_json(value) -> str:
    """An entry's old or new value as readable JSON, the way the API and the export show it."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@register.filter
def resource_label(code: str) -> str:
    """The name of a resource type in the reader's language; an unknown code shows as it is.

    The code itself stays in the database, the CSV export and the API.
    """
    return ResourceType(code).label if code in ResourceType.values else code
