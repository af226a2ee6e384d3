"""Which language a page is in: the browser's Accept-Language on a first visit, the switcher's
choice (a cookie, and a preference stored on a signed-in agent), the preference at every sign-in."""

from http import HTTPStatus

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from activitylog.models import ActivityLogEntry
from portal.models import Agent
from tests.factories import PASSWORD

COOKIE = settings.LANGUAGE_COOKIE_NAME
CUSTOMERS = reverse("customers:list")


def lang_of(response) -> str:
    html = response.content.decode()
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def switch(client: Client, language: str, next_url: str = CUSTOMERS, **headers):
    return client.post(reverse("set_language"), {"language": language, "next": next_url}, **headers)


def sign_in(client: Client, agent: Agent, **headers):
    return client.post(reverse("login"), {"username": agent.email, "password": PASSWORD}, **headers)


def stored(agent: Agent) -> str:
    return Agent.objects.get(pk=agent.pk).language


@pytest.mark.parametrize(("accept_language", "expected"), [
    ("id", "id"),
    ("id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7", "id"),
    ("en-GB,en;q=0.9", "en"),
    ("fr-FR,fr;q=0.9", "en"),
    ("", "en"),
])
def test_a_first_visit_follows_accept_language(client, db, accept_language, expected):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=accept_language)

    assert lang_of(response) == expected
    assert COOKIE not in response.cookies


def test_the_switcher_on_the_sign_in_page_changes_the_language_and_stores_nothing(client, admin_agent):
    response = switch(client, "id", reverse("login"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("login")
    assert response.cookies[COOKIE].value == "id"
    assert lang_of(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")) == "id"
    assert stored(admin_agent) == ""


def test_a_signed_in_agent_switches_and_the_choice_is_stored(client, admin_agent):
    client.force_login(admin_agent)

    response = switch(client, "id", HTTP_ACCEPT_LANGUAGE="en")

    assert response["Location"] == CUSTOMERS
    assert stored(admin_agent) == "id"
    page = client.get(CUSTOMERS, HTTP_ACCEPT_LANGUAGE="en")
    assert lang_of(page) == "id"
    assert "Pelanggan" in page.content.decode()
    assert not ActivityLogEntry.objects.exists()


def test_the_choice_persists_across_sign_out_and_sign_in_in_another_browser(admin_agent):
    first = Client(HTTP_ACCEPT_LANGUAGE="en")
    first.force_login(admin_agent)
    switch(first, "id")
    first.post(reverse("logout"))

    # Same browser: the sign-in page after signing out stays Indonesian.
    assert lang_of(first.get(reverse("login"))) == "id"

    # Another browser, which asks for English: English until the agent signs in, then Indonesian.
    second = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert lang_of(second.get(reverse("login"))) == "en"
    response = sign_in(second, admin_agent)
    assert response.status_code == HTTPStatus.FOUND
    assert response.cookies[COOKIE].value == "id"
    assert lang_of(second.get(CUSTOMERS)) == "id"
    second.post(reverse("logout"))
    assert lang_of(second.get(reverse("login"))) == "id"


def test_the_preference_beats_accept_language_and_an_old_cookie(client, admin_agent):
    Agent.objects.filter(pk=admin_agent.pk).update(language="en")
    client.cookies[COOKIE] = "id"
    client.force_login(admin_agent)

    response = client.get(CUSTOMERS, HTTP_ACCEPT_LANGUAGE="id")

    assert lang_of(response) == "en"
    assert response["Content-Language"] == "en"
    assert response.cookies[COOKIE].value == "en"


def test_a_language_chosen_on_the_sign_in_page_becomes_the_preference_of_an_agent_without_one(
        client, sales_agent):
    switch(client, "id", reverse("login"))

    sign_in(client, sales_agent)

    assert stored(sales_agent) == "id"
    assert lang_of(client.get(CUSTOMERS, HTTP_ACCEPT_LANGUAGE="en")) == "id"


def test_a_stored_preference_wins_over_the_sign_in_pages_language(client, sales_agent):
    Agent.objects.filter(pk=sales_agent.pk).update(language="en")
    switch(client, "id", reverse("login"))

    response = sign_in(client, sales_agent)

    assert stored(sales_agent) == "en"
    assert response.cookies[COOKIE].value == "en"
    assert lang_of(client.get(CUSTOMERS)) == "en"


def test_the_browsers_language_alone_is_not_stored_as_a_preference(client, operator):
    sign_in(client, operator, HTTP_ACCEPT_LANGUAGE="id")

    assert lang_of(client.get(CUSTOMERS, HTTP_ACCEPT_LANGUAGE="id")) == "id"
    assert lang_of(client.get(CUSTOMERS, HTTP_ACCEPT_LANGUAGE="en")) == "en"
    assert stored(operator) == ""


@pytest.mark.parametrize("language", ["fr", "xx", "", "id<script>"])
def test_a_language_the_portal_does_not_offer_changes_nothing(client, admin_agent, language):
    client.force_login(admin_agent)

    response = switch(client, language)

    assert response.status_code == HTTPStatus.FOUND
    assert stored(admin_agent) == ""
    assert lang_of(client.get(CUSTOMERS)) == "en"


def test_the_switcher_refuses_a_get_and_changes_nothing(client, admin_agent):
    client.force_login(admin_agent)

    response = client.get(reverse("set_language"), {"language": "id", "next": CUSTOMERS})

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert COOKIE not in response.cookies
    assert stored(admin_agent) == ""


def test_the_switcher_needs_the_csrf_token(admin_agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_agent)

    response = switch(client, "id")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert stored(admin_agent) == ""


def test_the_switcher_never_sends_the_agent_to_another_site(client, admin_agent):
    client.force_login(admin_agent)

    response = switch(client, "id", "https://evil.example/phish")

    assert response.status_code == HTTPStatus.FOUND
    assert "evil.example" not in response["Location"]
    assert stored(admin_agent) == "id"


def test_every_page_has_the_switcher_with_its_csrf_token_and_the_way_back(client, admin_agent):
    client.force_login(admin_agent)

    html = client.get(CUSTOMERS + "?q=Contoso").content.decode()

    form = html.split('<form class="language-switcher"', 1)[1].split("</form>", 1)[0]
    assert f'action="{reverse("set_language")}"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert 'name="next" value="/customers/?q=Contoso"' in form
