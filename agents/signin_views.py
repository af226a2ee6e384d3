"""The sign-in pages: Django's own views, with Sign in with Microsoft offered, passwords that can be
turned off (PASSWORD_SIGN_IN), and password changes saved and logged by the agent service."""

import functools

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.http import Http404
from django.shortcuts import redirect

from activitylog.services import Origin
from portal.forms import SignInForm

from . import services
from .entra import signed_in_with_microsoft


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
