"""How the activity log names this app's objects in words (see activitylog.objects)."""

from django.utils.translation import gettext_lazy as _

from activitylog.models import ResourceType
from activitylog.objects import describes, name_fields, name_values

from .models import Resource


@describes(ResourceType.SELF_SERVE_POLICY)
def _permission(resource_id: str, value: dict) -> str:
    # A review is about every permission the customer had allowed at the time.
    return Resource(resource_id).label if resource_id else _allowed(value["permissions"])


def _allowed(permissions: list) -> str:
    if not permissions:
        return str(_("Nothing allowed"))
    return ", ".join(str(Resource(item["resource"]).label) for item in permissions)


name_fields(permissions=_("Customer may purchase"), reviewed_at=_("Reviewed (UTC)"))
name_values(permissions=_allowed)
