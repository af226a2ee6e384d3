import jwt
import pytest
import requests

PARTNER = "6e1f3e4c-1d0a-4a7b-9b8e-000000000001"
APP_ID = "2f7b8c1e-5a6d-4e3f-8b9a-0000000000a1"
APP_SECRET = "simulated-app-secret"
ADMIN_OID = "a0000000-0000-4000-8000-000000000001"
SALES_OID = "a0000000-0000-4000-8000-000000000002"
CONTOSO = "c0000000-0000-4000-8000-000000000001"
FABRIKAM = "c0000000-0000-4000-8000-000000000002"
CONTOSO_USER = "d0000000-0000-4000-8000-000000000001"
CONTOSO_GROUP = "d0000000-0000-4000-8000-000000000002"
CONTOSO_SP = "d0000000-0000-4000-8000-000000000003"
ADMIN_AGENTS_GROUP = "e0000000-0000-4000-8000-000000000001"
AZURE_PLAN = "b0000000-0000-4000-8000-000000000001"
M365 = "b0000000-0000-4000-8000-000000000002"
ARM_SUB_1 = "f0000000-0000-4000-8000-000000000001"
ARM_SUB_2 = "f0000000-0000-4000-8000-000000000002"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
PC = "https://api.partnercenter.microsoft.com"
ARM = "https://management.azure.com"
GRAPH = "https://graph.microsoft.com"


def scenario() -> dict:
    return {
        "partner": {
            "tenantId": PARTNER, "name": "Northwind CSP", "domain": "northwind.onmicrosoft.com",
            "appId": APP_ID, "appSecret": APP_SECRET,
            "apps": [{"appId": "5ca1ab1e-0000-4000-8000-000000000001", "appSecret": "portal-sign-in-secret",
                      "displayName": "CSP Partner Portal", "redirectUris": ["https://portal.example/oidc/callback"]}],
            "staff": [
                {"oid": ADMIN_OID, "userPrincipalName": "admin@northwind.example", "displayName": "Ada Admin",
                 "roles": ["AdminAgent"], "groups": [ADMIN_AGENTS_GROUP], "mfa": True},
                {"oid": SALES_OID, "userPrincipalName": "sales@northwind.example", "displayName": "Sam Sales",
                 "roles": ["SalesAgent"], "groups": [], "mfa": False},
            ],
        },
        "customers": [
            {"tenantId": CONTOSO, "companyName": "Contoso Ltd", "domain": "contoso.onmicrosoft.com",
             "relationship": "reseller",
             "users": [{"id": CONTOSO_USER, "userPrincipalName": "owner@contoso.example",
                        "displayName": "Olga Owner"}],
             "groups": [{"id": CONTOSO_GROUP, "displayName": "Cloud admins"}],
             "servicePrincipals": [{"id": CONTOSO_SP, "displayName": "Deploy pipeline"}],
             "subscriptions": [
                 {"id": AZURE_PLAN, "offerId": "DZH318Z0BPS6:0001:DZH318Z0BML6", "offerName": "Azure plan",
                  "friendlyName": "Azure plan", "status": "active", "quantity": 1, "billingType": "usage",
                  "creationDate": "2025-01-15T10:00:00Z",
                  "azureSubscriptions": [
                      {"id": ARM_SUB_1, "friendlyName": "Production", "status": "active", "roleAssignments": [
                          {"name": "10000000-0000-4000-8000-000000000001", "principalId": ADMIN_AGENTS_GROUP,
                           "principalType": "ForeignGroup", "roleDefinitionId": OWNER},
                          {"name": "10000000-0000-4000-8000-000000000002", "principalId": CONTOSO_USER,
                           "principalType": "User", "roleDefinitionId": OWNER},
                          {"name": "10000000-0000-4000-8000-000000000003", "principalId": CONTOSO_SP,
                           "principalType": "ServicePrincipal", "roleDefinitionId": READER}]},
                      {"id": ARM_SUB_2, "friendlyName": "Test", "status": "active", "roleAssignments": []}]},
                 {"id": M365, "offerId": "CFQ7TTC0LH18:0001", "offerName": "Microsoft 365 Business Basic",
                  "friendlyName": "M365", "status": "active", "quantity": 10, "billingType": "license",
                  "creationDate": "2025-02-01T10:00:00Z"}],
             "selfServePolicy": None},
            {"tenantId": FABRIKAM, "companyName": "Fabrikam", "domain": "fabrikam.onmicrosoft.com",
             "relationship": "reseller", "subscriptions": [],
             "selfServePolicy": {"permissions": ["AzureReservedInstances"]}},
        ],
    }


@pytest.fixture
def sim(simulator):
    """The simulator loaded with the small scenario above; `sim.refresh_token` is the Admin agent's."""
    simulator.refresh_token = simulator.control.put_state(scenario())["refreshToken"]
    return simulator


@pytest.fixture
def http(simulator):
    session = requests.Session()
    session.verify = str(simulator.ca_path)
    return session


def claims(sim, token: str) -> dict:
    """Verify a token against the simulator's published keys, as a relying party would."""
    jwks = requests.get(f"{sim.login_url}/{PARTNER}/discovery/v2.0/keys", verify=str(sim.ca_path),
                        timeout=10).json()
    key = jwt.PyJWK(jwks["keys"][0])
    assert jwt.get_unverified_header(token)["kid"] == jwks["keys"][0]["kid"]
    return jwt.decode(token, key.key, algorithms=["RS256"], options={"verify_aud": False})


def token(sim, *, tenant=PARTNER, resource=PC, app_only=False, **extra) -> str:
    return sim.control.mint_token(tenant=tenant, resource=resource, appOnly=app_only, **extra)
