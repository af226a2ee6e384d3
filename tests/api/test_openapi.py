"""The OpenAPI document and the code in step: every /v1 route and method documented, responses valid."""

import os
import re
import uuid
from http import HTTPStatus

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import reverse
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from activitylog.services import Origin
from api import urls as api_urls
from api.openapi import EXAMPLE_CUSTOMER
from api.services import issue_token
from permissions.models import Resource
from tests.factories import AgentFactory, PurchasePermissionFactory, ready_customer

from .conftest import PARTNER

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def routes() -> dict[str, object]:
    """The /v1 URL patterns as OpenAPI paths ("<str:policy_id>" -> "{policy_id}") and their views."""
    return {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern)): pattern.callback
        for pattern in api_urls.urlpatterns if str(pattern.pattern).startswith("v1/")
    }


def test_every_route_and_method_is_documented_and_nothing_else(client):
    doc = client.get(reverse("api:openapi")).json()
    documented = {path: {method.upper() for method in methods} for path, methods in doc["paths"].items()}
    assert documented == {path: set(view.allowed_methods) for path, view in routes().items()}
    for path, view in routes().items():
        for method in view.allowed_methods:
            public = doc["paths"][path][method.lower()].get("security") == []
            assert public == view.public, (method, path)


def test_the_document_needs_no_token_and_says_where_the_api_is(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == HTTPStatus.OK
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert doc["servers"] == [{"url": "http://testserver"}]


def test_the_reference_page_shows_every_operation(signed_in, helpdesk_agent):
    response = signed_in(helpdesk_agent).get(reverse("api:reference"))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    for path, view in routes().items():
        for method in view.allowed_methods:
            assert f"{method} {path}" in page


@pytest.fixture
def wsgi_in_test_transaction():
    """Keep the test's database connection open across WSGI requests, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_headers(db, settings, wsgi_in_test_transaction):
    """An Admin agent's token (so writes get past the role check) and the documented example customer."""
    settings.API_RATE_LIMIT = 0
    customer = ready_customer(company_name="Example Customer")
    type(customer).objects.filter(pk=customer.pk).update(tenant_id=uuid.UUID(EXAMPLE_CUSTOMER))
    customer.refresh_from_db()
    PurchasePermissionFactory(customer=customer, resource=Resource.AZURE_RESERVATIONS)
    _token, raw = issue_token(actor=None, owner=AgentFactory(email="fuzz@partner.example"), name="fuzz",
                             origin=Origin.system("tests"))
    return {"Authorization": f"Bearer {raw}"}


# Loaded from the served document when the module is collected (the document needs no database).
# schemathesis.pytest.from_fixture() would load it per test, but does not run under pytest 9.
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", get_wsgi_application())
# Bounded for CI; API_FUZZ_EXAMPLES=500 digs deeper locally.
schema.config.generation.update(modes=["positive", "negative"],
                                max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "25")))


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None, database=None)
def test_fuzz_finds_no_server_error_and_no_response_outside_the_document(case, fuzz_headers):
    case.call_and_validate(headers=fuzz_headers, checks=CHECKS)


def test_every_success_response_matches_the_document(db, wsgi_in_test_transaction, admin_agent, customer):
    """A script's whole journey, each answer validated against the served document's schemas."""
    _token, raw = issue_token(actor=admin_agent, owner=admin_agent, name="journey",
                              origin=Origin.system("tests"))
    auth = {"Authorization": f"Bearer {raw}"}
    policy_id = f"{PARTNER}_{customer.tenant_id}"

    def call(path, method, status, **case):
        response = schema[path][method].Case(**case).call_and_validate(headers=auth, checks=CHECKS)
        assert response.status_code == status, response.text
        return response

    body = {"selfServeEntity": {"selfServeEntityType": "customer", "tenantID": str(customer.tenant_id)},
            "grantor": {"grantorType": "billToPartner", "tenantID": PARTNER},
            "permissions": [{"resource": "AzureReservedInstances", "action": "Purchase"}]}
    call("/v1/SelfServePolicy", "POST", 201, body=body, media_type="application/json")
    call("/v1/SelfServePolicy", "GET", 200, query={"entity_id": str(customer.tenant_id)})
    etag = call("/v1/SelfServePolicy/{policy_id}", "GET", 200,
                path_parameters={"policy_id": policy_id}).json()["attributes"]["etag"]
    call("/v1/SelfServePolicy/{policy_id}", "PUT", 200, path_parameters={"policy_id": policy_id},
         body={"permissions": [], "attributes": {"etag": etag}}, media_type="application/json")
    allow = {**body, "permissions": [{"resource": "AzureSavingsPlan", "action": "Purchase"}]}
    call("/v1/SelfServePolicy", "POST", 201, body=allow, media_type="application/json")
    call("/v1/SelfServePolicy/{policy_id}", "DELETE", 204, path_parameters={"policy_id": policy_id})
    call("/v1/customers", "GET", 200, query={"size": 1})
    call("/v1/customers/{tenant_id}", "GET", 200, path_parameters={"tenant_id": str(customer.tenant_id)})
    records = call("/v1/auditrecords", "GET", 200, query={"size": 2}).json()
    assert len(records["items"]) == 2 and records["continuationToken"]
    call("/v1/auditrecords", "GET", 200, headers={"MS-ContinuationToken": records["continuationToken"]})
