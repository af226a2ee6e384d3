from django.urls import path

from . import views

app_name = "microsoft"

urlpatterns = [
    path("", views.connection, name="connection"),
    path("sync/", views.sync_now, name="sync"),
]
