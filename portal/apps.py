from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Partner staff")

    def ready(self) -> None:
        from . import signals, text  # noqa: F401 - connect the sign-in receiver and SQLite's text functions
