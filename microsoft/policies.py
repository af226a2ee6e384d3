from django.utils.translation import gettext_lazy as _

from portal.models import Agent
from portal.policies import has_role

SYNC_REFUSED = _("Only Admin agents can start a Microsoft sync.")


def can_view_connection(agent: Agent) -> bool:
    return has_role(agent, Agent.Role.ADMIN_AGENT, Agent.Role.OPERATOR)


def can_sync_now(agent: Agent) -> bool:
    return has_role(agent, Agent.Role.ADMIN_AGENT)
