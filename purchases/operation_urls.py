"""URLs of the partner's operations, mounted by portal/urls.py under /customers/ (namespace "benefits")."""

from django.urls import path

from . import views_operations as views

urlpatterns = [
    path("<uuid:tenant_id>/reservations/<int:pk>/", views.reservation_detail, name="reservation"),
    path("<uuid:tenant_id>/reservations/<int:pk>/scope/", views.reservation_scope, name="reservation_scope"),
    path("<uuid:tenant_id>/reservations/<int:pk>/name/", views.reservation_name, name="reservation_name"),
    path("<uuid:tenant_id>/reservations/<int:pk>/renew/", views.reservation_renew, name="reservation_renew"),
    path("<uuid:tenant_id>/reservations/<int:pk>/refund/", views.refund_quote_new, name="refund_new"),
    path(
        "<uuid:tenant_id>/reservations/<int:pk>/refund/<int:operation_id>/",
        views.refund_quote,
        name="refund_quote",
    ),
    path(
        "<uuid:tenant_id>/reservations/<int:pk>/refund/confirm/", views.refund_confirm, name="refund_confirm"
    ),
    path("<uuid:tenant_id>/reservations/<int:pk>/exchange/", views.exchange_new, name="exchange_new"),
    path(
        "<uuid:tenant_id>/reservations/<int:pk>/exchange/<int:operation_id>/",
        views.exchange_quote,
        name="exchange_quote",
    ),
    path(
        "<uuid:tenant_id>/reservations/<int:pk>/exchange/confirm/",
        views.exchange_confirm,
        name="exchange_confirm",
    ),
    path("<uuid:tenant_id>/savings-plans/<int:pk>/", views.savings_plan_detail, name="savings_plan"),
    path(
        "<uuid:tenant_id>/savings-plans/<int:pk>/scope/", views.savings_plan_scope, name="savings_plan_scope"
    ),
    path("<uuid:tenant_id>/savings-plans/<int:pk>/name/", views.savings_plan_name, name="savings_plan_name"),
    path(
        "<uuid:tenant_id>/savings-plans/<int:pk>/renew/", views.savings_plan_renew, name="savings_plan_renew"
    ),
]
