"""The pages of signing in and of managing agents, in English and in Indonesian, with nothing left in
the other language: the Agents page, the second factor's pages, the lockout, the password pages and
Sign in with Microsoft's refusal and sign-out pages."""

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from activitylog.services import Origin
from agents.services import change_role
from tests.factories import PASSWORD

from . import english_left, indonesian_shown

pytestmark = pytest.mark.django_db

LANGUAGES = {"en": 0, "id": 1}


def check(html: str, language: str, catalogue, phrases: tuple[str, str]) -> None:
    assert f'<html lang="{language}">' in html
    assert phrases[LANGUAGES[language]] in html
    assert (english_left if language == "id" else indonesian_shown)(html, catalogue) == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("url", "phrases"), [
    (reverse("agents:list"), ("Change role", "Ubah peran")),
    (reverse("agents:add"), ("Add agent", "Tambahkan agen")),
    (reverse("password_change"), ("Change password", "Ubah kata sandi")),
])
def test_an_admins_pages(signed_in, agents, catalogue, language, url, phrases):
    response = signed_in(agents["admin_agent"]).get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == HTTPStatus.OK
    check(response.content.decode(), language, catalogue, phrases)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("url", "phrases"), [
    (reverse("password_reset"), ("Send the link", "Kirim tautan")),
    (reverse("password_reset_done"), ("Check your e-mail", "Periksa email Anda")),
    (reverse("signed_out"), ("You are signed out of the portal.", "Anda sudah keluar dari portal.")),
])
def test_pages_before_sign_in(client, catalogue, language, url, phrases):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == HTTPStatus.OK
    check(response.content.decode(), language, catalogue, phrases)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_second_factor_pages(settings, admin_agent, catalogue, language):
    settings.REQUIRE_MFA = True
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.post(reverse("login"), {"username": admin_agent.email, "password": PASSWORD})
    setup = client.get(reverse("mfa_setup"))
    check(setup.content.decode(), language, catalogue, ("Set up two-step sign-in", "Atur masuk dua langkah"))
    wrong = client.post(reverse("mfa_setup"), {"code": "000000"})
    check(wrong.content.decode(), language, catalogue, ("That code is not right", "Kode itu salah"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_lockout_page(admin_agent, catalogue, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    for _ in range(5):
        response = client.post(reverse("login"), {"username": admin_agent.email, "password": "wrong"})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    check(response.content.decode(), language, catalogue, ("Sign-in locked", "Masuk dikunci"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_activity_log_names_sign_ins_and_agent_changes(signed_in, agents, catalogue, language):
    Client().post(reverse("login"), {"username": "ghost@partner.example", "password": "x"})
    change_role(actor=agents["admin_agent"], agent=agents["sales_agent"], role="operator",
                origin=Origin.system("tests"))
    response = signed_in(agents["operator"]).get(reverse("activitylog:list"), HTTP_ACCEPT_LANGUAGE=language)
    html = response.content.decode()
    check(html, language, catalogue, ("Update Agent Role", "Perbarui Peran Agen"))
    assert ("Wrong e-mail address or password.", "Alamat email atau kata sandi salah.")[
        LANGUAGES[language]] in html
