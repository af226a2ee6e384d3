"""Who may do what, by role. Each app's policies.py names its decisions in terms of these."""

from .models import Agent


def has_role(agent: Agent, *roles: Agent.Role) -> bool:
    return agent.is_authenticated and agent.is_active and agent.role in roles
