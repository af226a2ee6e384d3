from django.urls import path, re_path

from . import pages, views

app_name = "api"

urlpatterns = [
    path("v1/SelfServePolicy", views.policies, name="policies"),
    path("v1/SelfServePolicy/<str:policy_id>", views.policy, name="policy"),
    path("v1/auditrecords", views.records, name="auditrecords"),
    path("v1/customers", views.customers, name="customers"),
    path("v1/customers/<str:tenant_id>", views.customer, name="customer"),
    path("v1/customers/<str:tenant_id>/orders", views.orders, name="orders"),
    path("v1/customers/<str:tenant_id>/reservations", views.reservations, name="reservations"),
    path("v1/customers/<str:tenant_id>/savingsplans", views.savings_plans, name="savings_plans"),
    path("v1/openapi.json", views.openapi, name="openapi"),
    re_path(r"^v1/", views.unknown),
    path("api/tokens/", pages.tokens, name="tokens"),
    path("api/tokens/<int:token_id>/revoke/", pages.token_revoke, name="token_revoke"),
    path("api/reference/", pages.reference, name="reference"),
]
