"""A second factor for password sign-in: TOTP (an authenticator app) with recovery codes (django-otp).

With REQUIRE_MFA on, an agent who signed in with a password reaches no page but these until the
session is verified: the first time by enrolling an authenticator app (a QR code, drawn on the
server as SVG) and receiving ten recovery codes, then at every sign-in by a code. A Microsoft Entra
sign-in needs none of this: Entra did the multi-factor sign-in, and its ID token says so.
"""

import segno
from django import forms
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from activitylog.models import Action, ResourceType, Status
from activitylog.services import Origin, record, refusal_messages, refusal_reason

RECOVERY_CODES = 10
CODE_REFUSED = _("Wrong verification code.")
WRONG_CODE = _(
    "That code is not right, or was used already. Enter the code your authenticator app shows now.")
THROTTLED = _("Wrong code. After a wrong code the next one is checked only after a short wait, longer "
              "after each wrong code: wait a few seconds, then enter the code the app shows then.")
# The paths an unverified password sign-in may still reach.
OPEN_PREFIXES = ("/accounts/mfa/", "/accounts/logout/", "/language/", "/static/", "/livez", "/readyz",
                 "/v1/", "/oidc/")


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32, strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                         "inputmode": "numeric", "autofocus": True}))


def signed_in_with_password(request: HttpRequest) -> bool:
    return request.session.get(BACKEND_SESSION_KEY, "").endswith("ModelBackend")


def needs_second_factor(request: HttpRequest) -> bool:
    user = request.user
    return (settings.REQUIRE_MFA and user.is_authenticated and signed_in_with_password(request)
            and not user.is_verified())


class SecondFactorMiddleware:
    """With REQUIRE_MFA on, a password sign-in without a verified second factor is sent to verify
    (or, the first time, to enrol) before any other page. After django_otp's OTPMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if needs_second_factor(request) and not request.path.startswith(OPEN_PREFIXES) \
                and not request.path.startswith("/admin/logout/"):
            target = "mfa_verify" if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists() \
                else "mfa_setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _record_wrong_code(request: HttpRequest) -> None:
    refusal = ValidationError(CODE_REFUSED)
    record(action=Action.SIGN_IN, actor=request.user, origin=Origin.from_request(request),
           resource_type=ResourceType.SIGN_IN, resource_id=request.user.email, status=Status.FAILED,
           failure_reason=refusal_reason(refusal), failure_messages=refusal_messages(refusal),
           new_value={"second_factor": True})


def _qr_svg(device: TOTPDevice) -> str:
    # Drawn on the server, no script: an <svg> with one path, nothing a browser needs to fetch.
    return segno.make(device.config_url, error="m").svg_inline(scale=4, border=2, title=str(_("QR code")))


@never_cache
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the QR code (or type the key), confirm with a code."""
    user = request.user
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return redirect(f"{reverse('mfa_verify')}?{urlencode({'next': _next(request)})}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=False)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            codes = _new_recovery_codes(user)
            return render(request, "registration/mfa_recovery_codes.html",
                          {"codes": codes, "next": _next(request)})
        _record_wrong_code(request)
        form.add_error("code", WRONG_CODE)
    key = device.config_url.split("secret=")[1].split("&")[0]
    return render(request, "registration/mfa_setup.html", {
        "form": form, "qr_svg": _qr_svg(device), "key": key, "next": _next(request)},
        status=400 if form.errors else 200)


def _new_recovery_codes(user) -> list[str]:
    static, _created = StaticDevice.objects.get_or_create(user=user, name="Recovery codes")
    static.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=code) for code in codes])
    return codes


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of a password sign-in: a code from the app, or one recovery code."""
    user = request.user
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True)) + list(
        StaticDevice.objects.filter(user=user, confirmed=True))
    if not devices:
        return redirect(f"{reverse('mfa_setup')}?{urlencode({'next': _next(request)})}")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].replace(" ", "")
        for device in devices:
            verified = verify_token(user, device.persistent_id, code)
            if verified is not None:
                otp_login(request, verified)
                return redirect(_next(request))
        _record_wrong_code(request)
        throttled = any(not device.verify_is_allowed()[0] for device in devices)
        form.add_error("code", THROTTLED if throttled else WRONG_CODE)
    return render(request, "registration/mfa_verify.html", {"form": form, "next": _next(request)},
                  status=400 if form.errors else 200)
