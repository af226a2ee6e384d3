from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgentsConfig(AppConfig):
    """The partner's staff as the portal manages them: the agent services (each change logged), the
    Agents page, and signing in (Microsoft Entra ID, passwords with a second factor, the lockout)."""

    name = "agents"
    verbose_name = _("Agents")
