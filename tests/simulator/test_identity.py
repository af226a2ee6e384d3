"""The identity platform, driven by real MSAL over HTTPS with the simulator's CA."""

import msal
import pytest
import requests

from .conftest import APP_ID, APP_SECRET, ARM, CONTOSO, PARTNER, PC, claims


def app(sim, tenant=PARTNER, secret=APP_SECRET, client_id=APP_ID):
    return msal.ConfidentialClientApplication(client_id, client_credential=secret,
                                              authority=f"{sim.login_url}/{tenant}",
                                              validate_authority=False, instance_discovery=False)


def test_openid_configuration_names_the_tenant_issuer_and_endpoints(sim, http):
    config = http.get(f"{sim.login_url}/{PARTNER}/v2.0/.well-known/openid-configuration").json()
    assert config["issuer"] == f"{sim.login_url}/{PARTNER}/v2.0"
    assert config["token_endpoint"] == f"{sim.login_url}/{PARTNER}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == f"{sim.login_url}/{PARTNER}/oauth2/v2.0/authorize"
    assert config["jwks_uri"] == f"{sim.login_url}/{PARTNER}/discovery/v2.0/keys"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]


def test_the_login_prefix_serves_the_same_identity_platform(sim, http):
    config = http.get(f"{sim.url}/login/{PARTNER}/v2.0/.well-known/openid-configuration").json()
    assert config["issuer"] == f"{sim.url}/login/{PARTNER}/v2.0"


def test_a_tenant_is_found_by_its_domain(sim, http):
    config = http.get(f"{sim.login_url}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration").json()
    assert config["issuer"].endswith(f"/{CONTOSO}/v2.0")


def test_an_unknown_tenant_is_refused_as_entra_does(sim, http):
    response = http.get(f"{sim.login_url}/00000000-dead-4000-8000-000000000000/v2.0/.well-known/"
                        "openid-configuration")
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]


def test_msal_client_credentials_gets_an_app_only_token(sim):
    result = app(sim).acquire_token_for_client(scopes=[f"{PC}/.default"])
    assert "access_token" in result, result
    token = claims(sim, result["access_token"])
    assert token["aud"] == PC
    assert token["tid"] == PARTNER
    assert token["appid"] == APP_ID
    assert token["idtyp"] == "app"
    assert "scp" not in token and "upn" not in token
    assert token["exp"] > token["iat"]


def test_msal_client_credentials_for_a_customer_tenant(sim):
    result = app(sim, tenant=CONTOSO).acquire_token_for_client(scopes=[f"{ARM}/.default"])
    token = claims(sim, result["access_token"])
    assert (token["tid"], token["aud"]) == (CONTOSO, ARM)


def test_msal_refresh_token_gets_an_app_user_token_and_a_rotated_refresh_token(sim):
    result = app(sim).acquire_token_by_refresh_token(sim.refresh_token, scopes=[f"{PC}/.default"])
    assert "access_token" in result, result
    token = claims(sim, result["access_token"])
    assert token["aud"] == PC and token["tid"] == PARTNER
    assert token["upn"] == "admin@northwind.example"
    assert token["oid"] == "a0000000-0000-4000-8000-000000000001"
    assert token["scp"] == "user_impersonation"
    assert token["amr"] == ["pwd", "mfa"]
    assert token.get("idtyp") != "app"
    rotated = result["refresh_token"]
    assert rotated and rotated != sim.refresh_token
    again = app(sim).acquire_token_by_refresh_token(rotated, scopes=[f"{PC}/.default"])
    assert "access_token" in again, again


def test_refresh_token_redeemed_in_a_customer_tenant(sim):
    result = app(sim, tenant=CONTOSO).acquire_token_by_refresh_token(
        sim.refresh_token, scopes=[f"{ARM}/user_impersonation"])
    token = claims(sim, result["access_token"])
    assert (token["tid"], token["aud"]) == (CONTOSO, ARM)
    assert token["idp"] == f"https://sts.windows.net/{PARTNER}/"


def test_v1_endpoint_takes_a_resource(sim, http):
    response = http.post(f"{sim.login_url}/{PARTNER}/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": sim.refresh_token, "resource": PC,
        "client_id": APP_ID, "client_secret": APP_SECRET})
    body = response.json()
    assert response.status_code == 200, body
    assert body["resource"] == PC and body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], str) and body["refresh_token"] != sim.refresh_token
    assert claims(sim, body["access_token"])["aud"] == PC


def test_wrong_secret_is_invalid_client(sim):
    result = app(sim, secret="wrong").acquire_token_for_client(scopes=[f"{PC}/.default"])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]


def test_unknown_application_is_refused(sim):
    result = app(sim, client_id="99999999-0000-4000-8000-000000000000").acquire_token_for_client(
        scopes=[f"{PC}/.default"])
    assert result["error"] == "unauthorized_client" and result["error_codes"] == [700016]


def test_client_credentials_needs_a_default_scope(sim, http):
    response = http.post(f"{sim.login_url}/{PARTNER}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "scope": f"{PC}/user_impersonation",
        "client_id": APP_ID, "client_secret": APP_SECRET})
    assert response.status_code == 400 and response.json()["error_codes"] == [1002012]


def test_two_resources_in_one_request_are_refused(sim, http):
    response = http.post(f"{sim.login_url}/{PARTNER}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "scope": f"{PC}/.default {ARM}/.default",
        "client_id": APP_ID, "client_secret": APP_SECRET})
    assert response.json()["error_codes"] == [28000]


def test_an_unknown_refresh_token_is_invalid_grant(sim):
    result = app(sim).acquire_token_by_refresh_token("0.Anot-a-token", scopes=[f"{PC}/.default"])
    assert result["error"] == "invalid_grant"


@pytest.mark.parametrize(("setting", "error", "code"), [
    ("expired", "invalid_grant", 700082), ("mfa_required", "interaction_required", 50076)])
def test_revoked_refresh_tokens_are_refused_in_entra_shape(sim, setting, error, code):
    sim.control.settings(revokeRefreshTokens=setting)
    result = app(sim).acquire_token_by_refresh_token(sim.refresh_token, scopes=[f"{PC}/.default"])
    assert result["error"] == error
    assert result["error_codes"] == [code]
    assert f"AADSTS{code}:" in result["error_description"]
    assert {"timestamp", "trace_id", "correlation_id"} <= set(result)


def test_refresh_tokens_survive_a_restart(sim, tmp_path, monkeypatch):
    from simulator.testing import start_simulator
    state = tmp_path / "state"
    first = start_simulator(state)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(first.ca_path))
    try:
        from .conftest import scenario
        refresh = first.control.put_state(scenario())["refreshToken"]
    finally:
        first.stop()
    second = start_simulator(state)
    try:
        result = app(second).acquire_token_by_refresh_token(refresh, scopes=[f"{PC}/.default"])
        assert "access_token" in result, result
    finally:
        second.stop()


def test_a_new_scenario_keeps_the_refresh_tokens_of_staff_still_in_it_and_reset_revokes_all(sim):
    """make run stores the portal's token, then loads the demo staff for sign-in (a new scenario)."""
    from .conftest import scenario
    changed = scenario()
    changed["customers"].pop()                  # the directory changes; Ada Admin is still there
    sim.control.put_state(changed)
    assert "access_token" in app(sim).acquire_token_by_refresh_token(sim.refresh_token,
                                                                     scopes=[f"{PC}/.default"])

    without_ada = scenario()
    without_ada["partner"]["staff"] = without_ada["partner"]["staff"][1:]
    sim.control.put_state(without_ada)          # the user left: their tokens go with them
    assert app(sim).acquire_token_by_refresh_token(sim.refresh_token,
                                                   scopes=[f"{PC}/.default"])["error"] == "invalid_grant"

    refresh = sim.control.put_state(scenario())["refreshToken"]
    sim.control.reset()
    sim.control.put_state(scenario())
    result = app(sim).acquire_token_by_refresh_token(refresh, scopes=[f"{PC}/.default"])
    assert result["error"] == "invalid_grant"


def test_control_api_needs_the_key(sim):
    response = requests.post(f"{sim.url}/_simulator/reset", verify=str(sim.ca_path), timeout=10)
    assert response.status_code == 401
    assert sim.control.get_state()["partner"]["tenantId"] == PARTNER
