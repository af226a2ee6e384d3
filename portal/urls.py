from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

import customers.urls
import permissions.urls
import purchases.urls

from . import views
from .forms import SignInForm

# One section of the site, served by two apps: customers (its list, subscriptions and users) and
# permissions (the Account page, which shows the customer's readiness and purchase permissions).
customer_pages = [*customers.urls.urlpatterns, *permissions.urls.urlpatterns,
                  *purchases.urls.customer_urlpatterns]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="customers:list"), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(
        redirect_authenticated_user=True, authentication_form=SignInForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language, name="set_language"),
    path("customers/", include((customer_pages, "customers"))),
    # issue 13: the partner's operations on a customer's reservations and savings plans
    path("customers/", include(("purchases.operation_urls", "benefits"))),
    path("activity-log/", include("activitylog.urls")),
    path("microsoft/", include("microsoft.urls")),
    path("purchases/", include("purchases.urls")),
    path("", include("api.urls")),
    path("admin/", admin.site.urls),
    path("livez", views.livez, name="livez"),
    path("readyz", views.readyz, name="readyz"),
]
