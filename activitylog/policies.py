from django.utils.translation import gettext_lazy as _

from portal.models import Agent
from portal.policies import has_role


def can_view_activity_log(agent: Agent) -> bool:
    return has_role(agent, Agent.Role.ADMIN_AGENT, Agent.Role.OPERATOR)


VIEW_REFUSED = _("Only Admin agents and Operators can see the Activity log.")
