import json

from django import template
from django.utils.translation import gettext_lazy as _

from activitylog import objects

register = template.Library()

# What each stored resource_type code is called on the page; the code itself stays in the database
# and the CSV export.
RESOURCE_LABELS = {
    "customer": _("Customer"),
    "subscription": _("Subscription"),
    "customer_user": _("Customer user"),
    "role_assignment": _("Role assignment"),
    "self_serve_policy": _("Customer purchase permission"),
}


@register.filter
def as_json(value) -> str:
    """An entry's old or new value as readable JSON, the way the API and the export show it."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@register.filter
def resource_label(code: str) -> str:
    """The name of a resource type in the reader's language; an unknown code shows as it is."""
    return RESOURCE_LABELS.get(code, code)


@register.filter
def entry_object(entry) -> str:
    """What the entry is about, in words: "Azure reservations", "Owner for Budi, on Azure plan"."""
    return objects.object_of(entry)


@register.filter
def value_changes(entry) -> list[tuple[str, str, str]]:
    """Old → new, one changed field a row, in words (the raw JSON follows on the page)."""
    return objects.changes(entry.old_value, entry.new_value)
