from django.urls import path

from . import views

app_name = "agents"

urlpatterns = [
    path("", views.agent_list, name="list"),
    path("new/", views.agent_add, name="add"),
    path("<int:agent_id>/role/", views.agent_role, name="role"),
    path("<int:agent_id>/active/", views.agent_active, name="active"),
    path("<int:agent_id>/two-step/reset/", views.agent_reset_mfa, name="reset_mfa"),
]
