import datetime as dt
from http import HTTPStatus

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from activitylog.services import Origin
from api.models import ApiToken
from api.services import issue_token, revoke_token
from tests.factories import AgentFactory

BY_TESTS = Origin.system("tests")


def test_every_role_creates_a_token_and_sees_it_once(signed_in, any_agent, customer):
    client = signed_in(any_agent)
    response = client.post(reverse("api:tokens"), {"name": "nightly script", "expires_in_days": "30"})
    assert response.status_code == HTTPStatus.OK
    raw = response.context["new_token"]
    assert raw.startswith("csp_") and raw in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(owner=any_agent)
    assert token.name == "nightly script"
    assert dt.timedelta(days=29) < token.expires_at - timezone.now() <= dt.timedelta(days=30)
    # The token works, with the owner's role; the page never shows the secret again.
    api = client.get(reverse("api:customer", args=[customer.tenant_id]),
                     headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == HTTPStatus.OK
    assert raw not in client.get(reverse("api:tokens")).content.decode()


def test_a_token_without_a_name_is_refused(signed_in, admin_agent):
    response = signed_in(admin_agent).post(reverse("api:tokens"), {"name": "", "expires_in_days": "0"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.context["form"].errors) == {"name", "expires_in_days"}
    assert not ApiToken.objects.exists()


def test_the_page_lists_only_my_tokens(signed_in, admin_agent, sales_agent):
    issue_token(actor=admin_agent, owner=admin_agent, name="mine", origin=BY_TESTS)
    issue_token(actor=sales_agent, owner=sales_agent, name="theirs", origin=BY_TESTS)
    response = signed_in(admin_agent).get(reverse("api:tokens"))
    assert [t.name for t in response.context["tokens"]] == ["mine"]


def test_the_page_needs_sign_in(client):
    response = client.get(reverse("api:tokens"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("login"))


def test_i_revoke_my_token_and_it_stops_working(signed_in, admin_agent, customer):
    token, raw = issue_token(actor=admin_agent, owner=admin_agent, name="script", origin=BY_TESTS)
    client = signed_in(admin_agent)
    response = client.post(reverse("api:token_revoke", args=[token.pk]))
    assert response.status_code == HTTPStatus.FOUND
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = client.get(reverse("api:customer", args=[customer.tenant_id]),
                     headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == HTTPStatus.UNAUTHORIZED


def test_i_cannot_revoke_someone_elses_token(signed_in, admin_agent, sales_agent):
    token, _raw = issue_token(actor=sales_agent, owner=sales_agent, name="theirs", origin=BY_TESTS)
    response = signed_in(admin_agent).post(reverse("api:token_revoke", args=[token.pk]))
    assert response.status_code == HTTPStatus.NOT_FOUND
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_needs_a_post(signed_in, admin_agent):
    token, _raw = issue_token(actor=admin_agent, owner=admin_agent, name="script", origin=BY_TESTS)
    assert signed_in(admin_agent).get(reverse("api:token_revoke", args=[token.pk])).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_command_prints_a_working_token(capsys, client, operator, customer):
    call_command("create_api_token", "OPERATOR@partner.example", "--expires-in-days", "7", "--name", "ci")
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(owner=operator)
    assert (token.name, token.expires_at.date()) == ("ci", (timezone.now() + dt.timedelta(days=7)).date())
    response = client.get(reverse("api:auditrecords"), headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize("args, message", [
    (["nobody@partner.example"], "No agent"),
    (["admin@partner.example", "--expires-in-days", "0"], "expires_in_days"),
])
def test_the_command_refuses_bad_input(admin_agent, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", *args)
    assert not ApiToken.objects.exists()


def test_the_service_refuses_to_revoke_another_agents_token(admin_agent, sales_agent):
    token, _raw = issue_token(actor=sales_agent, owner=sales_agent, name="theirs", origin=BY_TESTS)
    with pytest.raises(PermissionDenied):
        revoke_token(actor=admin_agent, token=token, origin=BY_TESTS)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_twice_changes_nothing_the_second_time(admin_agent):
    token, _raw = issue_token(actor=admin_agent, owner=admin_agent, name="mine", origin=BY_TESTS)
    assert revoke_token(actor=admin_agent, token=token, origin=BY_TESTS) is True
    first = ApiToken.objects.get(pk=token.pk).revoked_at
    assert revoke_token(actor=admin_agent, token=token, origin=BY_TESTS) is False
    assert ApiToken.objects.get(pk=token.pk).revoked_at == first


def test_superusers_see_tokens_in_the_admin_but_cannot_edit_them(client, admin_agent):
    superuser = AgentFactory(email="root@partner.example", is_staff=True, is_superuser=True)
    token, _raw = issue_token(actor=admin_agent, owner=admin_agent, name="visible", origin=BY_TESTS)
    client.force_login(superuser)
    assert "visible" in client.get(reverse("admin:api_apitoken_changelist")).content.decode()
    assert client.get(reverse("admin:api_apitoken_add")).status_code == HTTPStatus.FORBIDDEN
