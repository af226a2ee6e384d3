"""Password sign-in under guessing: throttled per account and per address (django-axes), each
counted failure and the lockout in the activity log, the password never checked while locked out;
the client's address from trusted proxies only; password change and reset by e-mail."""

import datetime as dt
import re
from http import HTTPStatus

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.test import Client
from django.urls import reverse

from activitylog.models import Action, ActivityLogEntry, Status
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
LIMIT = 5


class CountingHasher(MD5PasswordHasher):
    """Django's MD5 hasher, counting how often a password is hashed."""

    algorithm = "counting_md5"
    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings, admin_agent):
    settings.PASSWORD_HASHERS = ["tests.agents.test_signin.CountingHasher"]
    admin_agent.set_password(PASSWORD)
    admin_agent.save()
    CountingHasher.calls = 0
    return CountingHasher


def sign_in(email: str, password: str, address: str = "203.0.113.5", **extra):
    client = Client(REMOTE_ADDR=address, **extra)
    return client, client.post(LOGIN, {"username": email, "password": password})


def sign_ins():
    return list(ActivityLogEntry.objects.filter(action=Action.SIGN_IN).order_by("id"))


def test_the_guess_after_the_limit_is_refused_and_so_is_the_right_password(admin_agent, hashes):
    for _ in range(LIMIT - 1):
        assert sign_in("admin@partner.example", "wrong")[1].status_code == HTTPStatus.OK
    locking = sign_in("Admin@Partner.Example", "wrong")[1]
    assert locking.status_code == HTTPStatus.TOO_MANY_REQUESTS
    hashed = hashes.calls

    client, right = sign_in("admin@partner.example", PASSWORD)
    assert right.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Sign-in locked" in right.content.decode() and "15 minutes" in right.content.decode()
    assert "_auth_user_id" not in client.session
    # Locked out: no password was hashed, nothing more was written.
    assert hashes.calls == hashed
    entries = sign_ins()
    assert len(entries) == LIMIT
    assert all(e.status == Status.FAILED and e.actor is None for e in entries)
    assert {e.resource_id for e in entries} == {"admin@partner.example"}
    assert [e.new_value["locked_out"] for e in entries] == [False] * (LIMIT - 1) + [True]
    assert entries[-1].failure_reason == "Too many failed sign-ins: locked for 15 minutes."
    assert entries[0].failure_reason == "Wrong e-mail address or password."
    assert str(entries[0].client_ip) == "203.0.113.5"


def test_after_the_cool_off_the_right_password_works_again(admin_agent):
    for _ in range(LIMIT):
        sign_in("admin@partner.example", "wrong")
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))

    client, response = sign_in("admin@partner.example", PASSWORD)

    assert response.status_code == HTTPStatus.FOUND
    assert client.session["_auth_user_id"] == str(admin_agent.pk)
    # A success clears the count: one more wrong password is not a lockout.
    assert sign_in("admin@partner.example", "wrong")[1].status_code == HTTPStatus.OK


def test_one_address_guessing_many_accounts_is_locked_out(admin_agent):
    for n in range(LIMIT):
        sign_in(f"nobody{n}@partner.example", "wrong", address="198.51.100.7")
    assert sign_in("admin@partner.example", PASSWORD, address="198.51.100.7")[1].status_code == 429
    # Another address still signs the agent in.
    assert sign_in("admin@partner.example", PASSWORD, address="198.51.100.8")[1].status_code == 302


def test_one_account_guessed_from_many_addresses_is_locked_out(admin_agent):
    for n in range(LIMIT):
        sign_in("admin@partner.example", "wrong", address=f"198.51.100.{n + 1}")
    assert sign_in("admin@partner.example", PASSWORD, address="192.0.2.50")[1].status_code == 429
    assert sign_in("nobody@partner.example", "wrong", address="192.0.2.50")[1].status_code == 200


def test_the_django_admins_sign_in_is_throttled_too(admin_agent):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "admin@partner.example", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "admin@partner.example", "password": PASSWORD})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_operators_see_failed_sign_ins_and_other_roles_do_not(signed_in, operator, sales_agent):
    sign_in("ghost@partner.example", "guess")
    page = signed_in(operator).get(reverse("activitylog:list"), {"action": "sign_in"})
    assert page.status_code == HTTPStatus.OK
    body = page.content.decode()
    assert "Sign In" in body and "ghost@partner.example" in body
    assert "Wrong e-mail address or password." in body
    assert signed_in(sales_agent).get(reverse("activitylog:list")).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize(("proxies", "forwarded", "expected"), [
    (0, "192.0.2.1", "203.0.113.5"),                 # no proxy trusted: the header is ignored
    (1, "192.0.2.66, 192.0.2.1", "192.0.2.1"),       # the one proxy's view; the client's claim ignored
    (2, "192.0.2.66, 192.0.2.1, 10.0.0.2", "192.0.2.1"),
    (2, "10.0.0.2", "203.0.113.5"),                  # fewer hops than proxies: nothing to trust
    (1, "not-an-address", "203.0.113.5"),
])
def test_the_client_address_comes_from_trusted_proxies_only(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    sign_in("ghost@partner.example", "guess", HTTP_X_FORWARDED_FOR=forwarded)
    [entry] = sign_ins()
    assert str(entry.client_ip) == expected


def test_an_agent_changes_their_password(signed_in, admin_agent):
    client = signed_in(admin_agent)
    assert "Change password" in client.get(reverse("purchases:profile")).content.decode()  # the e-mail's link
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "a new long passphrase 77",
        "new_password2": "a new long passphrase 77"})
    assert response.status_code == HTTPStatus.FOUND
    admin_agent.refresh_from_db()
    assert admin_agent.check_password("a new long passphrase 77")
    assert client.get(reverse("customers:list")).status_code == HTTPStatus.OK  # still signed in
    [changed] = ActivityLogEntry.objects.all()
    assert (changed.action, changed.actor, changed.new_value) == (
        Action.CHANGE_PASSWORD, admin_agent, {"by_reset": False})
    assert "passphrase" not in str(changed.new_value) + changed.entry_hash
    # A wrong old password changes nothing.
    response = client.post(reverse("password_change"), {
        "old_password": "wrong", "new_password1": "another passphrase 88",
        "new_password2": "another passphrase 88"})
    assert response.status_code == HTTPStatus.OK
    admin_agent.refresh_from_db()
    assert admin_agent.check_password("a new long passphrase 77")


def test_a_forgotten_password_is_reset_by_e_mail(client, admin_agent):
    assert client.post(reverse("password_reset"), {"email": "nobody@partner.example"}).status_code == 302
    assert mail.outbox == []
    response = client.post(reverse("password_reset"), {"email": "admin@partner.example"})
    assert response.status_code == HTTPStatus.FOUND
    [message] = mail.outbox
    assert message.to == ["admin@partner.example"]
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == HTTPStatus.OK
    response = client.post(form.redirect_chain[-1][0], {
        "new_password1": "a reset passphrase 99", "new_password2": "a reset passphrase 99"})
    assert response.status_code == HTTPStatus.FOUND
    admin_agent.refresh_from_db()
    assert admin_agent.check_password("a reset passphrase 99")
    [changed] = ActivityLogEntry.objects.all()
    assert (changed.action, changed.actor, changed.new_value) == (
        Action.CHANGE_PASSWORD, admin_agent, {"by_reset": True})
    # The link works once.
    assert "no longer valid" in client.get(link, follow=True).content.decode()
