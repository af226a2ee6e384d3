from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns

from . import views

urlpatterns = [
    path("bench/bare/<uuid:tenant_id>/", views.bare_account, name="bench_bare_account"),
    path("bench/minimal/<uuid:tenant_id>/", views.minimal_account, name="bench_minimal_account"),
    *portal_urlpatterns,
]
