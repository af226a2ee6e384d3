"""Azure Resource Manager (management.azure.com): subscriptions and role assignments (RBAC).

Calls need a token whose `tid` is the subscription's tenant (the customer's); reads, writes and deletes
each draw on a token bucket per subscription and principal, reported in
`x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import UTC, datetime

from . import tokens
from .auth import TokenProblem, bearer, is_app_only
from .web import HttpError, Request, Response, Router, dispatch, empty_response, json_response

router = Router(ignore_case=True)
ROLE_ASSIGNMENT_VERSIONS = {"2015-07-01", "2018-01-01-preview", "2018-09-01-preview", "2020-03-01-preview",
                            "2020-04-01-preview", "2020-08-01-preview", "2020-10-01-preview",
                            "2022-01-01-preview", "2022-04-01"}
SUBSCRIPTION_VERSIONS = {"2014-04-01", "2016-06-01", "2019-06-01", "2019-11-01", "2020-01-01", "2021-01-01",
                         "2022-01-01", "2022-12-01"}
BUILT_IN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "a8889054-8d42-49c9-bc1c-52486c10e7cd": "Reservations Administrator",
    "582fc458-8989-419f-a480-75249bc5db7e": "Reservations Reader",
    "fa23ad8b-c56e-40d8-ac0c-ce449e1d2c64": "Billing Reader",
    "72fafb9e-0641-4937-9268-a91bfd8191a3": "Cost Management Reader",
    "434105ed-43f6-45c7-a02f-909b2ba83430": "Cost Management Contributor",
}
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PRINCIPAL_TYPES = {"User", "Group", "ServicePrincipal", "ForeignGroup", "Device"}


def arm_error(status: int, code: str, message: str, headers: dict | None = None) -> HttpError:
    return HttpError(json_response(status, {"error": {"code": code, "message": message}}, headers))


def error_response(status: int, req: Request, *, retry_after: int) -> Response:
    codes = {429: ("TooManyRequests", "The request was throttled; retry after the Retry-After interval."),
             500: ("InternalServerError", "Encountered internal server error. Diagnostic information: "
                   f"timestamp '{datetime.now(UTC):%Y%m%dT%H%M%SZ}'."),
             503: ("ServiceUnavailable", "The service is temporarily unavailable; please retry later.")}
    code, message = codes.get(status, ("InternalServerError", "The request failed."))
    return arm_error(status, code, message).response


def decorate(req: Request, response: Response) -> None:
    request_id = str(uuid.uuid4())
    response.header("x-ms-request-id", request_id)
    response.header("x-ms-correlation-request-id", req.header("x-ms-correlation-request-id") or request_id)
    response.header("x-ms-routing-request-id", f"WESTEUROPE:{datetime.now(UTC):%Y%m%dT%H%M%SZ}:{request_id}")
    if req.header("x-ms-client-request-id"):
        response.header("x-ms-client-request-id", req.header("x-ms-client-request-id"))


def handle(sim, req: Request) -> Response:
    return dispatch(router, sim, req, not_found=lambda: arm_error(
        404, "InvalidResourceType" if "/providers/" in req.local_path else "NotFound",
        f"The resource '{req.local_path}' was not found, or this simulator does not serve it.").response,
        not_allowed=lambda: arm_error(405, "MethodNotAllowed", "The HTTP method is not allowed.").response)


def api_version(req: Request, supported: set[str]) -> str:
    version = req.query.get("api-version")
    if not version:
        raise arm_error(400, "MissingApiVersionParameter",
                        "The api-version query parameter (?api-version=) is required for all requests.")
    if version not in supported:
        raise arm_error(400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid. The "
                        f"supported versions are '{','.join(sorted(supported, reverse=True))}'.")
    return version


def caller(sim, req: Request) -> dict:
    try:
        return bearer(sim, req, resource=tokens.ARM)
    except TokenProblem as problem:
        code = {"missing": "AuthenticationFailed", "expired": "ExpiredAuthenticationToken",
                "audience": "InvalidAuthenticationTokenAudience"}.get(problem.kind,
                                                                      "InvalidAuthenticationToken")
        message = ("Authentication failed. The 'Authorization' header is missing."
                   if problem.kind == "missing" else problem.detail)
        raise arm_error(401, code, message,
                        {"WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/", '
                         'error="invalid_token"'}) from problem


def subscription_for(sim, req: Request, claims: dict, subscription_id: str) -> tuple[dict, dict]:
    """(customer, Azure subscription), after the tenant and access checks ARM makes."""
    found = sim.store.arm.get(subscription_id.lower())
    if found is None:
        raise arm_error(404, "SubscriptionNotFound",
                        f"The subscription '{subscription_id}' could not be found.")
    customer, _, azure = found
    tenant = customer["tenantId"]
    if claims["tid"].lower() != tenant.lower():
        raise arm_error(401, "InvalidAuthenticationTokenTenant", f"The access token is from the wrong issuer "
                        f"'https://sts.windows.net/{claims['tid']}/'. It must match the tenant "
                        f"'https://sts.windows.net/{tenant}/' associated with this subscription. Please use "
                        f"the authority (URL) 'https://login.windows.net/{tenant}' to get the token.")
    _check_access(sim, claims, azure, subscription_id)
    return customer, azure


def _check_access(sim, claims: dict, azure: dict, subscription_id: str) -> None:
    """The caller needs a role on the subscription. A partner agent gets it through the partner's
    AdminAgents group (a ForeignGroup assignment, AOBO) — checked only when the scenario names that group
    (`partner.adminAgentsGroupId`); an app-only token needs an assignment to the app's service principal."""
    principals = set()
    if is_app_only(claims):
        principals.add(claims["oid"].lower())
    else:
        group = (sim.store.partner or {}).get("adminAgentsGroupId")
        if not group:
            return
        principals.update({claims["oid"].lower(), group.lower()})
    if any(a["principalId"].lower() in principals for a in azure["roleAssignments"]):
        return
    who = claims.get("upn") or claims.get("appid")
    raise arm_error(403, "AuthorizationFailed", f"The client '{who}' with object id '{claims['oid']}' does "
                    "not have authorization to perform action "
                    "'Microsoft.Authorization/roleAssignments/read' "
                    f"over scope '/subscriptions/{subscription_id}' or the scope is invalid. If access was "
                    "recently granted, please refresh your credentials.")


def rate(sim, req: Request, claims: dict, subscription_id: str, kind: str) -> tuple[str, str]:
    remaining, retry_after = sim.store.arm_throttle(subscription_id, claims["oid"], kind)
    header = f"x-ms-ratelimit-remaining-subscription-{kind}"
    if retry_after is not None:
        raise arm_error(429, "SubscriptionRequestsThrottled", f"Number of '{kind[:-1]}' requests for "
                        f"subscription '{subscription_id}' actor '{claims['oid']}' exceeded. Please try "
                        f"again after '{retry_after}' seconds after additional tokens are available. Refer "
                        "to https://aka.ms/arm-throttling", {"Retry-After": str(retry_after), header: "0"})
    return header, str(remaining)


def role_definition_guid(value: str) -> str:
    return str(value).rstrip("/").rsplit("/", 1)[-1].lower()


def assignment_json(subscription_id: str, assignment: dict) -> dict:
    scope = f"/subscriptions/{subscription_id}"
    return {
        "properties": {
            "roleDefinitionId": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/"
                                f"{role_definition_guid(assignment['roleDefinitionId'])}",
            "principalId": assignment["principalId"],
            "principalType": assignment.get("principalType", "User"),
            "scope": scope,
            "condition": assignment.get("condition"),
            "conditionVersion": assignment.get("conditionVersion"),
            "createdOn": assignment.get("createdOn", "2025-01-15T10:00:00.0000000Z"),
            "updatedOn": assignment.get("updatedOn",
                                        assignment.get("createdOn", "2025-01-15T10:00:00.0000000Z")),
            "createdBy": assignment.get("createdBy"),
            "updatedBy": assignment.get("updatedBy"),
            "delegatedManagedIdentityResourceId": None,
            "description": assignment.get("description"),
        },
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment['name']}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": assignment["name"],
    }


FILTER = re.compile(r"^\s*(?:(atScope\(\))|principalId\s+eq\s+'([^']+)'|assignedTo\('([^']+)'\))\s*$", re.I)


@router.route("GET", "/subscriptions/(?P<subscription_id>[^/]+)/providers/Microsoft\\.Authorization/"
                     "roleAssignments")
def list_role_assignments(sim, req: Request, subscription_id: str) -> Response:
    version = api_version(req, ROLE_ASSIGNMENT_VERSIONS)
    claims = caller(sim, req)
    store = sim.store
    with store.lock:
        _, azure = subscription_for(sim, req, claims, subscription_id)
        header = rate(sim, req, claims, subscription_id, "reads")
        assignments = list(azure["roleAssignments"])
    raw_filter = req.query.get("$filter")
    if raw_filter:
        found = FILTER.match(raw_filter)
        if not found:
            raise arm_error(400, "InvalidFilter", f"The filter '{raw_filter}' is not supported. Supported "
                            "filters: atScope(), principalId eq '{id}', assignedTo('{id}').")
        principal = (found.group(2) or found.group(3) or "").lower()
        if principal:
            assignments = [a for a in assignments if a["principalId"].lower() == principal]
    size = int(store.settings["pageSize"]["roleAssignments"])
    skip = 0
    if req.query.get("$skipToken"):
        try:
            skip = int(json.loads(base64.urlsafe_b64decode(req.query["$skipToken"] + "==="))["skip"])
        except (ValueError, KeyError, TypeError) as exc:
            raise arm_error(400, "InvalidSkipToken", "The skip token is not valid.") from exc
    page = assignments[skip:skip + size]
    body = {"value": [assignment_json(azure["id"], a) for a in page]}
    if skip + size < len(assignments):
        token = base64.urlsafe_b64encode(json.dumps({"skip": skip + size}).encode()).decode().rstrip("=")
        query = f"api-version={version}&$skipToken={token}"
        if raw_filter:
            from urllib.parse import quote
            query += "&$filter=" + quote(raw_filter)
        body["nextLink"] = (f"{req.base}/management/subscriptions/{azure['id']}/providers/"
                            f"Microsoft.Authorization/roleAssignments?{query}")
    return json_response(200, body, dict([header]))


def _find(azure: dict, name: str) -> dict | None:
    return next((a for a in azure["roleAssignments"] if a["name"].lower() == name.lower()), None)


ASSIGNMENT_PATH = ("/subscriptions/(?P<subscription_id>[^/]+)/providers/Microsoft\\.Authorization/"
                   "roleAssignments/(?P<name>[^/]+)")


@router.route("GET", ASSIGNMENT_PATH)
def get_role_assignment(sim, req: Request, subscription_id: str, name: str) -> Response:
    api_version(req, ROLE_ASSIGNMENT_VERSIONS)
    claims = caller(sim, req)
    with sim.store.lock:
        _, azure = subscription_for(sim, req, claims, subscription_id)
        header = rate(sim, req, claims, subscription_id, "reads")
        assignment = _find(azure, name)
        if assignment is None:
            raise arm_error(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")
        return json_response(200, assignment_json(azure["id"], assignment), dict([header]))


def _writable(azure: dict, subscription_id: str) -> None:
    if azure.get("status", "active").lower() != "active":
        raise arm_error(409, "ReadOnlyDisabledSubscription", f"The subscription '{subscription_id}' is "
                        "disabled and therefore marked as read only. You cannot perform any write actions on "
                        "this subscription until it is re-enabled.")


@router.route("PUT", ASSIGNMENT_PATH)
def create_role_assignment(sim, req: Request, subscription_id: str, name: str) -> Response:
    api_version(req, ROLE_ASSIGNMENT_VERSIONS)
    claims = caller(sim, req)
    body = req.json(lambda message: arm_error(400, "InvalidRequestContent", message))
    properties = (body or {}).get("properties") if isinstance(body, dict) else None
    if not isinstance(properties, dict) or not properties.get("roleDefinitionId") or \
            not properties.get("principalId"):
        raise arm_error(400, "InvalidRequestContent", "The request content must be {\"properties\": "
                        "{\"roleDefinitionId\": …, \"principalId\": …}}.")
    if not GUID.match(name):
        raise arm_error(400, "InvalidRoleAssignmentId", f"The role assignment ID '{name}' is not valid. The "
                        "role assignment ID must be a GUID.")
    role = role_definition_guid(properties["roleDefinitionId"])
    principal_id = str(properties["principalId"])
    with sim.store.lock:
        customer, azure = subscription_for(sim, req, claims, subscription_id)
        header = rate(sim, req, claims, subscription_id, "writes")
        _writable(azure, subscription_id)
        if role not in BUILT_IN_ROLES and not any(role_definition_guid(a["roleDefinitionId"]) == role
                                                  for a in azure["roleAssignments"]):
            raise arm_error(400, "RoleDefinitionDoesNotExist",
                            f"The specified role definition with ID '{role}' does not exist.")
        directory = sim.store.directory.get(customer["tenantId"].lower(), {})
        principal_type = properties.get("principalType")
        known = directory.get(principal_id.lower())
        if known is None and principal_type != "ForeignGroup":
            raise arm_error(400, "PrincipalNotFound", f"Principal {principal_id.replace('-', '')} does not "
                            f"exist in the directory {customer['tenantId']}. Check that you have the correct "
                            "principal ID. If you are creating this principal and then immediately assigning "
                            "a role, this error might be related to a replication delay. In this case, set "
                            "the role assignment principalType property to a value, such as "
                            "ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype")
        if principal_type is None:
            principal_type = {"user": "User", "group": "Group",
                              "servicePrincipal": "ServicePrincipal"}[known[0]] if known else "ForeignGroup"
        if principal_type not in PRINCIPAL_TYPES:
            raise arm_error(400, "InvalidPrincipalType",
                            f"The principal type '{principal_type}' is not valid.")
        existing = _find(azure, name)
        if existing is not None:
            if existing["principalId"].lower() != principal_id.lower() or \
                    role_definition_guid(existing["roleDefinitionId"]) != role:
                raise arm_error(400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, "
                                "principal ID, and scope are not allowed to be updated.")
            raise arm_error(409, "RoleAssignmentExists", "The role assignment already exists.")
        if any(a["principalId"].lower() == principal_id.lower() and
               role_definition_guid(a["roleDefinitionId"]) == role for a in azure["roleAssignments"]):
            raise arm_error(409, "RoleAssignmentExists", "The role assignment already exists.")
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
        assignment = {"name": name.lower(), "principalId": principal_id, "principalType": principal_type,
                      "roleDefinitionId": role, "createdOn": now, "updatedOn": now,
                      "createdBy": claims["oid"], "updatedBy": claims["oid"],
                      "description": properties.get("description")}
        azure["roleAssignments"].append(assignment)
        sim.store.changed()
        return json_response(201, assignment_json(azure["id"], assignment), dict([header]))


@router.route("DELETE", ASSIGNMENT_PATH)
def delete_role_assignment(sim, req: Request, subscription_id: str, name: str) -> Response:
    api_version(req, ROLE_ASSIGNMENT_VERSIONS)
    claims = caller(sim, req)
    with sim.store.lock:
        _, azure = subscription_for(sim, req, claims, subscription_id)
        header = rate(sim, req, claims, subscription_id, "deletes")
        _writable(azure, subscription_id)
        assignment = _find(azure, name)
        if assignment is None:
            return empty_response(204, dict([header]))   # ARM: deleting what is not there is 204
        azure["roleAssignments"].remove(assignment)
        sim.store.changed()
        return json_response(200, assignment_json(azure["id"], assignment), dict([header]))


# ------------------------------------------------------------------------------------ subscriptions
def subscription_json(customer: dict, azure: dict) -> dict:
    state = {"active": "Enabled", "suspended": "Disabled", "disabled": "Disabled", "deleted": "Deleted",
             "warned": "Warned", "pastdue": "PastDue"}.get(azure.get("status", "active").lower(), "Enabled")
    return {"id": f"/subscriptions/{azure['id']}", "authorizationSource": "RoleBased", "managedByTenants": [],
            "subscriptionId": azure["id"], "tenantId": customer["tenantId"],
            "displayName": azure.get("friendlyName", "Microsoft Azure"), "state": state,
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "CSP_2015-05-01",
                                     "spendingLimit": "Off"}}


@router.route("GET", "/subscriptions/(?P<subscription_id>[^/]+)")
def get_subscription(sim, req: Request, subscription_id: str) -> Response:
    api_version(req, SUBSCRIPTION_VERSIONS)
    claims = caller(sim, req)
    with sim.store.lock:
        customer, azure = subscription_for(sim, req, claims, subscription_id)
        header = rate(sim, req, claims, subscription_id, "reads")
        return json_response(200, subscription_json(customer, azure), dict([header]))


@router.route("GET", "/subscriptions")
def list_subscriptions(sim, req: Request) -> Response:
    api_version(req, SUBSCRIPTION_VERSIONS)
    claims = caller(sim, req)
    with sim.store.lock:
        customer = sim.store.customer(claims["tid"])
        items = []
        for subscription in (customer or {}).get("subscriptions", []):
            items.extend(subscription_json(customer, azure) for azure in subscription["azureSubscriptions"])
    return json_response(200, {"value": items, "count": {"type": "Total", "value": len(items)}})


# ------------------------------------------------------------ Microsoft.Billing (the partner's MPA)
BILLING_VERSIONS = {"2019-10-01-preview", "2020-05-01", "2024-04-01"}
VIEW_CHARGES = ("Allowed", "NotAllowed")


def billing_account(sim) -> str:
    partner = sim.store.partner or {}
    if partner.get("billingAccountName"):
        return partner["billingAccountName"]
    tid = partner.get("tenantId", "")
    first, second = uuid.uuid5(uuid.NAMESPACE_OID, "ba:" + tid), uuid.uuid5(uuid.NAMESPACE_OID, "mpa:" + tid)
    return f"{first}:{second}_2019-05-31"


def partner_caller(sim, req: Request) -> dict:
    """A call on the partner's own billing account: an App+User token of the partner's tenant."""
    claims = caller(sim, req)
    partner = sim.store.partner or {}
    if claims["tid"].lower() != str(partner.get("tenantId", "")).lower():
        raise arm_error(401, "InvalidAuthenticationTokenTenant", "The access token is from the wrong issuer "
                        f"'https://sts.windows.net/{claims['tid']}/'; the billing account belongs to the "
                        "partner's tenant.")
    if is_app_only(claims):
        # Billing policies are changed by the partner's admin agents or billing admins (modelled).
        raise arm_error(403, "AuthorizationFailed", "The client does not have authorization to perform "
                        "action 'Microsoft.Billing/billingAccounts/customers/policies/write'.")
    return claims


def _billing_account_or_404(sim, name: str) -> str:
    account = billing_account(sim)
    if name.lower() != account.lower():
        raise arm_error(404, "BillingAccountNotFound", f"Billing account '{name}' was not found.")
    return account


@router.route("GET", "/providers/Microsoft\\.Billing/billingAccounts")
def list_billing_accounts(sim, req: Request) -> Response:
    api_version(req, BILLING_VERSIONS)
    partner_caller(sim, req)
    account = billing_account(sim)
    return json_response(200, {"value": [{
        "id": f"/providers/Microsoft.Billing/billingAccounts/{account}", "name": account,
        "type": "Microsoft.Billing/billingAccounts",
        "properties": {"accountStatus": "Active", "accountType": "Partner",
                       "agreementType": "MicrosoftPartnerAgreement", "hasReadAccess": True,
                       "displayName": (sim.store.partner or {}).get("name")}}]})


@router.route("GET", "/providers/Microsoft\\.Billing/billingAccounts/(?P<account>[^/]+)/customers")
def list_billing_customers(sim, req: Request, account: str) -> Response:
    api_version(req, BILLING_VERSIONS)
    partner_caller(sim, req)
    account = _billing_account_or_404(sim, account)
    with sim.store.lock:
        items = [{"id": f"/providers/Microsoft.Billing/billingAccounts/{account}/customers/{c['tenantId']}",
                  "name": c["tenantId"], "type": "Microsoft.Billing/billingAccounts/customers",
                  "properties": {"displayName": c.get("companyName"),
                                 "billingProfileDisplayName": (sim.store.partner or {}).get("name")}}
                 for c in sim.store.customers.values()]
    return json_response(200, {"value": items})


POLICY_PATH = ("/providers/Microsoft\\.Billing/billingAccounts/(?P<account>[^/]+)/customers/"
               "(?P<customer_id>[^/]+)/policies/default")


def _billing_policy(sim, account: str, customer: dict) -> dict:
    tid = customer["tenantId"]
    return {"id": f"/providers/Microsoft.Billing/billingAccounts/{account}/customers/{tid}/policies/default",
            "name": "default", "type": "Microsoft.Billing/billingAccounts/customers/policies",
            "properties": {"viewCharges": (customer.get("billingPolicy") or {}).get("viewCharges",
                                                                                   "NotAllowed")}}


def _billing_customer(sim, customer_id: str) -> dict:
    customer = sim.store.customer(customer_id)
    if customer is None:
        raise arm_error(404, "CustomerNotFound", f"Customer '{customer_id}' was not found in the billing "
                        "account.")
    return customer


@router.route("GET", POLICY_PATH)
def get_billing_policy(sim, req: Request, account: str, customer_id: str) -> Response:
    api_version(req, BILLING_VERSIONS)
    partner_caller(sim, req)
    account = _billing_account_or_404(sim, account)
    with sim.store.lock:
        return json_response(200, _billing_policy(sim, account, _billing_customer(sim, customer_id)))


@router.route("PUT", POLICY_PATH)
def put_billing_policy(sim, req: Request, account: str, customer_id: str) -> Response:
    api_version(req, BILLING_VERSIONS)
    partner_caller(sim, req)
    account = _billing_account_or_404(sim, account)
    body = req.json(lambda message: arm_error(400, "InvalidRequestContent", message))
    view = ((body or {}).get("properties") or {}).get("viewCharges") if isinstance(body, dict) else None
    if view not in VIEW_CHARGES:
        raise arm_error(400, "InvalidRequestContent", "properties.viewCharges must be Allowed or NotAllowed.")
    with sim.store.lock:
        customer = _billing_customer(sim, customer_id)
        customer["billingPolicy"] = {"viewCharges": view}
        sim.store.changed()
        return json_response(200, _billing_policy(sim, account, customer))


# ------------------------------------------- Microsoft.Capacity and Microsoft.BillingBenefits (read)
CAPACITY_VERSIONS = {"2019-04-01", "2020-10-25", "2021-07-01", "2022-03-01", "2022-11-01"}
BENEFITS_VERSIONS = {"2022-11-01", "2024-11-01-preview"}


def tenant_caller(sim, req: Request) -> tuple[dict, dict]:
    """A tenant-level call (reservations, savings plans): the token's tenant must be a customer's."""
    claims = caller(sim, req)
    customer = sim.store.customer(claims["tid"])
    if customer is None:
        raise arm_error(401, "InvalidAuthenticationTokenTenant", f"The tenant '{claims['tid']}' is not a "
                        "customer's tenant known to the simulator.")
    return claims, customer


def _visible(items: list[dict]) -> list[dict]:
    # Whether the partner's agents see orders a customer bought itself is UNCONFIRMED (MICROSOFT.md §4.4):
    # a scenario says so per order with "visibleToPartner": false.
    return [item for item in items if item.get("visibleToPartner", True)]


def _arm_object(item: dict, kind: str, id_prefix: str) -> dict:
    data = {k: v for k, v in item.items() if k not in ("visibleToPartner", "reservations", "savingsPlans",
                                                           "roleAssignments", "refundable")}
    data.setdefault("name", data.get("id", "").rsplit("/", 1)[-1] or str(uuid.uuid4()))
    data.setdefault("id", f"{id_prefix}/{data['name']}")
    data.setdefault("type", kind)
    data.setdefault("properties", {})
    return data


def _orders(customer: dict) -> list[dict]:
    return _visible(customer.get("reservationOrders", []))


def _order_json(order: dict) -> dict:
    data = _arm_object(order, "microsoft.capacity/reservationOrders",
                       "/providers/microsoft.capacity/reservationOrders")
    data["properties"] = {**data["properties"], "reservations": [
        {"id": _reservation_json(data, r)["id"]} for r in order.get("reservations", [])]}
    return data


def _reservation_json(order: dict, reservation: dict) -> dict:
    return _arm_object(reservation, "microsoft.capacity/reservationOrders/reservations",
                       f"{order['id']}/reservations")


def _find_order(customer: dict, order_id: str) -> dict:
    for order in _orders(customer):
        if _order_json(order)["name"].lower() == order_id.lower():
            return order
    raise arm_error(404, "ReservationOrderNotFound", f"Reservation order '{order_id}' was not found.")


@router.route("GET", "/providers/Microsoft\\.Capacity/reservationOrders")
def list_reservation_orders(sim, req: Request) -> Response:
    api_version(req, CAPACITY_VERSIONS)
    _, customer = tenant_caller(sim, req)
    with sim.store.lock:
        return json_response(200, {"value": [_order_json(o) for o in _orders(customer)]})


@router.route("GET", "/providers/Microsoft\\.Capacity/reservationOrders/(?P<order_id>[^/]+)")
def get_reservation_order(sim, req: Request, order_id: str) -> Response:
    api_version(req, CAPACITY_VERSIONS)
    _, customer = tenant_caller(sim, req)
    with sim.store.lock:
        return json_response(200, _order_json(_find_order(customer, order_id)))


@router.route("GET", "/providers/Microsoft\\.Capacity/reservationOrders/(?P<order_id>[^/]+)/reservations")
def list_reservations_in_order(sim, req: Request, order_id: str) -> Response:
    api_version(req, CAPACITY_VERSIONS)
    _, customer = tenant_caller(sim, req)
    with sim.store.lock:
        order = _find_order(customer, order_id)
        data = _order_json(order)
        return json_response(200, {"value": [_reservation_json(data, r)
                                             for r in order.get("reservations", [])]})


@router.route("GET", "/providers/Microsoft\\.Capacity/reservations")
def list_all_reservations(sim, req: Request) -> Response:
    api_version(req, CAPACITY_VERSIONS)
    _, customer = tenant_caller(sim, req)
    with sim.store.lock:
        items = []
        for order in _orders(customer):
            data = _order_json(order)
            items.extend(_reservation_json(data, r) for r in order.get("reservations", []))
    return json_response(200, {"value": items})


@router.route("GET", "/providers/Microsoft\\.BillingBenefits/savingsPlanOrders")
def list_savings_plan_orders(sim, req: Request) -> Response:
    api_version(req, BENEFITS_VERSIONS)
    _, customer = tenant_caller(sim, req)
    with sim.store.lock:
        items = [_arm_object(o, "microsoft.billingbenefits/savingsPlanOrders",
                             "/providers/Microsoft.BillingBenefits/savingsPlanOrders")
                 for o in _visible(customer.get("savingsPlanOrders", []))]
    return json_response(200, {"value": items})


@router.route("GET", "/providers/Microsoft\\.BillingBenefits/savingsPlans")
def list_savings_plans(sim, req: Request) -> Response:
    api_version(req, BENEFITS_VERSIONS)
    _, customer = tenant_caller(sim, req)
    with sim.store.lock:
        items = []
        for order in _visible(customer.get("savingsPlanOrders", [])):
            data = _arm_object(order, "microsoft.billingbenefits/savingsPlanOrders",
                               "/providers/Microsoft.BillingBenefits/savingsPlanOrders")
            items.extend(_arm_object(plan, "microsoft.billingbenefits/savingsPlanOrders/savingsPlans",
                                     f"{data['id']}/savingsPlans") for plan in order.get("savingsPlans", []))
    return json_response(200, {"value": items})
