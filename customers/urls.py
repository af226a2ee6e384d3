from django.urls import path

from . import views

# Mounted by portal/urls.py under /customers/ with the permissions app's Account pages, in one
# "customers" namespace: the namespace is the section of the site, not the app that serves a page.
urlpatterns = [
    path("new/", views.customer_add, name="add"),
    path("<uuid:tenant_id>/subscriptions/", views.subscriptions, name="subscriptions"),
    path("<uuid:tenant_id>/subscriptions/new/", views.subscription_buy, name="subscription_buy"),
    path("<uuid:tenant_id>/subscriptions/<uuid:subscription_id>/roles/new/",
         views.role_grant, name="role_grant"),
    path("<uuid:tenant_id>/users/", views.users, name="users"),
    path("<uuid:tenant_id>/history/", views.history, name="history"),
    path("<uuid:tenant_id>/users/new/", views.user_add, name="user_add"),
]
