import pytest
from django.db import connection
from django.test import Client
from django.utils import translation

from activitylog.services import Origin
from portal.models import Agent

from .factories import AgentFactory, CustomerFactory, ready_customer

# The Microsoft simulator's fixtures: `simulator` (reset for each test) and `simulator_process`.
pytest_plugins = ["simulator.pytest_plugin"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Let Django's flush after transactional tests TRUNCATE the activity log on PostgreSQL.

    The log's triggers refuse TRUNCATE; the test database disables just that trigger, once. Tests of the
    trigger (tests/activitylog/test_database.py) enable it again inside their own rolled-back transaction.
    """
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("activitylog_activitylogentry", "activitylog_activityloganchor"):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER activitylog_no_truncate")


@pytest.fixture
def admin_agent(db) -> Agent:
    return AgentFactory(email="admin@partner.example", role=Agent.Role.ADMIN_AGENT)


@pytest.fixture
def sales_agent(db) -> Agent:
    return AgentFactory(email="sales@partner.example", role=Agent.Role.SALES_AGENT)


@pytest.fixture
def helpdesk_agent(db) -> Agent:
    return AgentFactory(email="helpdesk@partner.example", role=Agent.Role.HELPDESK_AGENT)


@pytest.fixture
def operator(db) -> Agent:
    return AgentFactory(email="operator@partner.example", role=Agent.Role.OPERATOR)


@pytest.fixture
def agents(admin_agent, sales_agent, helpdesk_agent, operator) -> dict[str, Agent]:
    return {agent.role: agent for agent in (admin_agent, sales_agent, helpdesk_agent, operator)}


@pytest.fixture(params=[role.value for role in Agent.Role])
def any_agent(request, agents) -> Agent:
    return agents[request.param]


@pytest.fixture(params=[Agent.Role.SALES_AGENT.value, Agent.Role.HELPDESK_AGENT.value,
                        Agent.Role.OPERATOR.value])
def non_admin_agent(request, agents) -> Agent:
    return agents[request.param]


@pytest.fixture
def customer(db):
    """A customer that is ready: an active Azure plan with an Owner on it."""
    return ready_customer(company_name="Contoso Ltd", domain="contoso.onmicrosoft.com")


@pytest.fixture
def unready_customer(db):
    return CustomerFactory(company_name="Fabrikam", domain="fabrikam.onmicrosoft.com")


@pytest.fixture
def origin() -> Origin:
    return Origin(source="web", request_id="test-request", client_ip="203.0.113.7")


@pytest.fixture
def needs_postgres(db) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: it tests row locks between concurrent connections, triggers or a "
                    "PostgreSQL-only lookup, which SQLite does not have")


@pytest.fixture
def signed_in(client):
    """signed_in(agent) -> the test client, signed in as that agent."""
    def sign_in(agent: Agent) -> Client:
        client.force_login(agent)
        return client
    return sign_in


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in Indonesian activates it for the
    thread, and would otherwise leave the next test's services speaking Indonesian."""
    yield
    translation.deactivate()
