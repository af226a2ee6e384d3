from django.urls import path

from . import views

app_name = "purchases"

# Per customer pages, mounted with the customer's other pages in the "customers" namespace.
customer_urlpatterns = [
    path("<uuid:tenant_id>/orders/", views.order_history, name="orders"),
    path("<uuid:tenant_id>/reservations/", views.reservations, name="reservations"),
    path("<uuid:tenant_id>/savings-plans/", views.savings_plans, name="savings_plans"),
    path("<uuid:tenant_id>/account/purchase-limit/", views.purchase_limit, name="purchase_limit"),
    path("<uuid:tenant_id>/account/cost-visibility/", views.cost_visibility, name="cost_visibility"),
]

urlpatterns = [
    path("", views.customer_purchases, name="list"),
    path("export.csv", views.customer_purchases_export, name="export"),
    path("profile/", views.profile, name="profile"),
]
