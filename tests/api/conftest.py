import json
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client

from api.models import ApiToken, digest
from portal.models import Agent

PARTNER = "634f6379-a1c5-4f1e-9e39-8b3f5d2c7a10"


@pytest.fixture(autouse=True)
def api_settings(settings):
    settings.PARTNER_TENANT_ID = PARTNER
    settings.API_RATE_LIMIT = 1000
    cache.clear()
    yield
    cache.clear()


@dataclass
class Api:
    """The test client speaking to /v1 with one agent's bearer token."""

    client: Client
    token: str
    agent: Agent | None = None

    def _headers(self, headers: dict) -> dict:
        return {"Authorization": f"Bearer {self.token}", **headers}

    def get(self, path: str, data=None, **headers):
        return self.client.get(path, data, headers=self._headers(headers))

    def delete(self, path: str, **headers):
        return self.client.delete(path, headers=self._headers(headers))

    def send(self, method: str, path: str, body, content_type="application/json", **headers):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return getattr(self.client, method)(path, data=data, content_type=content_type,
                                            headers=self._headers(headers))

    def post(self, path: str, body, **kwargs):
        return self.send("post", path, body, **kwargs)

    def put(self, path: str, body, **kwargs):
        return self.send("put", path, body, **kwargs)


def token_for(agent: Agent, name: str = "tests") -> str:
    """A usable token row, set up directly: tests about what the API logs see only their own entries
    (issue_token's own entry is tested in test_tokens.py)."""
    prefix, secret, raw = ApiToken.new_secret()
    ApiToken.objects.create(owner=agent, name=name, prefix=prefix, secret_hash=digest(secret))
    return raw


@pytest.fixture
def api_as():
    """api_as(agent) -> an Api client with a fresh token of that agent's."""
    def make(agent: Agent) -> Api:
        return Api(Client(), token_for(agent), agent)
    return make


def policy_id(customer) -> str:
    return f"{PARTNER}_{customer.tenant_id}"


def policy_url(customer) -> str:
    return f"/v1/SelfServePolicy/{policy_id(customer)}"


def new_policy(customer, *resources: str) -> dict:
    """A POST body as Partner Center documents it."""
    return {
        "selfServeEntity": {"selfServeEntityType": "customer", "tenantID": str(customer.tenant_id)},
        "grantor": {"grantorType": "billToPartner", "tenantID": PARTNER},
        "permissions": [{"resource": resource, "action": "Purchase"} for resource in resources],
    }
