import pytest

from microsoft import credentials
from microsoft.scenario import CustomerBuilder, Partner, scenario
from microsoft.tokens import forget_all

PARTNER = Partner(tenant_id="634f6379-a1c5-4f1e-9e39-8b3f5d2c7a10",
                  app_id="5b0c2a11-6f0e-4a5e-9d1c-1e2f3a4b5c6d", app_secret="simulated-app-secret")


@pytest.fixture
def microsoft(simulator, settings, db):
    """The simulator with the portal's credentials set for its partner; load(customers) fills it."""
    settings.PARTNER_TENANT_ID = PARTNER.tenant_id
    settings.MICROSOFT_APP_ID = PARTNER.app_id
    settings.MICROSOFT_APP_SECRET = PARTNER.app_secret
    settings.MICROSOFT_REFRESH_TOKEN = ""
    settings.MICROSOFT_BACKOFF_SECONDS = 0.02
    settings.MICROSOFT_MAX_RETRIES = 3
    settings.MICROSOFT_SYNC_PARALLELISM = 2
    forget_all()  # the simulator was reset: no token from an earlier test is used

    class Loaded:
        sim = simulator
        refresh_token = None

        def load(self, customers: list[CustomerBuilder], *, connect: bool = True) -> dict:
            answer = simulator.control.put_state(scenario(PARTNER, customers))
            self.refresh_token = answer.get("refreshToken")
            if connect and self.refresh_token:
                credentials.store_refresh_token(self.refresh_token)
            simulator.control.clear_requests()
            return answer

    return Loaded()
