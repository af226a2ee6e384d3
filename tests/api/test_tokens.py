import datetime as dt
import json
import re
from http import HTTPStatus

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from activitylog import chain
from activitylog.models import Action, ActivityLogEntry, Source, Status
from activitylog.services import Origin, purge
from api.models import ApiToken
from api.services import issue_token, revoke_token
from tests.factories import AgentFactory

BY_TESTS = Origin.system("tests")


def test_every_role_creates_a_token_and_sees_it_once(signed_in, any_agent, customer):
    client = signed_in(any_agent)
    response = client.post(reverse("api:tokens"), {"name": "nightly script", "expires_in_days": "30"},
                           follow=True)
    assert response.redirect_chain == [(reverse("api:tokens"), HTTPStatus.FOUND)]
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


def test_reloading_after_creating_a_token_creates_no_second_one(signed_in, admin_agent):
    client = signed_in(admin_agent)
    response = client.post(reverse("api:tokens"), {"name": "nightly", "expires_in_days": "30"})
    assert response.status_code == HTTPStatus.FOUND
    first = client.get(response["Location"])
    raw = first.context["new_token"]
    reloaded = client.get(response["Location"])
    assert reloaded.context["new_token"] is None and raw not in reloaded.content.decode()
    assert ApiToken.objects.count() == 1
    assert ActivityLogEntry.objects.count() == 1


def test_the_expiry_shown_is_the_expiry_given(signed_in, admin_agent):
    page = signed_in(admin_agent).get(reverse("api:tokens")).content.decode()
    assert 'name="expires_in_days" value="90"' in page
    assert "placeholder=\"90\"" not in page


def test_an_empty_expiry_is_refused_not_taken_for_never(signed_in, admin_agent):
    response = signed_in(admin_agent).post(reverse("api:tokens"), {"name": "nightly", "expires_in_days": ""})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.context["form"].errors["expires_in_days"] == [
        "Enter a number of days, or choose that the token never expires."]
    assert not ApiToken.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_a_token_that_never_expires_is_asked_for_explicitly(signed_in, admin_agent):
    signed_in(admin_agent).post(reverse("api:tokens"),
                                {"name": "nightly", "expires_in_days": "", "never_expires": "on"})
    assert ApiToken.objects.get().expires_at is None


def test_token_times_say_utc_in_the_portals_date_format(signed_in, admin_agent):
    token, _raw = issue_token(actor=admin_agent, owner=admin_agent, name="mine", origin=BY_TESTS,
                              expires_at=dt.datetime(2027, 3, 4, 5, 6, tzinfo=dt.UTC))
    page = signed_in(admin_agent).get(reverse("api:tokens")).content.decode()
    assert "Expires (UTC)" in page and "Created (UTC)" in page and "Last used (UTC)" in page
    assert "4 Mar 2027, 05:06" in page


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
    assert response.status_code == HTTPStatus.FORBIDDEN
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_a_token_that_does_not_exist_gets_404(signed_in, admin_agent):
    response = signed_in(admin_agent).post(reverse("api:token_revoke", args=[999]))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not ActivityLogEntry.objects.exists()


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


# What creating and revoking a token leaves in the activity log.

def no_secret_in(entry: ActivityLogEntry, raw: str, token: ApiToken) -> bool:
    secret = raw.split("_", 2)[2]
    text = json.dumps(list(ActivityLogEntry.objects.filter(pk=entry.pk).values().get().values()),
                      default=str)
    return secret not in text and token.secret_hash not in text


def test_creating_a_token_on_the_page_is_logged_without_its_secret(signed_in, sales_agent):
    form = {"name": "nightly", "expires_in_days": "30"}
    response = signed_in(sales_agent).post(reverse("api:tokens"), form, follow=True,
                                           REMOTE_ADDR="198.51.100.4")
    raw, token = response.context["new_token"], ApiToken.objects.get(owner=sales_agent)

    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.status, entry.source) == (
        Action.CREATE_API_TOKEN, Status.SUCCEEDED, Source.WEB)
    assert (entry.actor, entry.actor_email, entry.customer, entry.customer_name) == (
        sales_agent, sales_agent.email, None, "")
    assert (entry.resource_type, entry.resource_id) == ("api_token", token.prefix)
    assert entry.old_value is None
    assert entry.new_value == {"name": "nightly", "owner": sales_agent.email,
                               "expires_at": chain.utc_text(token.expires_at), "revoked_at": None}
    assert entry.client_ip == "198.51.100.4" and entry.request_id
    assert no_secret_in(entry, raw, token)


def test_a_token_refused_by_the_form_is_not_logged(signed_in, admin_agent):
    signed_in(admin_agent).post(reverse("api:tokens"), {"name": "", "expires_in_days": "99999"})
    assert not ApiToken.objects.exists()
    assert not ActivityLogEntry.objects.exists()


def test_the_command_logs_its_token_as_the_systems_doing(capsys, operator):
    call_command("create_api_token", operator.email, "--name", "ci")
    raw, token = capsys.readouterr().out.strip(), ApiToken.objects.get(owner=operator)

    entry = ActivityLogEntry.objects.get()
    assert (entry.action, entry.source, entry.request_id) == (Action.CREATE_API_TOKEN, Source.SYSTEM,
                                                              "create_api_token")
    assert (entry.actor, entry.actor_email, entry.client_ip) == (None, "", None)
    assert (entry.resource_id, entry.new_value) == (token.prefix, {
        "name": "ci", "owner": operator.email, "expires_at": None, "revoked_at": None})
    assert no_secret_in(entry, raw, token)


def test_a_command_refused_logs_nothing(admin_agent):
    with pytest.raises(CommandError):
        call_command("create_api_token", admin_agent.email, "--expires-in-days", "0")
    assert not ActivityLogEntry.objects.exists()


def test_revoking_on_the_page_is_logged_once(signed_in, admin_agent):
    token, raw = issue_token(actor=admin_agent, owner=admin_agent, name="script", origin=BY_TESTS)
    client = signed_in(admin_agent)
    client.post(reverse("api:token_revoke", args=[token.pk]))
    client.post(reverse("api:token_revoke", args=[token.pk]))  # already revoked: nothing changes

    entry = ActivityLogEntry.objects.get(action=Action.REVOKE_API_TOKEN)
    token.refresh_from_db()
    assert (entry.status, entry.source, entry.actor, entry.resource_id) == (
        Status.SUCCEEDED, Source.WEB, admin_agent, token.prefix)
    assert entry.old_value == {"name": "script", "owner": admin_agent.email, "expires_at": None,
                               "revoked_at": None}
    assert entry.new_value == {**entry.old_value, "revoked_at": chain.utc_text(token.revoked_at)}
    assert no_secret_in(entry, raw, token)


def test_someone_elses_token_cannot_be_revoked_on_the_page_and_the_attempt_is_logged(signed_in, admin_agent,
                                                                                   sales_agent):
    token, _raw = issue_token(actor=sales_agent, owner=sales_agent, name="theirs", origin=BY_TESTS)
    signed_in(admin_agent).post(reverse("api:token_revoke", args=[token.pk]), REMOTE_ADDR="198.51.100.4")
    assert not ActivityLogEntry.objects.filter(action=Action.REVOKE_API_TOKEN,
                                               status=Status.SUCCEEDED).exists()
    entry = ActivityLogEntry.objects.get(action=Action.REVOKE_API_TOKEN)
    assert (entry.status, entry.actor, entry.source, entry.resource_id, entry.client_ip) == (
        Status.FAILED, admin_agent, Source.WEB, token.prefix, "198.51.100.4")
    assert entry.failure_reason == "You can revoke only your own tokens."


def test_the_service_logs_a_refused_revocation_as_failed(admin_agent, sales_agent):
    token, raw = issue_token(actor=sales_agent, owner=sales_agent, name="theirs", origin=BY_TESTS)
    with pytest.raises(PermissionDenied):
        revoke_token(actor=admin_agent, token=token, origin=BY_TESTS)

    entry = ActivityLogEntry.objects.get(action=Action.REVOKE_API_TOKEN)
    assert (entry.status, entry.actor, entry.resource_id) == (Status.FAILED, admin_agent, token.prefix)
    assert entry.failure_reason == "You can revoke only your own tokens."
    assert (entry.old_value, entry.new_value) == (None, None)
    assert no_secret_in(entry, raw, token)


def test_no_one_creates_a_token_for_someone_else(admin_agent, sales_agent):
    with pytest.raises(PermissionDenied):
        issue_token(actor=admin_agent, owner=sales_agent, name="theirs", origin=BY_TESTS)
    assert not ApiToken.objects.exists()
    assert not ActivityLogEntry.objects.exists()


@pytest.mark.parametrize(("language", "create", "revoke"), [
    ("en", "Create API Token", "Revoke API Token"),
    ("id", "Buat Token API", "Cabut Token API"),
])
def test_the_activity_log_filters_on_the_token_actions(signed_in, operator, admin_agent, language, create,
                                                       revoke):
    token, _raw = issue_token(actor=admin_agent, owner=admin_agent, name="script", origin=BY_TESTS)
    revoke_token(actor=admin_agent, token=token, origin=BY_TESTS)
    client = signed_in(operator)

    page = client.get(reverse("activitylog:list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<option value="create_api_token">{create}</option>' in page
    assert f'<option value="revoke_api_token">{revoke}</option>' in page
    filtered = client.get(reverse("activitylog:list"), {"action": "revoke_api_token"},
                          HTTP_ACCEPT_LANGUAGE=language)
    assert [e.action for e in filtered.context["entries"]] == [Action.REVOKE_API_TOKEN]


def test_audit_records_name_the_token_operations_by_their_codes(signed_in, operator, admin_agent):
    token, _raw = issue_token(actor=admin_agent, owner=admin_agent, name="script", origin=BY_TESTS)
    revoke_token(actor=admin_agent, token=token, origin=BY_TESTS)
    _mine, raw = issue_token(actor=operator, owner=operator, name="reader", origin=BY_TESTS)

    response = signed_in(operator).get("/v1/auditrecords", headers={"Authorization": f"Bearer {raw}"})
    assert sorted((item["operationType"], item["resourceType"]) for item in response.json()["items"]) == [
        ("create_api_token", "api_token"), ("create_api_token", "api_token"),
        ("revoke_api_token", "api_token")]


@pytest.mark.parametrize(("language", "token_label", "log_label"), [
    ("en", "API token", "Activity log"),
    ("id", "token API", "Log Aktivitas"),
])
def test_the_activity_log_names_token_and_purge_resources_in_the_readers_language(
        signed_in, operator, admin_agent, language, token_label, log_label):
    token, _raw = issue_token(actor=admin_agent, owner=admin_agent, name="script", origin=BY_TESTS)
    purge(retention_days=30)

    response = signed_in(operator).get(reverse("activitylog:list"), HTTP_ACCEPT_LANGUAGE=language)
    page = response.content.decode()

    resources = re.findall(r"<dd>([^<]*)(?:<span class=\"mono\">([^<]*)</span>)?</dd>", page)
    assert (f"{token_label} ", token.prefix) in resources
    assert (f"{log_label} ", "") in resources
    assert not any(code in label for label, _id in resources for code in ("api_token", "activity_log"))
