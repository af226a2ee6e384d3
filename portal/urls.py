from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from . import views
from .forms import SignInForm

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="customers:list"), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(
        redirect_authenticated_user=True, authentication_form=SignInForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language, name="set_language"),
    path("customers/", include("customers.urls")),
    path("activity-log/", include("activitylog.urls")),
    path("access-review/", include("permissions.urls")),
    path("", include("api.urls")),
    path("admin/", admin.site.urls),
    path("livez", views.livez, name="livez"),
    path("readyz", views.readyz, name="readyz"),
]

handler403 = "portal.views.permission_denied"
