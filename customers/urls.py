from django.urls import path

from . import views

# Mounted by portal/urls.py under /customers/ with the permissions app's Account pages, in one
# "customers" namespace: the namespace is the section of the site, not the app that serves a page.
# The readiness steps' forms (buy an Azure plan, grant a role, add a user) act on Microsoft through the
# outbox, so permissions.urls serves them.
urlpatterns = [
    path("new/", views.customer_add, name="add"),
    path("<uuid:tenant_id>/subscriptions/", views.subscriptions, name="subscriptions"),
    path("<uuid:tenant_id>/users/", views.users, name="users"),
    path("<uuid:tenant_id>/history/", views.history, name="history"),
]
