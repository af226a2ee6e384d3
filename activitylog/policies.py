from portal.models import Agent
from portal.policies import has_role


def can_view_activity_log(agent: Agent) -> bool:
    return has_role(agent, Agent.Role.ADMIN_AGENT, Agent.Role.OPERATOR)
