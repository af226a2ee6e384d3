"""Every page, for every role, in English and in Indonesian: the language the browser asks for,
the page's key phrase in that language, and no message of the catalogue left in the other one."""

import re
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

from activitylog.services import Origin
from customers import services as customer_services
from permissions.models import Resource
from permissions.services import set_purchase_permissions
from portal.models import Agent
from tests.factories import CustomerFactory, RoleAssignmentFactory, SubscriptionFactory

from . import english_left, indonesian_shown

ADMIN = Agent.Role.ADMIN_AGENT.value
ALL_ROLES = [role.value for role in Agent.Role]
AUDITORS = [ADMIN, Agent.Role.OPERATOR.value]

# name, who may open it, and its key phrase in English and in Indonesian.
PAGES = [
    ("customers:list", ALL_ROLES, "Customers", "Pelanggan"),
    ("customers:add", [ADMIN], "Add customer", "Tambahkan pelanggan"),
    ("customers:account", ALL_ROLES, "Customer Permissions", "Izin Pelanggan"),
    ("customers:permissions", [ADMIN], "Allow customer to purchase", "Izinkan pelanggan membeli"),
    ("customers:subscriptions", ALL_ROLES, "Role assignments", "Penetapan peran"),
    ("customers:subscription_buy", [ADMIN], "Buy Azure plan", "Beli paket Azure"),
    ("customers:role_grant", [ADMIN], "Grant role", "Berikan peran"),
    ("customers:users", ALL_ROLES, "Display name", "Nama tampilan"),
    ("customers:user_add", [ADMIN], "Add a user", "Tambahkan pengguna"),
    ("customers:history", ALL_ROLES, "Create Customer Purchase Permissions",
     "Buat Izin Pembelian Pelanggan"),
    ("activitylog:list", AUDITORS, "Date-Time (UTC)", "Tanggal-Waktu (UTC)"),
    ("permissions:access_review", AUDITORS, "Mark the selected customers reviewed",
     "Tandai pelanggan yang dipilih sudah ditinjau"),
    ("api:tokens", ALL_ROLES, "Create token", "Buat token"),
    ("api:reference", ALL_ROLES, "No token needed.", "Tidak perlu token."),
]
FORBIDDEN = ("You don’t have access to this page", "Anda tidak memiliki akses ke halaman ini")
LANGUAGES = {"en": 0, "id": 1}


@pytest.fixture
def portal(db, admin_agent):
    """A customer in use: a named subscription, an Owner, a Reader, reservations allowed (so the
    Last changed column and the log have entries), and a refused attempt in the log."""
    customer = CustomerFactory(company_name="Contoso Ltd", domain="contoso.onmicrosoft.com")
    subscription = SubscriptionFactory(customer=customer, friendly_name="Contoso production")
    RoleAssignmentFactory(subscription=subscription, customer_user__display_name="Budi Santoso")
    RoleAssignmentFactory(subscription=subscription, role="reader",
                          customer_user__display_name="Siti Rahma")
    origin = Origin.system("tests")
    set_purchase_permissions(actor=admin_agent, customer=customer,
                             allowed={Resource.AZURE_RESERVATIONS: True}, origin=origin)
    with pytest.raises(Exception):  # noqa: B017 - any refusal; only its log entry matters here
        customer_services.add_customer(actor=admin_agent, origin=origin, company_name="Dup",
                                       domain="contoso.onmicrosoft.com")
    return customer


def url_of(name: str, customer) -> str:
    if name in {"customers:list", "customers:add", "activitylog:list", "api:tokens", "api:reference",
                "permissions:access_review"}:
        return reverse(name)
    if name == "customers:role_grant":
        subscription = customer.subscriptions.get()
        return reverse(name, args=[customer.tenant_id, subscription.subscription_id])
    return reverse(name, args=[customer.tenant_id])


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize(("name", "allowed", "english", "indonesian"), PAGES,
                         ids=[page[0] for page in PAGES])
def test_every_page_reads_in_the_language_asked_for(client, agents, portal, catalogue, role, language,
                                                    name, allowed, english, indonesian):
    client.force_login(agents[role])

    response = client.get(url_of(name, portal), HTTP_ACCEPT_LANGUAGE=language)

    html = response.content.decode()
    phrase = (english, indonesian) if role in allowed else FORBIDDEN
    assert response.status_code == (HTTPStatus.OK if role in allowed else HTTPStatus.FORBIDDEN)
    assert f'<html lang="{language}">' in html
    assert response["Content-Language"] == language
    assert phrase[LANGUAGES[language]] in html
    assert phrase[1 - LANGUAGES[language]] not in html
    assert agents[role].get_role_display() in html
    if language == "id":
        assert english_left(html, catalogue) == []
    else:
        assert indonesian_shown(html, catalogue) == []


@pytest.mark.parametrize(("language", "phrases"), [
    ("en", ["Sign in", "E-mail address", "Password"]),
    ("id", ["Masuk", "Alamat email", "Kata sandi"]),
])
def test_the_sign_in_page_reads_in_the_browsers_language(client, catalogue, language, phrases):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=language)

    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert all(phrase in html for phrase in phrases)
    assert (english_left if language == "id" else indonesian_shown)(html, catalogue) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_not_found_page_reads_in_the_language_asked_for(signed_in, sales_agent, catalogue, language):
    response = signed_in(sales_agent).get("/customers/00000000-0000-0000-0000-000000000000/account/",
                                          HTTP_ACCEPT_LANGUAGE=language)

    html = response.content.decode()
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert ("Page not found", "Halaman tidak ditemukan")[LANGUAGES[language]] in html
    assert f'<html lang="{language}">' in html


def test_indonesian_form_errors_come_from_both_catalogues(signed_in, admin_agent, catalogue,
                                                         unready_customer):
    """Our messages and Django's own ("This field is required.") are both Indonesian, and a refused
    form saves nothing."""
    response = signed_in(admin_agent).post(
        reverse("customers:user_add", args=[unready_customer.tenant_id]), {"display_name": ""},
        HTTP_ACCEPT_LANGUAGE="id")

    html = response.content.decode()
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Tidak ada yang disimpan." in html
    assert "Bidang ini tidak boleh kosong." in html
    assert "This field is required." not in html
    assert english_left(html, catalogue) == []
    assert not unready_customer.users.exists()


def test_a_service_refusal_is_shown_in_indonesian(signed_in, admin_agent, unready_customer):
    response = signed_in(admin_agent).post(
        reverse("customers:permissions", args=[unready_customer.tenant_id]),
        {Resource.AZURE_RESERVATIONS.value: "allow", Resource.AZURE_SAVINGS_PLAN.value: "deny"},
        HTTP_ACCEPT_LANGUAGE="id")

    html = response.content.decode()
    assert "Tidak ada yang diubah." in html
    assert "Pelanggan tidak memiliki langganan paket Azure atau Azure Global yang aktif." in html
    assert not unready_customer.purchase_permissions.exists()


def test_a_wrong_password_is_refused_in_indonesian(client, admin_agent):
    response = client.post(reverse("login"), {"username": admin_agent.email, "password": "wrong"},
                           HTTP_ACCEPT_LANGUAGE="id")

    html = response.content.decode()
    assert "Masukkan alamat email dan kata sandi yang benar." in html
    assert "_auth_user_id" not in client.session


def test_language_names_stay_in_their_own_language_in_the_switcher(client):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="id").content.decode()

    switcher = re.search(r'<form class="language-switcher".*?</form>', html, re.S).group(0)
    assert 'name="language" value="en" lang="en">English</button>' in switcher
    assert 'lang="id" aria-current="true">Bahasa Indonesia<' in switcher


def test_the_server_error_page_reads_in_the_requests_language_without_a_switcher(rf):
    """Django renders the 500 page without the request (and so without a CSRF token): it still reads
    in the language the request was in, and offers no form that could not be posted."""
    with translation.override("id"):
        response = server_error(rf.get("/"))

    html = response.content.decode()
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert '<html lang="id">' in html
    assert "Terjadi kesalahan" in html
    assert "language-switcher" not in html
