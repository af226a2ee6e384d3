"""The control API under /_simulator/: for tests, seed_demo and benchmarks, never for the portal's client."""

from __future__ import annotations

import secrets

from . import customer_portal, identity, tokens
from . import generate as generator
from .store import merge_settings
from .web import HttpError, Request, Response, Router, dispatch, empty_response, json_response

router = Router()


def error(status: int, message: str) -> HttpError:
    return HttpError(json_response(status, {"error": message}))


def handle(sim, req: Request) -> Response:
    if req.local_path == "/health":
        return json_response(200, {"status": "ok"})
    given = req.header("X-Simulator-Key") or ""
    if not secrets.compare_digest(given.encode(), sim.key.encode()):
        return json_response(401, {"error": "The control API needs the header X-Simulator-Key (DIR/key)."})
    return dispatch(router, sim, req,
                    not_found=lambda: json_response(404, {"error": "No such control call."}),
                    not_allowed=lambda: json_response(405, {"error": "Method not allowed."}))


def error_response(status: int, req: Request, *, retry_after: int) -> Response:
    return json_response(status, {"error": "The simulator failed; see its standard error."})


def decorate(req: Request, response: Response) -> None:
    pass


def _body(req: Request, kind=dict):
    body = req.json(lambda message: error(400, message))
    if not isinstance(body, kind):
        raise error(400, f"The body must be a JSON {'object' if kind is dict else 'array'}.")
    return body


@router.route("POST", "/reset")
def reset(sim, req: Request) -> Response:
    sim.store.reset()
    return empty_response(204)


def _objects(parent: dict, key: str, where: str, *, needs: tuple[str, ...] = ("id",)) -> list[dict]:
    """parent[key] as a list of objects that each have the fields in `needs`; 400 otherwise."""
    items = parent.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise error(400, f"{where}: {key} must be a list of objects.")
    for item in items:
        missing = [field for field in needs if not isinstance(item.get(field), str) or not item.get(field)]
        if missing:
            raise error(400, f"{where}: each of {key} needs {', '.join(needs)} (text).")
    return items


def validate_scenario(doc: dict) -> None:
    """Refuse a scenario the simulator could not serve, before anything of it is kept."""
    partner = doc.get("partner")
    if partner is not None:
        if not isinstance(partner, dict) or not isinstance(partner.get("tenantId"), str) or \
                not partner["tenantId"]:
            raise error(400, "partner needs a tenantId.")
        _objects(partner, "staff", "partner", needs=("oid", "userPrincipalName"))
        _objects(partner, "groups", "partner")
        _objects(partner, "apps", "partner", needs=("appId",))
    customers = doc.get("customers") or []
    if not isinstance(customers, list):
        raise error(400, "customers must be a list.")
    _objects(doc, "auditRecords", "the scenario")
    seen = set()
    for customer in customers:
        if not isinstance(customer, dict) or not isinstance(customer.get("tenantId"), str) or \
                not customer["tenantId"]:
            raise error(400, "Each customer needs a tenantId.")
        tid = customer["tenantId"].lower()
        if tid in seen:
            raise error(400, f"Customer {customer['tenantId']} appears twice.")
        seen.add(tid)
        where = f"customer {customer['tenantId']}"
        _objects(customer, "users", where, needs=("id", "userPrincipalName"))
        _objects(customer, "groups", where)
        _objects(customer, "servicePrincipals", where)
        _objects(customer, "orders", where)
        policy = customer.get("selfServePolicy")
        if policy is not None and (not isinstance(policy, dict) or
                                   not isinstance(policy.get("permissions", []), list)):
            raise error(400, f"{where}: selfServePolicy is null or {{\"permissions\": [...]}}.")
        for subscription in _objects(customer, "subscriptions", where):
            for azure in _objects(subscription, "azureSubscriptions", where):
                _objects(azure, "roleAssignments", where, needs=("name", "principalId", "roleDefinitionId"))


def partner_refresh_token(sim) -> str | None:
    """An App+User refresh token for the partner's first Admin agent (or first staff user)."""
    partner = sim.store.partner
    if not partner or not partner.get("appId") or not partner.get("staff"):
        return None
    staff = partner["staff"]
    person = next((s for s in staff if "AdminAgent" in s.get("roles", [])), staff[0])
    with sim.store.lock:
        return identity.issue_refresh_token(sim, oid=person["oid"], client_id=partner["appId"],
                                            mfa=person.get("mfa", True))


@router.route("PUT", "/state")
def put_state(sim, req: Request) -> Response:
    doc = _body(req)
    validate_scenario(doc)
    sim.store.replace(doc)
    return json_response(200, {"refreshToken": partner_refresh_token(sim)})


@router.route("GET", "/state")
def get_state(sim, req: Request) -> Response:
    with sim.store.lock:
        return json_response(200, sim.store.scenario)


@router.route("POST", "/generate")
def generate(sim, req: Request) -> Response:
    options = _body(req)
    limits = {"customers": 200_000, "subscriptionsPerCustomer": 50, "auditRecords": 2_000_000,
              "usersPerCustomer": 50}
    for name, most in limits.items():
        value = options.get(name)
        if value is not None and (not isinstance(value, int) or not 0 <= value <= most):
            raise error(400, f"{name} is a whole number from 0 to {most:,}.")
    try:
        doc = generator.generate(**options)
    except (TypeError, ValueError) as exc:
        raise error(400, f"Options are customers, subscriptionsPerCustomer, seed, auditRecords, "
                         f"usersPerCustomer (whole numbers): {exc}") from exc
    sim.store.replace(doc)
    return json_response(200, {"refreshToken": partner_refresh_token(sim), "partner": doc["partner"],
                               "customers": len(doc["customers"]),
                               "subscriptions": sum(len(c["subscriptions"]) for c in doc["customers"]),
                               "auditRecords": len(doc["auditRecords"])})


@router.route("POST", "/faults")
def add_faults(sim, req: Request) -> Response:
    body = _body(req)
    rules = body.get("rules")
    if not isinstance(rules, list):
        raise error(400, "Send {\"rules\": [...]}.")
    try:
        sim.store.set_faults(rules)
    except (ValueError, TypeError) as exc:
        raise error(400, str(exc)) from exc
    return json_response(200, {"rules": sim.store.fault_list()})


@router.route("GET", "/faults")
def list_faults(sim, req: Request) -> Response:
    return json_response(200, {"rules": sim.store.fault_list()})


@router.route("DELETE", "/faults")
def clear_faults(sim, req: Request) -> Response:
    with sim.store.lock:
        sim.store.faults.clear()
    return empty_response(204)


@router.route("GET", "/requests")
def requests_journal(sim, req: Request) -> Response:
    since = int(req.query.get("since") or 0)
    with sim.store.lock:
        journal = sim.store.journal
        if since:
            # seq grows by one per entry: find the first entry after `since` without a scan.
            first = journal[0]["seq"] if journal else 0
            start = max(0, since - first + 1)
            entries = journal[start:]
        else:
            entries = list(journal)
    return json_response(200, entries)


@router.route("DELETE", "/requests")
def clear_requests(sim, req: Request) -> Response:
    with sim.store.lock:
        sim.store.journal.clear()
    return empty_response(204)


@router.route("GET", "/settings")
def get_settings(sim, req: Request) -> Response:
    return json_response(200, sim.store.settings)


@router.route("PUT", "/settings")
def put_settings(sim, req: Request) -> Response:
    change = _body(req)
    with sim.store.lock:
        try:
            sim.store.settings = merge_settings(sim.store.settings, change)
        except ValueError as exc:
            raise error(400, str(exc)) from exc
        sim.store.changed()
        return json_response(200, sim.store.settings)


@router.route("POST", "/tokens")
def mint_token(sim, req: Request) -> Response:
    """An access token made to order (e.g. expired, wrong audience, without MFA) for tests of token checks."""
    body = _body(req)
    store = sim.store
    partner = store.partner or {}
    tenant = body.get("tenant") or partner.get("tenantId")
    user = None
    if not body.get("appOnly", False):
        oid = body.get("oid") or (partner.get("staff") or [{}])[0].get("oid")
        user = store.staff.get(str(oid).lower())
        if user is None:
            raise error(400, "No such staff user (oid).")
    resource = body.get("resource", tokens.PARTNER_CENTER)
    scopes = identity.USER_SCOPES.get(tokens.RESOURCES.get(resource, ""), "user_impersonation")
    lifetime = int(body.get("expiresIn", 3600))
    token = tokens.access_token(sim.signer, audience=resource, tenant_id=tenant,
                                app_id=body.get("appId") or partner.get("appId") or "",
                                user=user, home_tenant=partner.get("tenantId") or tenant, scopes=scopes,
                                mfa=body.get("mfa", True), lifetime=lifetime)
    return json_response(200, {"accessToken": token})


@router.route("POST", "/customers/(?P<tenant>[^/]+)/purchases")
def customer_purchase(sim, req: Request, tenant: str) -> Response:
    """The customer's side: a customer user buys a reservation or a savings plan (customer_portal.py)."""
    return customer_portal.purchase(sim, req, tenant)
