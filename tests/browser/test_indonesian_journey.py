"""The Admin agent's whole job in Bahasa Indonesia, in a real browser: from adding a customer to
allowing its purchases and finding that in the Log Aktivitas, without meeting an English message."""

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from activitylog.models import Action, ActivityLogEntry, Source, Status
from customers.models import Customer, CustomerUser, RoleAssignment, Subscription
from microsoft.scenario import CustomerBuilder
from microsoft.sync import run_sync
from outbox.worker import drain
from permissions.models import PurchasePermission, Resource
from portal.models import Agent

from ..factories import PASSWORD
from ..i18n import english_left, english_to_indonesian
from ..microsoft.conftest import microsoft  # noqa: F401  (the simulator with the portal's credentials)

pytestmark = pytest.mark.browser


@pytest.fixture
def indonesian_page(browser: Browser, live_server):
    """A browser set to Indonesian (Accept-Language: id-ID), as a person in Jakarta would have."""
    context = browser.new_context(locale="id-ID", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def no_english(page: Page) -> None:
    assert english_left(page.content(), english_to_indonesian()) == [], page.url


@pytest.fixture
def nusantara(microsoft, settings):  # noqa: F811
    """A customer Partner Center has with nothing yet (no plan, no user), synced into the mirror."""
    settings.OUTBOX_BACKOFF_SECONDS = 0
    settings.MICROSOFT_MAX_RETRIES = 0
    builder = CustomerBuilder("PT Nusantara Digital", domain="nusantaradigital.onmicrosoft.com")
    microsoft.load([builder])
    run_sync()
    return Customer.objects.get(tenant_id=builder.tenant_id)


def test_admin_agent_does_the_whole_job_in_indonesian(indonesian_page: Page, admin_agent, nusantara):
    page = indonesian_page
    page.goto(reverse("login"))
    expect(page.locator("html")).to_have_attribute("lang", "id")
    no_english(page)
    page.get_by_label("Alamat email").fill(admin_agent.email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name="Pelanggan", level=1)).to_be_visible()
    expect(page.locator(".role-badge")).to_have_text("Agen admin")

    # A customer is added in Partner Center: the page links there and writes nothing.
    page.get_by_role("link", name="Tambahkan pelanggan").first.click()
    expect(page.locator("main a[href*='partner.microsoft.com']").first).to_be_visible()
    no_english(page)
    assert list(Customer.objects.all()) == [nusantara]  # the page added none
    customer = nusantara
    page.goto(reverse("customers:account", args=[customer.tenant_id]))
    permissions = page.locator("#customer-permissions")
    expect(permissions.get_by_role("heading", name="Izin Pelanggan")).to_be_visible()
    expect(permissions.get_by_role("heading", name="Sebelum pelanggan dapat membeli")).to_be_visible()
    no_english(page)

    # The readiness steps queue for Microsoft; the worker applies them and the mirror follows.
    page.get_by_role("navigation", name="Pelanggan").get_by_role("link", name="Langganan").click()
    page.get_by_role("link", name="Beli paket Azure").first.click()
    page.get_by_role("button", name="Beli paket Azure").click()
    no_english(page)
    assert not Subscription.objects.filter(customer=customer).exists()
    assert drain() == 1
    assert Subscription.objects.filter(customer=customer).count() == 1
    page.get_by_role("navigation", name="Pelanggan").get_by_role("link", name="Pengguna").click()
    page.get_by_role("link", name="Tambahkan pengguna").first.click()
    page.get_by_label("Nama masuk").fill("budi@nusantaradigital.onmicrosoft.com")
    page.get_by_label("Nama tampilan").fill("Budi Santoso")
    page.get_by_label("Lokasi penggunaan").fill("ID")
    page.get_by_role("button", name="Tambahkan pengguna").click()
    no_english(page)
    assert not CustomerUser.objects.filter(customer=customer).exists()
    assert drain() == 1
    page.get_by_role("navigation", name="Pelanggan").get_by_role("link", name="Langganan").click()
    assert CustomerUser.objects.get(customer=customer).display_name == "Budi Santoso"
    page.get_by_role("link", name="Berikan peran").click()
    expect(page.get_by_label("Peran")).to_have_value(RoleAssignment.Role.OWNER)
    page.get_by_role("button", name="Berikan peran").click()
    no_english(page)
    assert drain() == 1
    assert RoleAssignment.objects.filter(principal_sign_in_name="budi@nusantaradigital.onmicrosoft.com",
                                         role=RoleAssignment.Role.OWNER).count() == 1

    page.get_by_role("navigation", name="Pelanggan").get_by_role("link", name="Akun").click()
    permissions.get_by_role("link", name="Edit").click()
    reservations = permissions.get_by_role("group", name="Reservasi Azure")
    expect(reservations.get_by_label("Jangan izinkan pelanggan untuk membeli")).to_be_checked()
    reservations.get_by_label("Izinkan pelanggan membeli", exact=True).check()
    no_english(page)
    permissions.get_by_role("button", name="Simpan").click()
    expect(page.get_by_role("heading", name="Konfirmasi: izinkan pelanggan membeli sendiri")).to_be_visible()
    no_english(page)
    page.get_by_role("button", name="Saya mengerti: izinkan").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Izin pelanggan untuk PT Nusantara Digital disimpan.")
    reservations_row = permissions.get_by_role("row", name="Reservasi Azure")
    expect(reservations_row).to_contain_text("Izinkan pelanggan membeli")
    expect(reservations_row).to_contain_text("UTC")
    expect(permissions.get_by_role("row", name="Paket penghematan Azure")).to_contain_text(
        "Jangan izinkan pelanggan untuk membeli")
    no_english(page)

    # The Log Aktivitas names it as Partner Center does, in Indonesian.
    page.get_by_role("navigation", name="Utama").get_by_role("link", name="Log Aktivitas").click()
    expect(page.get_by_role("columnheader", name="Tanggal-Waktu (UTC)")).to_be_visible()
    newest = page.locator("tbody.log-entry").first
    expect(newest.get_by_role("row").first).to_contain_text("Buat Izin Pembelian Pelanggan")
    expect(newest).to_contain_text("Berhasil")
    newest.get_by_text("Detail").click()
    expect(newest.locator("dt:text-is('Nilai baru') + dd")).to_contain_text("AzureReservedInstances")
    expect(newest.locator("dt:text-is('Sumber daya') + dd")).to_contain_text("Izin pembelian pelanggan")
    no_english(page)

    assert list(PurchasePermission.objects.values_list("customer", "resource")) == [
        (customer.pk, Resource.AZURE_RESERVATIONS)]
    logged = ActivityLogEntry.objects.filter(customer=customer, source=Source.WEB).order_by(
        "occurred_at", "id")
    assert [(e.action, e.status) for e in logged] == [(Action.CREATE_ORDER, Status.SUCCEEDED),
        (Action.ADD_CUSTOMER_USER, Status.SUCCEEDED), (Action.CREATE_ROLE_ASSIGNMENT, Status.SUCCEEDED),
        (Action.CREATE_PURCHASE_PERMISSION, Status.SUCCEEDED)]
    # The browser's language alone is not a stored preference.
    assert Agent.objects.get(pk=admin_agent.pk).language == ""


def test_a_language_switched_on_the_sign_in_page_stays_after_signing_out_and_in(page: Page, sales_agent):
    page.goto(reverse("login"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    page.get_by_label("Alamat email").fill(sales_agent.email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.locator(".role-badge")).to_have_text("Agen penjualan")
    assert Agent.objects.get(pk=sales_agent.pk).language == "id"

    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("E-mail address").fill(sales_agent.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # The stored preference wins over the sign-in page's English.
    expect(page.get_by_role("heading", name="Pelanggan", level=1)).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Customers", level=1)).to_be_visible()
    assert Agent.objects.get(pk=sales_agent.pk).language == "en"
