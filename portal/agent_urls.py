from django.urls import path

from . import agents

app_name = "agents"

urlpatterns = [
    path("", agents.agent_list, name="list"),
    path("new/", agents.agent_add, name="add"),
    path("<int:agent_id>/role/", agents.agent_role, name="role"),
    path("<int:agent_id>/active/", agents.agent_active, name="active"),
    path("<int:agent_id>/two-step/reset/", agents.agent_reset_mfa, name="reset_mfa"),
]
