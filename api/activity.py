"""How the activity log names this app's objects in words (see activitylog.objects)."""

from django.utils.translation import gettext_lazy as _

from activitylog.objects import describes, name_fields

from .services import RESOURCE_TYPE


@describes(RESOURCE_TYPE)
def _token(resource_id: str, value: dict) -> str:
    return _("Token “%(name)s” (%(prefix)s)") % {"name": value["name"], "prefix": resource_id}


name_fields(name=_("Name"), owner=_("Owner of the token"), expires_at=_("Expires (UTC)"),
            revoked_at=_("Revoked (UTC)"))
