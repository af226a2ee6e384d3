import jwt

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
    # The token's own claims say who issued it and for what (the request journal is shared with whatever
    # else the session's simulator is answering, so it is not the proof).
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == PARTNER_CENTER
    assert claims["tid"] == PARTNER.tenant_id
    assert claims["iss"] == f"https://sts.windows.net/{PARTNER.tenant_id}/"  # as Entra stamps access tokens
    assert claims.get("idtyp") == "app"
