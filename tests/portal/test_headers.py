"""Headers on every page: a strict Content-Security-Policy everywhere, `Cache-Control: private,
no-store` wherever customer or agent data is shown; no inline script or style to need more; a 403
logged as one line; gunicorn on loopback unless configured."""

import logging
import re
import runpy
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from activitylog.models import ActivityLogEntry, Status
from customers.models import Customer
from customers.services import add_customer
from tests.portal.test_views import every_page

pytestmark = pytest.mark.django_db

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def policy(response) -> set[str]:
    return {part.strip() for part in response["Content-Security-Policy"].split(";")}


INLINE = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)


def signed_in_pages(customer, admin_agent) -> list[tuple[str, str]]:
    return [*every_page(customer),
            ("get", reverse("agents:list")), ("get", reverse("agents:add")),
            ("post", reverse("agents:role", args=[admin_agent.pk])),
            ("get", reverse("api:tokens")), ("get", reverse("api:reference")),
            ("get", reverse("password_change")), ("get", "/admin/"),
            ("get", reverse("admin:portal_agent_changelist")),
            ("get", reverse("activitylog:export") + "?format=csv")]


def test_every_signed_in_page_has_the_policy_and_is_never_stored(client, admin_agent, customer):
    admin_agent.is_staff = admin_agent.is_superuser = True
    admin_agent.save()
    client.force_login(admin_agent)
    for method, url in signed_in_pages(customer, admin_agent):
        response = getattr(client, method)(url)
        assert policy(response) == set(CSP.split("; ")), url
        cache = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= cache, (url, response["Cache-Control"])
        if response.get("Content-Type", "").startswith("text/html") and not url.startswith("/admin"):
            assert not INLINE.search(response.content.decode()), url


@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/password/reset/", "/livez",
                                 "/customers/", "/no-such-page/"])
def test_pages_before_sign_in_have_the_policy(client, url):
    response = client.get(url)
    assert policy(response) == set(CSP.split("; "))
    if response["Content-Type"].startswith("text/html"):
        assert not INLINE.search(response.content.decode())


def test_the_api_is_never_stored(client):
    response = client.get("/v1/customers")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert policy(response) == set(CSP.split("; "))


def test_a_403_is_logged_without_a_traceback(signed_in, sales_agent, caplog):
    handler = logging.getLogger().handlers[0]
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            if all(f.filter(record) for f in handler.filters):
                records.append(record)

    keep = Keep()
    logging.getLogger("django.request").addHandler(keep)
    try:
        response = signed_in(sales_agent).get(reverse("customers:add"))
    finally:
        logging.getLogger("django.request").removeHandler(keep)
    assert response.status_code == HTTPStatus.FORBIDDEN
    [record] = records
    assert record.status_code == 403 and record.exc_info is None
    assert logging.Formatter().format(record) == "Forbidden (Permission denied): /customers/new/"


def test_gunicorn_binds_to_loopback_unless_configured(monkeypatch):
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    monkeypatch.setenv("PORT", "8123")
    assert runpy.run_path("gunicorn.conf.py")["bind"] == "127.0.0.1:8123"
    monkeypatch.setenv("GUNICORN_BIND", "0.0.0.0:9000")
    assert runpy.run_path("gunicorn.conf.py")["bind"] == "0.0.0.0:9000"


@pytest.mark.parametrize("domain", ["not a domain", "contoso", "-contoso.com", "contoso..com",
                                    "con_toso.com", "contoso.com/evil", "x" * 64 + ".com", "müller.de"])
def test_a_customer_domain_must_be_a_domain_name(admin_agent, origin, domain):
    # Customers are added in Partner Center (the page links there); the service, for seed data, checks.
    with pytest.raises(ValidationError, match="Enter a domain name"):
        add_customer(actor=admin_agent, origin=origin, company_name="Bad", domain=domain)
    assert not Customer.objects.filter(company_name="Bad").exists()
    assert not ActivityLogEntry.objects.exclude(status=Status.FAILED).exists()


def test_the_service_refuses_a_bad_domain_and_logs_it(admin_agent, origin):

    with pytest.raises(ValidationError):
        add_customer(actor=admin_agent, origin=origin, company_name="Bad", domain="bad domain")
    [entry] = ActivityLogEntry.objects.all()
    assert entry.status == Status.FAILED and "domain name" in entry.failure_reason
