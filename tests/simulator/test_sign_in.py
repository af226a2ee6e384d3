"""Staff sign-in: authorization code with PKCE through the simulated sign-in page, driven by MSAL."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import msal
import pytest

from .conftest import ADMIN_AGENTS_GROUP, ADMIN_OID, PARTNER, SALES_OID, claims

PORTAL_APP = "5ca1ab1e-0000-4000-8000-000000000001"
PORTAL_SECRET = "portal-sign-in-secret"
CALLBACK = "https://portal.example/oidc/callback"
# Most tests take the code from the redirect's query; MSAL recommends form_post, tested once below.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")


def portal_app(sim):
    return msal.ConfidentialClientApplication(PORTAL_APP, client_credential=PORTAL_SECRET,
                                              authority=f"{sim.login_url}/{PARTNER}",
                                              validate_authority=False, instance_discovery=False)


def sign_in_form(http, url):
    page = http.get(url)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    checked = re.search(r'name="user" value="([^"]+)" checked', page.text)
    return page, fields, checked.group(1) if checked else None


def submit(http, url, fields, **extra):
    response = http.post(url, data={**fields, **extra}, allow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_sign_in_with_pkce_gives_an_id_token_with_roles_groups_amr_and_nonce(sim, http):
    app = portal_app(sim)
    flow = app.initiate_auth_code_flow(scopes=[], redirect_uri=CALLBACK,
                                       login_hint="admin@northwind.example")
    assert "code_challenge=" in flow["auth_uri"] and "code_challenge_method=S256" in flow["auth_uri"]
    page, fields, preselected = sign_in_form(http, flow["auth_uri"])
    assert preselected == ADMIN_OID
    assert "Ada Admin" in page.text and "sales@northwind.example" in page.text
    location, answer = submit(http, flow["auth_uri"], fields, user=ADMIN_OID, mfa="1", action="sign_in")
    assert location.startswith(CALLBACK + "?")
    assert answer["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    assert "id_token_claims" in result, result
    id_token = result["id_token_claims"]
    assert id_token["iss"] == f"{sim.login_url}/{PARTNER}/v2.0"
    assert id_token["aud"] == PORTAL_APP and id_token["tid"] == PARTNER and id_token["oid"] == ADMIN_OID
    assert id_token["preferred_username"] == "admin@northwind.example"
    assert id_token["name"] == "Ada Admin" and id_token["email"] == "admin@northwind.example"
    assert id_token["roles"] == ["AdminAgent"] and id_token["groups"] == [ADMIN_AGENTS_GROUP]
    assert id_token["amr"] == ["pwd", "mfa"]
    assert id_token["nonce"] == parse_qs(urlsplit(flow["auth_uri"]).query)["nonce"][0]
    verified = claims(sim, result["id_token"])   # signed with the published key
    assert verified["sub"] == id_token["sub"]


def test_sign_in_without_mfa_says_so_in_amr(sim, http):
    app = portal_app(sim)
    flow = app.initiate_auth_code_flow(scopes=[], redirect_uri=CALLBACK)
    _, fields, _ = sign_in_form(http, flow["auth_uri"])
    _, answer = submit(http, flow["auth_uri"], fields, user=SALES_OID, action="sign_in")  # box unticked
    id_token = app.acquire_token_by_auth_code_flow(flow, answer)["id_token_claims"]
    assert id_token["amr"] == ["pwd"] and id_token["roles"] == ["SalesAgent"]


def test_a_code_is_redeemed_once(sim, http):
    app = portal_app(sim)
    flow = app.initiate_auth_code_flow(scopes=[], redirect_uri=CALLBACK)
    _, fields, _ = sign_in_form(http, flow["auth_uri"])
    _, answer = submit(http, flow["auth_uri"], fields, user=ADMIN_OID, mfa="1", action="sign_in")
    verifier = flow["code_verifier"]
    assert "id_token" in app.acquire_token_by_auth_code_flow(flow, answer)
    again = http.post(f"{sim.login_url}/{PARTNER}/oauth2/v2.0/token", data={
        "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": CALLBACK,
        "code_verifier": verifier, "client_id": PORTAL_APP, "client_secret": PORTAL_SECRET})
    assert again.status_code == 400 and again.json()["error_codes"] == [54005]


def test_a_wrong_code_verifier_is_refused(sim, http):
    app = portal_app(sim)
    flow = app.initiate_auth_code_flow(scopes=[], redirect_uri=CALLBACK)
    _, fields, _ = sign_in_form(http, flow["auth_uri"])
    _, answer = submit(http, flow["auth_uri"], fields, user=ADMIN_OID, mfa="1", action="sign_in")
    response = http.post(f"{sim.login_url}/{PARTNER}/oauth2/v2.0/token", data={
        "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": CALLBACK,
        "code_verifier": "x" * 50, "client_id": PORTAL_APP, "client_secret": PORTAL_SECRET})
    assert response.status_code == 400 and response.json()["error_codes"] == [501481]


def test_cancel_redirects_with_access_denied(sim, http):
    app = portal_app(sim)
    flow = app.initiate_auth_code_flow(scopes=[], redirect_uri=CALLBACK)
    _, fields, _ = sign_in_form(http, flow["auth_uri"])
    _, answer = submit(http, flow["auth_uri"], fields, action="cancel")
    assert answer["error"] == "access_denied" and answer["state"] == flow["state"]


def test_an_unregistered_redirect_uri_gets_an_error_page(sim, http):
    app = portal_app(sim)
    flow = app.initiate_auth_code_flow(scopes=[], redirect_uri="https://evil.example/callback")
    page = http.get(flow["auth_uri"])
    assert page.status_code == 400 and "AADSTS50011" in page.text


@pytest.mark.parametrize("mode", ["form_post"])
def test_form_post_response_mode(sim, http, mode):
    app = portal_app(sim)
    flow = app.initiate_auth_code_flow(scopes=[], redirect_uri=CALLBACK, response_mode=mode)
    _, fields, _ = sign_in_form(http, flow["auth_uri"])
    response = http.post(flow["auth_uri"], data={**fields, "user": ADMIN_OID, "action": "sign_in"})
    assert response.status_code == 200
    assert f'action="{CALLBACK}"' in response.text and 'name="code"' in response.text


def test_logout_redirects_to_the_post_logout_uri(sim, http):
    response = http.get(f"{sim.login_url}/{PARTNER}/oauth2/v2.0/logout",
                        params={"post_logout_redirect_uri": "https://portal.example/signed-out"},
                        allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "https://portal.example/signed-out"


def test_the_sign_in_access_token_reads_me_and_userinfo_from_graph(sim, http):
    app = portal_app(sim)
    flow = app.initiate_auth_code_flow(scopes=["User.Read"], redirect_uri=CALLBACK)
    _, fields, _ = sign_in_form(http, flow["auth_uri"])
    _, answer = submit(http, flow["auth_uri"], fields, user=ADMIN_OID, mfa="1", action="sign_in")
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    headers = {"Authorization": f"Bearer {result['access_token']}"}
    me = http.get(f"{sim.graph_url}/v1.0/me", headers=headers).json()
    assert (me["id"], me["userPrincipalName"]) == (ADMIN_OID, "admin@northwind.example")
    info = http.get(f"{sim.graph_url}/oidc/userinfo", headers=headers).json()
    assert info["sub"] == result["id_token_claims"]["sub"] and info["email"] == "admin@northwind.example"
