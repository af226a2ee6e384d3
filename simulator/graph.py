"""Microsoft Graph (graph.microsoft.com): directory objects of the token's tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from . import tokens
from .auth import TokenProblem, bearer
from .web import HttpError, Request, Response, Router, dispatch, json_response

router = Router()
GRAPH_BASE = "https://graph.microsoft.com/v1.0"
ODATA_TYPES = {"user": "#microsoft.graph.user", "group": "#microsoft.graph.group",
               "servicePrincipal": "#microsoft.graph.servicePrincipal"}


def graph_error(status: int, code: str, message: str, req: Request | None = None) -> HttpError:
    return HttpError(json_response(status, {"error": {"code": code, "message": message, "innerError": {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": str(uuid.uuid4()),
        "client-request-id": (req.header("client-request-id") if req else None) or str(uuid.uuid4())}}}))


def error_response(status: int, req: Request, *, retry_after: int) -> Response:
    codes = {429: ("TooManyRequests", "Too many requests."), 500: ("generalException", "General exception."),
             503: ("serviceNotAvailable", "Service unavailable.")}
    code, message = codes.get(status, ("generalException", "The request failed."))
    return graph_error(status, code, message, req).response


def decorate(req: Request, response: Response) -> None:
    response.header("request-id", str(uuid.uuid4()))
    response.header("client-request-id", req.header("client-request-id") or str(uuid.uuid4()))
    response.header("x-ms-ags-diagnostic", '{"ServerInfo":{"DataCenter":"West Europe","Slice":"E"}}')


def handle(sim, req: Request) -> Response:
    return dispatch(router, sim, req, not_found=lambda: graph_error(
        400, "BadRequest", f"Resource not found for the segment '{req.local_path.rsplit('/', 1)[-1]}'.",
        req).response)


def caller(sim, req: Request) -> tuple[dict, str]:
    """(claims, tenant id) for a Graph call; the tenant's directory is what the call sees."""
    try:
        claims = bearer(sim, req, resource=tokens.GRAPH)
    except TokenProblem as problem:
        message = {"missing": "Access token is empty.",
                   "expired": "Lifetime validation failed, the token is expired.",
                   "audience": "Access token validation failure. Invalid audience."}.get(
                       problem.kind, "Access token validation failure.")
        raise graph_error(401, "InvalidAuthenticationToken", message, req) from problem
    return claims, claims["tid"].lower()


def directory(sim, tenant: str) -> dict[str, tuple[str, dict]]:
    store = sim.store
    partner = store.partner or {}
    if tenant == str(partner.get("tenantId", "")).lower():
        objects = {s["oid"].lower(): ("user", {"id": s["oid"], **s}) for s in partner.get("staff", [])}
        objects.update({g["id"].lower(): ("group", g) for g in partner.get("groups", [])})
        return objects
    return store.directory.get(tenant, {})


def object_json(kind: str, obj: dict) -> dict:
    data = {"@odata.type": ODATA_TYPES[kind], "id": obj["id"], "displayName": obj.get("displayName")}
    if kind == "user":
        data.update({"businessPhones": [], "givenName": obj.get("givenName"), "jobTitle": obj.get("jobTitle"),
                     "mail": obj.get("mail"), "mobilePhone": None, "officeLocation": None,
                     "preferredLanguage": None, "surname": obj.get("surname"),
                     "userPrincipalName": obj.get("userPrincipalName")})
    elif kind == "group":
        data.update({"description": obj.get("description"), "mailEnabled": False, "securityEnabled": True,
                     "groupTypes": [], "mail": None})
    else:
        data.update({"appId": obj.get("appId") or str(uuid.uuid5(uuid.NAMESPACE_OID, obj["id"])),
                     "servicePrincipalType": obj.get("servicePrincipalType", "Application"),
                     "accountEnabled": True})
    return data


@router.route("POST", "/v1.0/directoryObjects/getByIds")
def get_by_ids(sim, req: Request) -> Response:
    _, tenant = caller(sim, req)
    body = req.json(lambda message: graph_error(400, "BadRequest", message, req))
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise graph_error(400, "Request_BadRequest", "Invalid value specified for property 'ids' of resource "
                          "'DirectoryObject'.", req)
    if len(ids) > 1000:
        raise graph_error(400, "Request_BadRequest", "Too many ids: at most 1000 ids per request.", req)
    types = body.get("types")
    wanted = {t.lower() for t in types} if types else None
    with sim.store.lock:
        objects = directory(sim, tenant)
        found = []
        for object_id in ids:
            hit = objects.get(object_id.lower())
            if hit and (wanted is None or hit[0].lower() in wanted):
                found.append(object_json(*hit))
    return json_response(200, {"@odata.context": f"{GRAPH_BASE}/$metadata#directoryObjects", "value": found})


def _one(sim, req: Request, key: str, kind: str) -> Response:
    _, tenant = caller(sim, req)
    with sim.store.lock:
        objects = directory(sim, tenant)
        hit = objects.get(key.lower())
        if hit is None and kind == "user":
            hit = next((o for o in objects.values()
                        if o[0] == "user" and str(o[1].get("userPrincipalName", "")).lower() == key.lower()),
                       None)
        if hit is None or hit[0] != kind:
            raise graph_error(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist or one of "
                              "its queried reference-property objects are not present.", req)
        data = object_json(*hit)
    data.pop("@odata.type")
    return json_response(200, {"@odata.context": f"{GRAPH_BASE}/$metadata#{kind}s/$entity", **data})


@router.route("GET", "/v1.0/me")
def me(sim, req: Request) -> Response:
    """The signed-in user (a delegated token's `oid` in its tenant)."""
    claims, _ = caller(sim, req)
    if "scp" not in claims:
        raise graph_error(400, "BadRequest", "/me request is only valid with delegated authentication flow.",
                          req)
    return _one(sim, req, claims["oid"], "user")


@router.route("GET", "/oidc/userinfo")
def userinfo(sim, req: Request) -> Response:
    """OpenID Connect's userinfo endpoint (graph.microsoft.com/oidc/userinfo), for a delegated token."""
    claims, tenant = caller(sim, req)
    with sim.store.lock:
        hit = directory(sim, tenant).get(str(claims.get("oid", "")).lower())
    if hit is None or hit[0] != "user":
        raise graph_error(401, "InvalidAuthenticationToken", "The token does not name a user.", req)
    user = hit[1]
    name = user.get("displayName") or ""
    given, _, family = name.partition(" ")
    return json_response(200, {"sub": claims.get("sub"), "name": name, "given_name": given,
                               "family_name": family,
                               "email": user.get("email") or user.get("userPrincipalName"),
                               "picture": f"{req.base}/graph/v1.0/me/photo/$value"})


@router.route("GET", "/v1.0/users/(?P<key>[^/]+)")
def get_user(sim, req: Request, key: str) -> Response:
    return _one(sim, req, key, "user")


@router.route("GET", "/v1.0/groups/(?P<key>[^/]+)")
def get_group(sim, req: Request, key: str) -> Response:
    return _one(sim, req, key, "group")


@router.route("GET", "/v1.0/servicePrincipals/(?P<key>[^/]+)")
def get_service_principal(sim, req: Request, key: str) -> Response:
    return _one(sim, req, key, "servicePrincipal")


@router.route("POST", "/v1.0/users")
def create_user(sim, req: Request) -> Response:
    _, tenant = caller(sim, req)
    body = req.json(lambda message: graph_error(400, "BadRequest", message, req))
    if not isinstance(body, dict):
        raise graph_error(400, "BadRequest", "The body must be a user object.", req)
    for required in ("accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"):
        if body.get(required) in (None, ""):
            raise graph_error(400, "Request_BadRequest", f"Invalid value specified for property '{required}' "
                              "of resource 'User'.", req)
    upn = str(body["userPrincipalName"])
    with sim.store.lock:
        customer = sim.store.customer(tenant)
        if customer is None:
            raise graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the "
                              "operation.", req)
        domains = {str(customer.get("domain", "")).lower()} | {
            u["userPrincipalName"].rsplit("@", 1)[-1].lower() for u in customer["users"]}
        if "@" not in upn or upn.rsplit("@", 1)[-1].lower() not in domains:
            raise graph_error(400, "Request_BadRequest", "The domain portion of the userPrincipalName "
                              "property is invalid. You must use one of the verified domain names in your "
                              "organization.", req)
        if any(u["userPrincipalName"].lower() == upn.lower() for u in customer["users"]):
            raise graph_error(400, "Request_BadRequest", "Another object with the same value for property "
                              "userPrincipalName already exists.", req)
        user = {"id": str(uuid.uuid4()), "userPrincipalName": upn, "displayName": body["displayName"]}
        customer["users"].append(user)
        sim.store.directory.setdefault(tenant, {})[user["id"]] = ("user", user)
        sim.store.changed()
        data = object_json("user", user)
    data.pop("@odata.type")
    return json_response(201, {"@odata.context": f"{GRAPH_BASE}/$metadata#users/$entity", **data})
