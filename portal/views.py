import functools

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views import i18n as i18n_views
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import LANGUAGE_QUERY_PARAMETER

from activitylog.services import Origin

from . import services
from .entra import signed_in_with_microsoft
from .forms import SignInForm


@login_not_required
@never_cache
@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    """The process answers; says nothing about its dependencies."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database answers and every migration is applied."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    if pending:
        return JsonResponse({"status": "unavailable", "database": "ok",
                             "pending_migrations": len(pending)}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie, then back to `next`), and a signed-in agent keeps the choice."""
    response = i18n_views.set_language(request)
    language = request.POST.get(LANGUAGE_QUERY_PARAMETER, "")
    agent = request.user
    if agent.is_authenticated and language in dict(settings.LANGUAGES) and agent.language != language:
        agent.language = language
        agent.save(update_fields=["language"])
    return response


class SignInView(auth_views.LoginView):
    """Django's sign-in page, offering what is turned on: Sign in with Microsoft (when ENTRA_CLIENT_ID
    is set) and the portal's own passwords (unless PASSWORD_SIGN_IN is off, which refuses a posted
    password without checking it)."""

    authentication_form = SignInForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if not settings.PASSWORD_SIGN_IN:
            return self.render_to_response(self.get_context_data(password_refused=True), status=403)
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, password_sign_in=settings.PASSWORD_SIGN_IN,
                                        entra_sign_in=bool(settings.ENTRA_CLIENT_ID))


class SignOutView(auth_views.LogoutView):
    """Django's sign-out; after a Microsoft sign-in, a page offering Microsoft's sign-out too."""

    def post(self, request, *args, **kwargs):
        microsoft = signed_in_with_microsoft(request)
        response = super().post(request, *args, **kwargs)
        return redirect("signed_out") if microsoft else response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, saved and logged by the agent service."""

    def form_valid(self, form):
        services.change_password(agent=form.user, form=form, origin=Origin.from_request(self.request),
                                 by_reset=False)
        # As Django's view: the other sessions end, this one stays.
        update_session_auth_hash(self.request, form.user)
        return redirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset by e-mail link, the new password saved and logged by the agent service."""

    def form_valid(self, form):
        services.change_password(agent=form.user, form=form, origin=Origin.from_request(self.request),
                                 by_reset=True)
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        return redirect(self.get_success_url())


def password_pages_on(view):
    """A page of the portal's own passwords (change, reset): 404 when PASSWORD_SIGN_IN is off."""
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.PASSWORD_SIGN_IN:
            raise Http404
        return view(request, *args, **kwargs)
    return wrapped
