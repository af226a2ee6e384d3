from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PermissionsConfig(AppConfig):
    name = "permissions"
    verbose_name = _("Customer purchase permissions")

    def ready(self) -> None:
        from . import activity  # noqa: F401 - registers how the log names this app's objects
