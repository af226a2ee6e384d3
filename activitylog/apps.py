from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitylogConfig(AppConfig):
    name = "activitylog"
    verbose_name = _("Activity log")
