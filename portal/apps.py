from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Partner staff")

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the sign-in receiver
