from django.urls import path

from . import views

app_name = "permissions"

# The Access review, its own section of the site (/access-review/).
urlpatterns = [
    path("", views.access_review, name="access_review"),
    path("export.csv", views.access_review_export, name="access_review_export"),
    path("reviewed/", views.mark_reviewed, name="mark_reviewed"),
]
