from django.urls import path

from . import views

# Mounted by portal/urls.py under /customers/, in the "customers" namespace beside customers.urls.
urlpatterns = [
    path("<uuid:tenant_id>/account/", views.account, name="account"),
    path("<uuid:tenant_id>/account/permissions/", views.edit, name="permissions"),
]
