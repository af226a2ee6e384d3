"""Microsoft Graph over HTTPS: getByIds, users."""

from .conftest import ADMIN_AGENTS_GROUP, CONTOSO, CONTOSO_GROUP, CONTOSO_SP, CONTOSO_USER, GRAPH, PC, token


def auth(sim, **kwargs):
    return {"Authorization": f"Bearer {token(sim, tenant=CONTOSO, resource=GRAPH, **kwargs)}"}


def test_get_by_ids_resolves_users_groups_and_service_principals_of_the_tenant(sim, http):
    response = http.post(f"{sim.graph_url}/v1.0/directoryObjects/getByIds", headers=auth(sim), json={
        "ids": [CONTOSO_USER, CONTOSO_GROUP, CONTOSO_SP, ADMIN_AGENTS_GROUP],
        "types": ["user", "group", "servicePrincipal"]})
    body = response.json()
    assert response.status_code == 200
    by_id = {o["id"]: o for o in body["value"]}
    assert set(by_id) == {CONTOSO_USER, CONTOSO_GROUP, CONTOSO_SP}   # the partner's group is not there
    assert by_id[CONTOSO_USER]["@odata.type"] == "#microsoft.graph.user"
    assert by_id[CONTOSO_USER]["userPrincipalName"] == "owner@contoso.example"
    assert by_id[CONTOSO_USER]["displayName"] == "Olga Owner"
    assert by_id[CONTOSO_GROUP]["@odata.type"] == "#microsoft.graph.group"
    assert by_id[CONTOSO_SP]["@odata.type"] == "#microsoft.graph.servicePrincipal"


def test_get_by_ids_honours_types(sim, http):
    body = http.post(f"{sim.graph_url}/v1.0/directoryObjects/getByIds", headers=auth(sim),
                     json={"ids": [CONTOSO_USER, CONTOSO_GROUP], "types": ["group"]}).json()
    assert [o["id"] for o in body["value"]] == [CONTOSO_GROUP]


def test_get_user_by_id_and_by_upn(sim, http):
    by_id = http.get(f"{sim.graph_url}/v1.0/users/{CONTOSO_USER}", headers=auth(sim)).json()
    by_upn = http.get(f"{sim.graph_url}/v1.0/users/owner@contoso.example", headers=auth(sim)).json()
    assert by_id["id"] == by_upn["id"] == CONTOSO_USER
    missing = http.get(f"{sim.graph_url}/v1.0/users/nobody@contoso.example", headers=auth(sim))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_create_user(sim, http):
    body = {"accountEnabled": True, "displayName": "New Owner", "mailNickname": "newowner",
            "userPrincipalName": "newowner@contoso.onmicrosoft.com",
            "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "x-Long-Passw0rd"}}
    created = http.post(f"{sim.graph_url}/v1.0/users", headers=auth(sim), json=body)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert http.get(f"{sim.graph_url}/v1.0/users/{user_id}", headers=auth(sim)).status_code == 200
    again = http.post(f"{sim.graph_url}/v1.0/users", headers=auth(sim), json=body)
    assert again.status_code == 400
    assert "already exists" in again.json()["error"]["message"]
    users = sim.control.get_state()["customers"][0]["users"]
    assert [u["userPrincipalName"] for u in users].count("newowner@contoso.onmicrosoft.com") == 1


def test_create_user_needs_a_verified_domain(sim, http):
    body = {"accountEnabled": True, "displayName": "X", "mailNickname": "x",
            "userPrincipalName": "x@evil.example",
            "passwordProfile": {"password": "x-Long-Passw0rd"}}
    assert http.post(f"{sim.graph_url}/v1.0/users", headers=auth(sim), json=body).status_code == 400


def test_graph_refuses_a_partner_center_token(sim, http):
    response = http.get(f"{sim.graph_url}/v1.0/users/{CONTOSO_USER}",
                        headers={"Authorization": f"Bearer {token(sim, tenant=CONTOSO, resource=PC)}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
