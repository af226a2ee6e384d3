import json

from django import template
from django.utils.html import format_html_join

from activitylog import objects
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


@register.filter
def entry_object(entry) -> str:
    """What the entry is about, in words: "Azure reservations", "Owner for Budi, on Azure plan"."""
    return objects.object_of(entry)


@register.filter
def value_changes(entry) -> str:
    """Old → new as table rows, one changed field a row, in words; "" when nothing changed.

    Built here rather than in the template: fifty rows of a nested loop were a third of the page's time.
    """
    return format_html_join("", '<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>',
                            objects.changes(entry.old_value, entry.new_value))
