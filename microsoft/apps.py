from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MicrosoftConfig(AppConfig):
    name = "microsoft"
    verbose_name = _("Microsoft connection")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import self_serve, steps, tasks

        self_serve.register()
        steps.register()
        tasks.listen_to_the_outbox()
