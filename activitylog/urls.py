from django.urls import path

from . import views

app_name = "activitylog"

urlpatterns = [
    path("", views.activity_log, name="list"),
    path("export.csv", views.export, name="export"),
]
