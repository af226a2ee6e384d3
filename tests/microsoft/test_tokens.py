from microsoft.client import PARTNER_CENTER, Stats, new_session
from microsoft.scenario import CustomerBuilder
from microsoft.tokens import Tokens

from .conftest import PARTNER


def test_an_app_only_token_for_partner_center_comes_from_the_identity_platform(microsoft):
    microsoft.load([CustomerBuilder("Contoso")], connect=False)
    stats = Stats()
    token = Tokens(session=new_session(stats)).app_only(PARTNER.tenant_id, PARTNER_CENTER)
    assert token.count(".") == 2  # a JWT
    assert stats.requests >= 1
    paths = [entry["path"] for entry in microsoft.sim.control.requests()]
    assert any(path.endswith("/oauth2/v2.0/token") for path in paths)
