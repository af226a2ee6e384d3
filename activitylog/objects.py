"""What a log entry is about, in words: each app says how its resource types read (its activity.py).

The log keeps codes and ids (for the export and the API); the page reads them through these, from the
entry's own stored values, so that an entry reads the same after its object is renamed or gone.
"""

import json
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext_lazy as _

Describer = Callable[[str, dict], str]
_DESCRIBERS: dict[str, Describer] = {}
_FIELD_LABELS: dict[str, Any] = {}
_VALUE_LABELS: dict[str, Callable[[Any], Any]] = {}


def describes(resource_type: str) -> Callable[[Describer], Describer]:
    """Register how entries about resource_type name their object: fn(resource_id, value) -> words."""
    def register(describer: Describer) -> Describer:
        _DESCRIBERS[resource_type] = describer
        return describer
    return register


def name_fields(**labels) -> None:
    """Register the words for stored value keys (old → new differences), e.g. status=_("Status")."""
    _FIELD_LABELS.update(labels)


def name_values(**readers: Callable[[Any], Any]) -> None:
    """Register how a stored value of a key reads, e.g. status=lambda code: Status(code).label."""
    _VALUE_LABELS.update(readers)


def stored_value(entry) -> dict:
    """The entry's value that names its object: the new one, or the old one when it was removed."""
    for value in (entry.new_value, entry.old_value):
        if isinstance(value, dict):
            return value
    return {}


def object_of(entry) -> str:
    """The entry's object in words in the active language, or "" when there is nothing to say."""
    describer = _DESCRIBERS.get(entry.resource_type)
    if describer is None:
        return entry.resource_id
    try:
        return str(describer(entry.resource_id, stored_value(entry)))
    except (KeyError, TypeError, ValueError):  # an entry older than its describer: say what is there
        return entry.resource_id


def _readable(key: str, value: Any) -> str:
    reader = _VALUE_LABELS.get(key)
    if reader is not None and value is not None:
        try:
            return str(reader(value))
        except (KeyError, TypeError, ValueError):
            pass
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def changes(old: Any, new: Any) -> list[tuple[str, str, str]]:
    """What changed from old to new, one (field, before, after) per changed key, in words."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    keys = [key for key in dict.fromkeys([*old, *new]) if old.get(key) != new.get(key)]
    return [(str(_FIELD_LABELS.get(key, key)), _readable(key, old.get(key)), _readable(key, new.get(key)))
            for key in keys]


# The log's own entry: the retention purge.
name_fields(retention_days=_("Retention (days)"), cutoff=_("Entries before (UTC)"),
            purged=_("Entries purged"), anchor=_("Chain anchor"))
