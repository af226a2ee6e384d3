"""The API stays language-neutral: codes, field names and values never change; only an error's
description follows Accept-Language."""

from http import HTTPStatus

import pytest

from activitylog.models import ActivityLogEntry
from permissions.models import PurchasePermission

from .conftest import new_policy

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "phrase"), [
    ("en", "The customer has no active Azure plan or Azure Global subscription."),
    ("id", "Pelanggan tidak memiliki langganan paket Azure atau Azure Global yang aktif."),
])
def test_a_refusal_is_described_in_the_language_asked_for_with_the_same_code(
        api_as, admin_agent, unready_customer, language, phrase):
    response = api_as(admin_agent).post(
        "/v1/SelfServePolicy", new_policy(unready_customer, "AzureReservedInstances"),
        **{"Accept-Language": language})

    body = response.json()
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert body["code"] == "customer_not_ready"
    assert phrase in body["description"]
    assert not PurchasePermission.objects.exists()
    assert ActivityLogEntry.objects.get().status == "failed"


@pytest.mark.parametrize(("language", "phrase"), [
    ("en", "Authorization"), ("id", "Authorization"),
])
def test_an_unauthenticated_call_names_the_header_in_either_language(client, language, phrase):
    response = client.get("/v1/customers", headers={"Accept-Language": language})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert phrase in response.json()["description"]
    assert response["Content-Language"] == language


def test_an_english_and_an_indonesian_error_differ_only_in_their_description(api_as, admin_agent):
    api = api_as(admin_agent)

    english = api.get("/v1/SelfServePolicy/not-a-policy-id", **{"Accept-Language": "en"}).json()
    indonesian = api.get("/v1/SelfServePolicy/not-a-policy-id", **{"Accept-Language": "id"}).json()

    assert english["description"] != indonesian["description"]
    assert {k: v for k, v in english.items() if k != "description"} == {
        k: v for k, v in indonesian.items() if k != "description"}
