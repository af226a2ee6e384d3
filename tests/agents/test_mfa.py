"""TOTP second factor for password sign-in: enrolment with a QR code, recovery codes, required for
every agent when REQUIRE_MFA is on; PASSWORD_SIGN_IN=false leaves only Sign in with Microsoft."""

import datetime as dt
import re
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from activitylog.models import Action, ActivityLogEntry, Status
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

CUSTOMERS = reverse("customers:list")


@pytest.fixture
def mfa_on(settings):
    settings.REQUIRE_MFA = True


def password_sign_in(email: str) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": email, "password": PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    return client


def code_of(device: TOTPDevice, drift: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):06d}"


def enrol(client: Client, agent) -> tuple[TOTPDevice, list[str]]:
    page = client.get(reverse("mfa_setup"))
    assert page.status_code == HTTPStatus.OK
    device = TOTPDevice.objects.get(user=agent, confirmed=False)
    response = client.post(reverse("mfa_setup"), {"code": code_of(device), "next": CUSTOMERS})
    assert response.status_code == HTTPStatus.OK
    codes = response.context["codes"]
    return TOTPDevice.objects.get(pk=device.pk), codes


def test_with_mfa_required_a_password_alone_reaches_no_page(mfa_on, admin_agent, customer):
    client = password_sign_in("admin@partner.example")
    for url in (CUSTOMERS, reverse("customers:account", args=[customer.tenant_id]),
                reverse("activitylog:list"), reverse("agents:list"), "/admin/"):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"].startswith(reverse("mfa_setup")), url
    response = client.post(reverse("customers:add"), {"company_name": "X", "domain": "x.onmicrosoft.com"})
    assert response.status_code == HTTPStatus.FOUND
    assert not ActivityLogEntry.objects.exists()


def test_enrolment_shows_a_qr_code_drawn_on_the_server(mfa_on, admin_agent):
    client = password_sign_in("admin@partner.example")
    body = client.get(reverse("mfa_setup")).content.decode()
    assert "<svg" in body and "<path" in body
    assert "<script" not in body
    device = TOTPDevice.objects.get(user=admin_agent)
    assert re.search(r"[A-Z2-7]{32}", body)  # the key to type, in base32
    assert not device.confirmed


def test_enrolment_then_sign_in_with_a_code(mfa_on, admin_agent):
    client = password_sign_in("admin@partner.example")
    device, codes = enrol(client, admin_agent)
    assert device.confirmed and len(codes) == 10 and len(set(codes)) == 10
    assert client.get(CUSTOMERS).status_code == HTTPStatus.OK

    again = password_sign_in("admin@partner.example")
    assert again.get(CUSTOMERS)["Location"].startswith(reverse("mfa_verify"))
    wrong = again.post(reverse("mfa_verify"), {"code": "000000"})
    assert wrong.status_code == HTTPStatus.BAD_REQUEST
    assert again.get(CUSTOMERS).status_code == HTTPStatus.FOUND
    # Right after a wrong code even the right one waits (django-otp's throttling)...
    throttled = again.post(reverse("mfa_verify"), {"code": code_of(device, drift=1)})
    assert throttled.status_code == HTTPStatus.BAD_REQUEST
    assert "wait a few seconds" in throttled.content.decode()
    # ... and once the wait is over (here: the last failure moved back), it signs in.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - dt.timedelta(seconds=30))
    right = again.post(reverse("mfa_verify"), {"code": code_of(device, drift=1), "next": CUSTOMERS})
    assert right.status_code == HTTPStatus.FOUND and right["Location"] == CUSTOMERS
    assert again.get(CUSTOMERS).status_code == HTTPStatus.OK
    failed, _throttled = ActivityLogEntry.objects.filter(action=Action.SIGN_IN).order_by("id")
    assert failed.status == Status.FAILED and failed.actor == admin_agent
    assert failed.failure_reason == "Wrong verification code."


def test_a_wrong_enrolment_code_confirms_nothing(mfa_on, admin_agent):
    client = password_sign_in("admin@partner.example")
    client.get(reverse("mfa_setup"))
    response = client.post(reverse("mfa_setup"), {"code": "123"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    assert not StaticToken.objects.exists()
    assert client.get(CUSTOMERS).status_code == HTTPStatus.FOUND


def test_a_recovery_code_signs_in_once(mfa_on, admin_agent):
    _device, codes = enrol(password_sign_in("admin@partner.example"), admin_agent)
    first = password_sign_in("admin@partner.example")
    assert first.post(reverse("mfa_verify"), {"code": codes[0]}).status_code == HTTPStatus.FOUND
    assert first.get(CUSTOMERS).status_code == HTTPStatus.OK
    second = password_sign_in("admin@partner.example")
    assert second.post(reverse("mfa_verify"), {"code": codes[0]}).status_code == HTTPStatus.BAD_REQUEST
    assert second.get(CUSTOMERS).status_code == HTTPStatus.FOUND
    assert StaticToken.objects.count() == 9


def test_an_open_redirect_after_the_code_goes_home(mfa_on, admin_agent):
    device, _codes = enrol(password_sign_in("admin@partner.example"), admin_agent)
    client = password_sign_in("admin@partner.example")
    response = client.post(reverse("mfa_verify"), {"code": code_of(device, drift=1),
                                                   "next": "https://evil.example/"})
    assert response["Location"] == CUSTOMERS


def test_without_mfa_required_a_password_is_enough(admin_agent):
    assert password_sign_in("admin@partner.example").get(CUSTOMERS).status_code == HTTPStatus.OK


def test_password_sign_in_turned_off(settings, admin_agent):
    settings.PASSWORD_SIGN_IN = False
    client = Client()
    page = client.get(reverse("login")).content.decode()
    assert 'type="password"' not in page
    response = client.post(reverse("login"), {"username": "admin@partner.example", "password": PASSWORD})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "turned off" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("password_reset")).status_code == HTTPStatus.NOT_FOUND
