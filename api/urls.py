from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("SelfServePolicy", views.policies, name="policies"),
    path("SelfServePolicy/<str:policy_id>", views.policy, name="policy"),
]
