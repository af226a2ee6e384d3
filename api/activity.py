"""How the activity log names this app's objects in words (see activitylog.objects)."""

from django.utils.translation import gettext_lazy as _

from activitylog.models import ResourceType
from activitylog.objects import describes, name_fields


@describes(ResourceType.API_TOKEN)
def _token(resource_id: str, value: dict) -> str:
    return _("Token “%(name)s” (%(prefix)s)") % {"name": value["name"], "prefix": resource_id}


name_fields(name=_("Name"), owner=_("Owner of the token"), expires_at=_("Expires (UTC)"),
            revoked_at=_("Revoked (UTC)"))
