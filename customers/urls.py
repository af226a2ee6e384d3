from django.urls import path

from activitylog import views as activitylog_views
from permissions import views as permission_views

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_add, name="add"),
    path("<uuid:tenant_id>/account/", views.account, name="account"),
    path("<uuid:tenant_id>/account/permissions/", permission_views.edit, name="permissions"),
    path("<uuid:tenant_id>/subscriptions/", views.subscriptions, name="subscriptions"),
    path("<uuid:tenant_id>/subscriptions/new/", views.subscription_buy, name="subscription_buy"),
    path("<uuid:tenant_id>/subscriptions/<uuid:subscription_id>/status/",
         views.subscription_status, name="subscription_status"),
    path("<uuid:tenant_id>/subscriptions/<uuid:subscription_id>/roles/new/",
         views.role_grant, name="role_grant"),
    path("<uuid:tenant_id>/roles/<int:assignment_id>/remove/", views.role_remove,
         name="role_remove"),
    path("<uuid:tenant_id>/users/", views.users, name="users"),
    path("<uuid:tenant_id>/history/", activitylog_views.customer_history, name="history"),
    path("<uuid:tenant_id>/users/new/", views.user_add, name="user_add"),
]
