from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

import customers.urls
import permissions.urls
import purchases.urls
from agents import entra, mfa, signin_views

from . import views


def password_page(view_class):
    return signin_views.password_pages_on(view_class.as_view())


# One section of the site, served by two apps: customers (its list, subscriptions and users) and
# permissions (the Account page, which shows the customer's readiness and purchase permissions).
customer_pages = [*customers.urls.urlpatterns, *permissions.urls.urlpatterns,
                  *purchases.urls.customer_urlpatterns]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="customers:list"), name="home"),
    path("accounts/login/", signin_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", signin_views.SignOutView.as_view(), name="logout"),
    path("accounts/signed-out/", entra.signed_out, name="signed_out"),
    path("oidc/authenticate/", login_not_required(entra.SignInWithMicrosoft.as_view()),
         name="oidc_authentication_init"),
    path("oidc/callback/", login_not_required(entra.MicrosoftCallback.as_view()),
         name="oidc_authentication_callback"),
    path("accounts/password/change/", password_page(signin_views.PasswordChangeView), name="password_change"),
    path("accounts/password/change/done/", password_page(auth_views.PasswordChangeDoneView),
         name="password_change_done"),
    path("accounts/password/reset/", password_page(auth_views.PasswordResetView), name="password_reset"),
    path("accounts/password/reset/sent/", password_page(auth_views.PasswordResetDoneView),
         name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/", password_page(signin_views.PasswordResetConfirmView),
         name="password_reset_confirm"),
    path("accounts/password/reset/done/", password_page(auth_views.PasswordResetCompleteView),
         name="password_reset_complete"),
    path("accounts/mfa/", mfa.verify, name="mfa_verify"),
    path("accounts/mfa/setup/", mfa.setup, name="mfa_setup"),
    path("language/", views.set_language, name="set_language"),
    path("customers/", include((customer_pages, "customers"))),
    # issue 13: the partner's operations on a customer's reservations and savings plans
    path("customers/", include(("purchases.operation_urls", "benefits"))),
    path("activity-log/", include("activitylog.urls")),
    path("agents/", include("agents.urls")),
    path("access-review/", include("permissions.review_urls")),
    path("microsoft/", include("microsoft.urls")),
    path("purchases/", include("purchases.urls")),
    path("", include("api.urls")),
    path("admin/", admin.site.urls),
    path("livez", views.livez, name="livez"),
    path("readyz", views.readyz, name="readyz"),
]

handler403 = "activitylog.views.permission_denied"
