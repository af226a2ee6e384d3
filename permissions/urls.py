from django.urls import path

from . import step_views, views

# Mounted by portal/urls.py under /customers/, in the "customers" namespace beside customers.urls.
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<uuid:tenant_id>/subscriptions/new/", step_views.subscription_buy, name="subscription_buy"),
    path("<uuid:tenant_id>/subscriptions/<uuid:subscription_id>/roles/new/",
         step_views.role_grant, name="role_grant"),
    path("<uuid:tenant_id>/users/new/", step_views.user_add, name="user_add"),
    path("<uuid:tenant_id>/subscriptions/<uuid:subscription_id>/status/",
         views.subscription_status, name="subscription_status"),
    path("<uuid:tenant_id>/roles/<int:assignment_id>/remove/", views.role_remove, name="role_remove"),
    path("<uuid:tenant_id>/account/", views.account, name="account"),
    path("<uuid:tenant_id>/account/permissions/", views.edit, name="permissions"),
    path("<uuid:tenant_id>/account/partner-center/retry/", views.retry, name="retry_push"),
    path("<uuid:tenant_id>/account/partner-center/apply/", views.apply_portal, name="apply_portal_setting"),
    path("<uuid:tenant_id>/account/partner-center/accept/", views.accept_partner_center_view,
         name="accept_partner_center"),
]
