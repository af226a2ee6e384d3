import pytest


@pytest.fixture
def auditor(client, operator):
    """The test client, signed in as an Operator."""
    client.force_login(operator)
    return client
