"""Partner Center (api.partnercenter.microsoft.com), in Microsoft's documented shapes.

Customers (seek paging), subscriptions, Azure entitlements, SelfServePolicy, audit records, orders,
customer users and carts. Error bodies are `{"code", "description", "data", "source"}`. Where Microsoft's
documents give no error code, the simulator answers the HTTP status as `code` (a modelled value: the
client must rely on the status and on the documented codes only).
"""

from __future__ import annotations

import base64
import json
import uuid
from bisect import bisect_left
from datetime import UTC, datetime, timedelta

from . import tokens
from .auth import TokenProblem, bearer, has_mfa, is_app_only
from .web import HttpError, Request, Response, Router, dispatch, empty_response, json_response

router = Router(ignore_case=True)
SOURCE = "PartnerFD"
POLICY_RESOURCES = ("AzureReservedInstances", "AzureSavingsPlan")
AZURE_PLAN_PREFIX = "DZH318Z0BPS6"


# ------------------------------------------------------------------------------------------- basics
def pc_error(status: int, code: str, description: str) -> HttpError:
    return HttpError(json_response(status, {"code": str(code), "description": description, "data": [],
                                            "source": SOURCE}))


def error_response(status: int, req: Request, *, retry_after: int) -> Response:
    if status == 429:
        return throttled(retry_after)
    descriptions = {500: "An internal server error occurred. Please try again later.",
                    503: "The service is temporarily unavailable. Please try again later."}
    return pc_error(status, str(status), descriptions.get(status, "The request failed.")).response


def throttled(retry_after: int) -> Response:
    # Partner Center's documented throttling body (api-throttling-guidance).
    return json_response(429, {"statusCode": 429,
                               "message": f"Rate limit is exceeded. Try again in {retry_after} seconds."},
                         {"Retry-After": str(retry_after)})


def decorate(req: Request, response: Response) -> None:
    response.header("MS-RequestId", req.header("MS-RequestId") or str(uuid.uuid4()))
    response.header("MS-CorrelationId", req.header("MS-CorrelationId") or str(uuid.uuid4()))
    response.header("MS-CV", base64.b64encode(uuid.uuid4().bytes[:12]).decode())


def handle(sim, req: Request) -> Response:
    return dispatch(router, sim, req,
                    not_found=lambda: pc_error(404, "404", "The requested resource was not found.").response,
                    not_allowed=lambda: pc_error(405, "405", "The HTTP method is not allowed.").response)


def link(uri: str, method: str = "GET", headers: list | None = None) -> dict:
    return {"uri": uri, "method": method, "headers": headers or []}


def collection(items: list, self_uri: str, **extra) -> dict:
    return {"totalCount": len(items), "items": items, "links": {"self": link(self_uri)},
            "attributes": {"objectType": "Collection"}, **extra}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def caller(sim, req: Request, *, app_user_only: bool = False) -> dict:
    """The verified claims of a Partner Center call by the partner; refuses as Partner Center does."""
    partner = sim.store.partner
    try:
        claims = bearer(sim, req, resource=tokens.PARTNER_CENTER)
    except TokenProblem as problem:
        raise pc_error(401, "401", f"Unauthorized: {problem.detail}") from problem
    if partner is None or claims["tid"].lower() != partner["tenantId"].lower():
        raise pc_error(401, "401", "Unauthorized: the token is not for a Partner Center partner tenant.")
    if is_app_only(claims):
        if app_user_only:
            raise pc_error(403, "403", "This operation supports App+User authentication only; an "
                           "application-only token was sent.")
    elif not has_mfa(claims):
        # Partner Center enforces MFA on App+User calls (since 1 April 2026).
        raise pc_error(401, "401", "Unauthorized: multi-factor authentication is required for App+User "
                       "calls. Sign in again with MFA.")
    return claims


def throttle(sim, req: Request, resource: str) -> None:
    retry_after = sim.store.partner_center_throttle(sim.store.partner["tenantId"], resource)
    if retry_after is not None:
        raise HttpError(throttled(retry_after))


def customer_or_404(sim, customer_id: str) -> dict:
    customer = sim.store.customer(customer_id)
    if customer is None:
        raise pc_error(404, "404", f"Customer {customer_id} was not found for this partner.")
    return customer


def encode_token(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError as exc:
        raise pc_error(400, "400", "The continuation token is not valid.") from exc


def size_of(sim, req: Request, kind: str) -> int:
    cap = int(sim.store.settings["pageSize"][kind])
    raw = req.query.get("size")
    if raw in (None, ""):
        return cap
    try:
        size = int(raw)
    except ValueError as exc:
        raise pc_error(400, "400", f"The size '{raw}' is not a number.") from exc
    if size < 1:
        raise pc_error(400, "400", "The size must be at least 1.")
    return min(size, cap)


# ---------------------------------------------------------------------------------------- customers
def customer_json(customer: dict, *, by_id: bool = False) -> dict:
    tid = customer["tenantId"]
    data = {
        "id": tid,
        "commerceId": customer.get("commerceId") or str(uuid.uuid5(uuid.NAMESPACE_OID, "commerce:" + tid)),
        "companyProfile": {
            "tenantId": tid, "domain": customer.get("domain"), "companyName": customer.get("companyName"),
            "links": {"self": link(f"/v1/customers/{tid}/profiles/company")},
            "attributes": {"objectType": "CustomerCompanyProfile"}},
        "relationshipToPartner": customer.get("relationship", "reseller"),
        "links": {"self": link(f"/v1/customers/{tid}")},
        "attributes": {"objectType": "Customer"},
    }
    if by_id:  # allowDelegatedAccess and the billing profile come only with get-by-id
        data["allowDelegatedAccess"] = customer.get("allowDelegatedAccess", True)
        data["billingProfile"] = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_OID, "billing:" + tid)),
            "companyName": customer.get("companyName"), "culture": "en-US", "language": "en",
            "links": {"self": link(f"/v1/customers/{tid}/profiles/billing")},
            "attributes": {"objectType": "CustomerBillingProfile"}}
    return data


def _matches(customer: dict, query_filter: dict | None) -> bool:
    if not query_filter:
        return True
    field = str(query_filter.get("Field", "")).lower()
    value = str(query_filter.get("Value", "")).lower()
    target = {"companyname": customer.get("companyName"), "domain": customer.get("domain"),
              "indirectreseller": customer.get("indirectReseller")}.get(field)
    return target is not None and str(target).lower().startswith(value)


@router.route("GET", "/v1/customers")
def list_customers(sim, req: Request) -> Response:
    caller(sim, req)
    throttle(sim, req, "customer")
    store = sim.store
    token = req.header("MS-ContinuationToken")
    if req.query.get("seekOperation", "").lower() == "next":
        if not token:
            raise pc_error(400, "400", "seekOperation=Next needs the MS-ContinuationToken header.")
        state = decode_token(token)
        offset, size, query_filter = int(state["o"]), int(state["s"]), state.get("f")
    else:
        offset, size = 0, size_of(sim, req, "customers")
        query_filter = None
        if req.query.get("filter"):
            try:
                query_filter = json.loads(req.query["filter"])
            except ValueError as exc:
                raise pc_error(400, "400", "The filter is not valid JSON.") from exc
    with store.lock:
        ids = store.customer_ids
        if query_filter:
            matching = [tid for tid in ids if _matches(store.customers[tid], query_filter)]
        else:
            matching = ids
        page = [customer_json(store.customers[tid]) for tid in matching[offset:offset + size]]
        more = offset + size < len(matching)
    body = collection(page, f"/v1/customers?size={size}")
    if more:
        next_token = encode_token({"o": offset + size, "s": size, "f": query_filter})
        body["continuationToken"] = next_token
        body["links"]["next"] = link(f"/v1/customers?size={size}&seekOperation=Next", "GET",
                                     [{"key": "MS-ContinuationToken", "value": next_token}])
    return json_response(200, body)


@router.route("GET", "/v1/customers/(?P<customer_id>[^/]+)")
def get_customer(sim, req: Request, customer_id: str) -> Response:
    caller(sim, req)
    throttle(sim, req, "customer")
    with sim.store.lock:
        return json_response(200, customer_json(customer_or_404(sim, customer_id), by_id=True))


# ------------------------------------------------------------------------------------ subscriptions
def subscription_json(customer: dict, subscription: dict) -> dict:
    tid, sid = customer["tenantId"], subscription["id"]
    offer = subscription.get("offerId", "")
    is_azure_plan = offer.upper().startswith(AZURE_PLAN_PREFIX)
    license_based = subscription.get("billingType", "license") == "license"
    azure = subscription.get("azureSubscriptions") or []
    data = {
        "id": sid,
        "entitlementId": subscription.get("entitlementId") or (azure[0]["id"] if azure else sid),
        "offerId": offer, "offerName": subscription.get("offerName", ""),
        "friendlyName": subscription.get("friendlyName", subscription.get("offerName", "")),
        "quantity": subscription.get("quantity", 1),
        "unitType": "Licenses" if license_based else "Usage-based",
        "hasPurchasableAddons": False,
        "creationDate": subscription.get("creationDate", "2025-01-01T00:00:00Z"),
        "effectiveStartDate": subscription.get("effectiveStartDate",
                                               subscription.get("creationDate", "2025-01-01T00:00:00Z")),
        "commitmentEndDate": subscription.get("commitmentEndDate", "9999-12-14T00:00:00Z"),
        "status": subscription.get("status", "active"),
        "autoRenewEnabled": subscription.get("autoRenewEnabled", not is_azure_plan),
        "isTrial": subscription.get("isTrial", False),
        "billingType": subscription.get("billingType", "license"),
        "billingCycle": subscription.get("billingCycle", "monthly" if license_based else "none"),
        "contractType": "subscription",
        "isMicrosoftProduct": True,
        "publisherName": "Microsoft Corporation",
        "orderId": subscription.get("orderId") or str(uuid.uuid5(uuid.NAMESPACE_OID, "order:" + sid)),
        "actions": [],
        "refundOptions": [],
        "links": {"self": link(f"/v1/customers/{tid}/subscriptions/{sid}"),
                  "offer": link(f"/v1/offers/{offer}?country=US")},
        "attributes": {"etag": subscription.get("etag", '"1"'), "objectType": "Subscription"},
    }
    for optional in ("termDuration", "renewalTermDuration", "parentSubscriptionId", "partnerId",
                     "suspensionReasons"):
        if optional in subscription:
            data[optional] = subscription[optional]
    if data["status"] == "suspended" and "suspensionReasons" not in data:
        data["suspensionReasons"] = ["CustomerCancellation"]
    return data


@router.route("GET", "/v1/customers/(?P<customer_id>[^/]+)/subscriptions")
def list_subscriptions(sim, req: Request, customer_id: str) -> Response:
    caller(sim, req)
    throttle(sim, req, "subscription")
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        items = [subscription_json(customer, s) for s in customer["subscriptions"]]
    return json_response(200, collection(items, f"/v1/customers/{customer['tenantId']}/subscriptions"))


def _subscription(sim, customer: dict, subscription_id: str) -> dict:
    for subscription in customer["subscriptions"]:
        if subscription["id"].lower() == subscription_id.lower():
            return subscription
    raise pc_error(404, "404", f"Subscription {subscription_id} was not found for customer "
                   f"{customer['tenantId']}.")


@router.route("GET", "/v1/customers/(?P<customer_id>[^/]+)/subscriptions/(?P<subscription_id>[^/]+)")
def get_subscription(sim, req: Request, customer_id: str, subscription_id: str) -> Response:
    caller(sim, req)
    throttle(sim, req, "subscription")
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        return json_response(200, subscription_json(customer, _subscription(sim, customer, subscription_id)))


@router.route("GET", "/v1/customers/(?P<customer_id>[^/]+)/subscriptions/(?P<subscription_id>[^/]+)"
                     "/azureEntitlements")
def list_azure_entitlements(sim, req: Request, customer_id: str, subscription_id: str) -> Response:
    caller(sim, req)
    throttle(sim, req, "subscription")
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        subscription = _subscription(sim, customer, subscription_id)
        if not subscription.get("offerId", "").upper().startswith(AZURE_PLAN_PREFIX):
            # Most likely Microsoft refuses: only an Azure plan holds Azure entitlements (modelled).
            raise pc_error(400, "400", f"Subscription {subscription['id']} is not an Azure plan; only an "
                           "Azure plan has Azure entitlements.")
        items = [{"id": azure["id"], "friendlyName": azure.get("friendlyName", "Microsoft Azure"),
                  "status": azure.get("status", "active"), "subscriptionId": subscription["id"],
                  "attributes": {"objectType": "AzureEntitlement"}}
                 for azure in subscription["azureSubscriptions"]]
    return json_response(200, collection(
        items, f"/v1/customers/{customer['tenantId']}/subscriptions/{subscription['id']}/azureEntitlements"))


# ------------------------------------------------------------------------- idempotency and auditing
def idempotent(write):
    """A repeated MS-RequestId returns the first successful answer and changes nothing (develop/headers.md:
    "reuse it on a timeout retry")."""
    def wrapper(sim, req: Request, **kwargs) -> Response:
        request_id = req.header("MS-RequestId")
        if not request_id:
            return write(sim, req, **kwargs)
        key = f"{request_id.lower()} {req.method} {req.local_path.lower()}"
        store = sim.store
        with store.lock:
            seen = store.internal["idempotency"].get(key)
            if seen is not None:
                return Response(status=seen["status"], body=seen["body"].encode(),
                                content_type=seen["contentType"], headers=[tuple(h) for h in seen["headers"]],
                                data=json.loads(seen["body"]) if seen["body"] else None)
            try:
                response = write(sim, req, **kwargs)
            except HttpError as error:
                response = error.response
            # Only a write that was done is remembered: a refusal (401, 412, 429, 5xx…) may be retried
            # with the same MS-RequestId once its cause is fixed (a fresh token, a fresh etag).
            if 200 <= response.status < 300:
                answers = store.internal["idempotency"]
                answers[key] = {"status": response.status, "body": response.body.decode(),
                                "contentType": response.content_type,
                                "headers": [list(h) for h in response.headers]}
                if len(answers) > 100_000:
                    for old in list(answers)[:10_000]:
                        del answers[old]
                store.changed()
            return response
    return wrapper


def audit(sim, req: Request, claims: dict, *, customer: dict, resource_type: str, operation: str,
          old, new, customized: dict | None = None, status: str = "succeeded") -> None:
    """One audit record for a write made through the simulator (Partner Center's AuditRecord shape)."""
    store = sim.store
    store.add_audit_record({
        "id": str(uuid.uuid4()),
        "partnerId": store.partner["tenantId"],
        "customerId": customer["tenantId"],
        "customerName": customer.get("companyName"),
        "userPrincipalName": claims.get("upn") or "",
        "applicationId": claims.get("appid"),
        "resourceType": resource_type,
        "resourceOldValue": json.dumps(old) if old is not None else None,
        "resourceNewValue": json.dumps(new) if new is not None else None,
        "operationType": operation,
        "originalCorrelationId": req.header("MS-CorrelationId") or str(uuid.uuid4()),
        "operationDate": now_iso(),
        "operationStatus": status,
        "customizedData": [{"key": k, "value": str(v)} for k, v in (customized or {}).items()],
        "sessionId": str(uuid.uuid4()),
        "attributes": {"objectType": "AuditRecord"},
    })
    store.changed()


# ----------------------------------------------------------------------------------- SelfServePolicy
def policy_json(partner_id: str, customer: dict) -> dict:
    policy = customer["selfServePolicy"]
    tid = customer["tenantId"]
    return {
        "id": f"{partner_id}_{tid}",
        "selfServeEntity": {"selfServeEntityType": "customer", "tenantID": tid},
        "grantor": {"grantorType": "billToPartner", "tenantID": partner_id},
        "permissions": [{"resource": r, "action": "Purchase"} for r in policy.get("permissions", [])],
        "attributes": {"etag": policy.setdefault("etag", f'"{uuid.uuid4()}"'),
                       "objectType": "SelfServePolicy"},
    }


def _permissions(body: dict) -> list[str]:
    permissions = body.get("permissions")
    if not isinstance(permissions, list):
        raise pc_error(400, "400", "permissions must be a list of {resource, action}.")
    resources = []
    for permission in permissions:
        resource = (permission or {}).get("resource")
        action = (permission or {}).get("action")
        canonical = next((r for r in POLICY_RESOURCES if r.lower() == str(resource).lower()), None)
        if canonical is None:
            raise pc_error(400, "400", f"Unknown permission resource '{resource}'; one of "
                           f"{', '.join(POLICY_RESOURCES)}.")
        if str(action).lower() != "purchase":
            raise pc_error(400, "400", f"Unknown permission action '{action}'; the only action is Purchase.")
        if canonical not in resources:
            resources.append(canonical)
    if not resources:
        # UNCONFIRMED whether Microsoft accepts an empty list; the simulator refuses it (turning every
        # permission off is DELETE, as Microsoft's own sample does).
        raise pc_error(400, "400", "A self-serve policy needs at least one permission; delete the policy to "
                       "allow nothing.")
    return resources


def _policy_target(sim, policy_id: str, *, code: str) -> dict | None:
    """The customer a policy id names, or None when the id is not {partner}_{customer}."""
    partner_id, _, customer_id = policy_id.partition("_")
    if partner_id.lower() != sim.store.partner["tenantId"].lower() or not customer_id:
        return None
    return sim.store.customer(customer_id)


@router.route("GET", "/v1/SelfServePolicy")
def list_policies(sim, req: Request) -> Response:
    caller(sim, req, app_user_only=True)
    entity_id = req.query.get("entity_id")
    if not entity_id:
        raise pc_error(400, "400", "The entity_id query parameter (the customer's tenant id) is required.")
    partner_id = sim.store.partner["tenantId"]
    with sim.store.lock:
        customer = sim.store.customer(entity_id)
        items = [policy_json(partner_id, customer)] if customer and customer.get("selfServePolicy") else []
    return json_response(200, collection(items, f"/v1/SelfServePolicy?entity_id={entity_id}"))


@router.route("GET", "/v1/SelfServePolicy/(?P<policy_id>[^/]+)")
def get_policy(sim, req: Request, policy_id: str) -> Response:
    caller(sim, req, app_user_only=True)
    with sim.store.lock:
        customer = _policy_target(sim, policy_id, code="600039")
        if customer is None or not customer.get("selfServePolicy"):
            raise pc_error(404, "600039", "Self-serve policy not found.")
        return json_response(200, policy_json(sim.store.partner["tenantId"], customer))


@router.route("POST", "/v1/SelfServePolicy")
@idempotent
def create_policy(sim, req: Request) -> Response:
    claims = caller(sim, req, app_user_only=True)
    if not req.header("MS-RequestId") or not req.header("MS-CorrelationId"):
        raise pc_error(400, "400", "A request ID (MS-RequestId) and a correlation ID (MS-CorrelationId) are "
                       "required.")
    body = req.json(lambda message: pc_error(400, "400", message))
    if not isinstance(body, dict):
        raise pc_error(400, "400", "The body must be a SelfServePolicy object.")
    partner_id = sim.store.partner["tenantId"]
    entity = body.get("selfServeEntity") or {}
    grantor = body.get("grantor") or {}
    if str(entity.get("selfServeEntityType", "")).lower() != "customer":
        raise pc_error(400, "400", "selfServeEntity.selfServeEntityType must be 'customer'.")
    if str(grantor.get("grantorType", "")).lower() != "billtopartner" or \
            str(grantor.get("tenantID", "")).lower() != partner_id.lower():
        raise pc_error(400, "400",
                       "grantor must be {grantorType: billToPartner, tenantID: <partner tenant>}.")
    permissions = _permissions(body)
    with sim.store.lock:
        customer = sim.store.customer(str(entity.get("tenantID", "")))
        if customer is None:
            raise pc_error(404, "404", f"Customer {entity.get('tenantID')} was not found for this partner.")
        if customer.get("selfServePolicy"):
            raise pc_error(409, "600041", "Self-serve policy already exists.")
        customer["selfServePolicy"] = {"permissions": permissions, "etag": f'"{uuid.uuid4()}"'}
        policy = policy_json(partner_id, customer)
        audit(sim, req, claims, customer=customer, resource_type="self_serve_policy",
              operation="create_self_serve_policy", old=None, new=policy)
    return json_response(201, policy)


def _etag(req: Request, body: dict) -> str | None:
    return (body.get("attributes") or {}).get("etag") or body.get("etag") or req.header("If-Match")


@router.route("PUT", "/v1/SelfServePolicy/(?P<policy_id>[^/]+)")
@idempotent
def update_policy(sim, req: Request, policy_id: str) -> Response:
    claims = caller(sim, req, app_user_only=True)
    body = req.json(lambda message: pc_error(400, "400", message))
    if not isinstance(body, dict):
        raise pc_error(400, "400", "The body must be a SelfServePolicy object.")
    partner_id = sim.store.partner["tenantId"]
    partner_part, _, customer_part = policy_id.partition("_")
    if partner_part.lower() != partner_id.lower() or not customer_part or \
            str(body.get("id", policy_id)).lower() != policy_id.lower():
        raise pc_error(404, "600040", "Self-serve policy identifier is incorrect.")
    permissions = _permissions(body)
    with sim.store.lock:
        customer = sim.store.customer(customer_part)
        if customer is None or not customer.get("selfServePolicy"):
            raise pc_error(404, "600039", "Self-serve policy was not found.")
        old = policy_json(partner_id, customer)
        etag = _etag(req, body)
        if etag is None:
            raise pc_error(400, "400", "The policy's etag (attributes.etag) is required.")
        if etag != old["attributes"]["etag"]:
            raise pc_error(412, "412", "The etag does not match the self-serve policy's current etag; read "
                           "it again.")
        customer["selfServePolicy"] = {"permissions": permissions, "etag": f'"{uuid.uuid4()}"'}
        policy = policy_json(partner_id, customer)
        audit(sim, req, claims, customer=customer, resource_type="self_serve_policy",
              operation="update_self_serve_policy", old=old, new=policy)
    return json_response(200, policy)


@router.route("DELETE", "/v1/SelfServePolicy/(?P<policy_id>[^/]+)")
@idempotent
def delete_policy(sim, req: Request, policy_id: str) -> Response:
    claims = caller(sim, req, app_user_only=True)
    partner_id = sim.store.partner["tenantId"]
    with sim.store.lock:
        customer = _policy_target(sim, policy_id, code="600039")
        if customer is None or not customer.get("selfServePolicy"):
            raise pc_error(404, "600039", "Self-serve policy not found.")
        old = policy_json(partner_id, customer)
        customer["selfServePolicy"] = None
        audit(sim, req, claims, customer=customer, resource_type="self_serve_policy",
              operation="delete_self_serve_policy", old=old, new=None)
    return empty_response(204)


# ------------------------------------------------------------------------------------- audit records
def parse_when(value: str, *, end: bool = False) -> datetime:
    """A date (yyyy-mm-dd; as an end date, the whole day) or an ISO date-time, in UTC."""
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return day + timedelta(days=1) if end else day
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError as exc:
        raise pc_error(400, "400", f"The date '{value}' is not valid (yyyy-mm-dd).") from exc


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _audit_filter_matches(record: dict, query_filter: dict | None) -> bool:
    if not query_filter:
        return True
    field = str(query_filter.get("Field", "")).lower()
    value = str(query_filter.get("Value", "")).lower()
    if field == "companyname":
        return value in str(record.get("customerName") or "").lower()
    if field == "customerid":
        return str(record.get("customerId") or "").lower() == value
    if field == "resourcetype":
        return str(record.get("resourceType") or "").lower() == value
    return False


@router.route("GET", "(?:/auditactivity)?/v1/auditrecords")
def audit_records(sim, req: Request) -> Response:
    caller(sim, req)
    store = sim.store
    token = req.header("MS-ContinuationToken") or req.query.get("seek")
    if token and (req.query.get("seekOperation", "").lower() == "next" or req.query.get("seek")):
        state = decode_token(token)
        index, end, size, query_filter = int(state["i"]), state["e"], int(state["s"]), state.get("f")
    else:
        now = datetime.now(UTC)
        if req.query.get("startDate"):
            start = parse_when(req.query["startDate"])
        elif req.query.get("endDate"):
            raise pc_error(400, "400", "endDate needs a startDate.")
        else:
            start = now - timedelta(days=30)
        if start < now - timedelta(days=90):
            raise pc_error(400, "400", "Activity log data is available for the previous 90 days only: the "
                           "start date must not be more than 90 days ago.")
        finish = parse_when(req.query["endDate"], end=True) if req.query.get("endDate") else now
        if finish < start:
            raise pc_error(400, "400", "The end date is before the start date.")
        if finish - start > timedelta(days=30):   # an end date is its whole day: 30 days, both included
            raise pc_error(400, "400", "The date range must not exceed 30 days.")
        query_filter = None
        if req.query.get("filter"):
            try:
                query_filter = json.loads(req.query["filter"])
            except ValueError as exc:
                raise pc_error(400, "400", "The filter is not valid JSON.") from exc
            if str(query_filter.get("Field", "")).lower() not in ("companyname", "customerid",
                                                                  "resourcetype"):
                raise pc_error(400, "400",
                               "The filter field must be CompanyName, CustomerId or ResourceType.")
        size = size_of(sim, req, "auditRecords")
        end = iso(finish)
        with store.lock:
            index = bisect_left(store.audit_dates, iso(start))
    items = []
    with store.lock:
        records, dates = store.scenario["auditRecords"], store.audit_dates
        while index < len(records) and dates[index] < end and len(items) < size:
            if _audit_filter_matches(records[index], query_filter):
                items.append(records[index])
            index += 1
        while query_filter and index < len(records) and dates[index] < end and \
                not _audit_filter_matches(records[index], query_filter):
            index += 1   # so that a next link means a next record
        more = index < len(records) and dates[index] < end
    path = req.local_path
    body = collection(items, f"{path}?size={size}")
    if more:
        next_token = encode_token({"i": index, "e": end, "s": size, "f": query_filter})
        body["continuationToken"] = next_token
        body["links"]["next"] = link(f"{path}?size={size}&seekOperation=Next", "GET",
                                     [{"key": "MS-ContinuationToken", "value": next_token}])
    return json_response(200, body)


# -------------------------------------------------------------------------------------------- orders
def order_json(customer: dict, order: dict) -> dict:
    """An order in Partner Center's shape (orders seeded in the scenario get the fields they lack)."""
    tid = customer["tenantId"]
    data = {"id": order["id"], "alternateId": order.get("alternateId", order["id"][:12]),
            "referenceCustomerId": tid, "billingCycle": order.get("billingCycle", "monthly"),
            "transactionType": order.get("transactionType", "UserPurchase"),
            "currencyCode": order.get("currencyCode", "USD"),
            "currencySymbol": order.get("currencySymbol", "$"),
            "creationDate": order.get("creationDate", now_iso()), "status": order.get("status", "completed"),
            "links": {"self": link(f"/v1/customers/{tid}/orders/{order['id']}")},
            "attributes": {"etag": order.get("etag", '"1"'), "objectType": "Order"}}
    lines = []
    for number, line in enumerate(order.get("lineItems", [])):
        item = {"lineItemNumber": line.get("lineItemNumber", number), "offerId": line.get("offerId"),
                "friendlyName": line.get("friendlyName"), "quantity": line.get("quantity", 1),
                "links": dict(line.get("links") or {})}
        for optional in ("subscriptionId", "parentSubscriptionId", "termDuration", "transactionType",
                         "partnerIdOnRecord", "provisioningContext", "renewsTo"):
            if optional in line:
                item[optional] = line[optional]
        if "subscriptionId" in line and "subscription" not in item["links"]:
            item["links"]["subscription"] = link(
                f"/v1/customers/{tid}/subscriptions/{line['subscriptionId']}")
        lines.append(item)
    data["lineItems"] = lines
    for optional in ("client",):
        if optional in order:
            data[optional] = order[optional]
    return data


@router.route("GET", "/v1/customers/(?P<customer_id>[^/]+)/orders")
def list_orders(sim, req: Request, customer_id: str) -> Response:
    caller(sim, req)
    # Orders are on Partner Center's throttled list; no number is published, so the simulator uses the
    # Customer/Subscription resources' 500 a minute, in a bucket of its own (modelled).
    throttle(sim, req, "order")
    billing_type = (req.query.get("billingType") or "").lower()
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        items = [order_json(customer, o) for o in customer["orders"]
                 if not billing_type or str(o.get("billingCycle", "monthly")).lower() == billing_type]
    return json_response(200, collection(items, f"/v1/customers/{customer['tenantId']}/orders"))


@router.route("GET", "/v1/customers/(?P<customer_id>[^/]+)/orders/(?P<order_id>[^/]+)")
def get_order(sim, req: Request, customer_id: str, order_id: str) -> Response:
    caller(sim, req)
    throttle(sim, req, "order")
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        order = next((o for o in customer["orders"] if o["id"].lower() == order_id.lower()), None)
        if order is None:
            raise pc_error(404, "404", f"Order {order_id} was not found.")
        return json_response(200, order_json(customer, order))


def _quantity(line: dict, number: int) -> int:
    try:
        quantity = int(line.get("quantity") or 1)
    except (TypeError, ValueError) as exc:
        raise pc_error(400, "400", f"Line item {number}: quantity must be a whole number.") from exc
    if quantity < 1:
        raise pc_error(400, "400", f"Line item {number}: quantity must be at least 1.")
    return quantity


def _place_order(sim, req: Request, claims: dict, customer: dict, lines: list[dict],
                 billing_cycle: str) -> dict:
    """Create the order and its subscriptions (an Azure plan gets its first Azure subscription, with the
    partner's AdminAgents group as Owner: that is how AOBO arrives). Call with the store's lock held."""
    store = sim.store
    if not all(isinstance(line, dict) for line in lines):
        raise pc_error(400, "400", "Every line item must be an object.")
    offers = [str(line.get("offerId") or line.get("catalogItemId") or "") for line in lines]
    if not all(offers):
        raise pc_error(400, "400", "Every line item needs an offerId.")
    plans = sum(offer.upper().startswith(AZURE_PLAN_PREFIX) for offer in offers)
    has_plan = any(s.get("offerId", "").upper().startswith(AZURE_PLAN_PREFIX) and
                   s.get("status", "active") == "active" for s in customer["subscriptions"])
    if plans > 1 or (plans and has_plan):
        # One Azure plan per customer (Microsoft's rule; the error code is modelled).
        raise pc_error(400, "400", "A customer has one Azure plan; add Azure subscriptions to it instead.")
    order_id = str(uuid.uuid4()).replace("-", "")[:32]
    created = now_iso()
    order_lines = []
    for number, (line, offer) in enumerate(zip(lines, offers, strict=True)):
        quantity = _quantity(line, number)
        subscription_id = str(uuid.uuid4())
        is_azure_plan = offer.upper().startswith(AZURE_PLAN_PREFIX)
        name = line.get("friendlyName") or ("Azure plan" if is_azure_plan else offer)
        subscription = {"id": subscription_id, "offerId": offer, "offerName": name, "friendlyName": name,
                        "status": "active", "quantity": quantity,
                        "billingType": "usage" if is_azure_plan else "license", "creationDate": created,
                        "orderId": order_id, "azureSubscriptions": []}
        if line.get("termDuration"):
            subscription["termDuration"] = line["termDuration"]
        if is_azure_plan:
            group = (store.partner or {}).get("adminAgentsGroupId")
            assignments = [{"name": str(uuid.uuid4()), "principalId": group, "principalType": "ForeignGroup",
                            "roleDefinitionId": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"}] if group else []
            subscription["azureSubscriptions"].append({
                "id": str(uuid.uuid4()), "friendlyName": "Microsoft Azure", "status": "active",
                "roleAssignments": assignments})
        customer["subscriptions"].append(subscription)
        order_lines.append({"lineItemNumber": number, "offerId": offer, "subscriptionId": subscription_id,
                            "friendlyName": name, "quantity": quantity,
                            **({"termDuration": line["termDuration"]} if line.get("termDuration") else {}),
                            **({"provisioningContext": line["provisioningContext"]}
                               if line.get("provisioningContext") else {})})
    order = {"id": order_id, "billingCycle": billing_cycle, "transactionType": "UserPurchase",
             "creationDate": created, "status": "completed", "lineItems": order_lines}
    customer["orders"].append(order)
    store.index_customer(customer)
    data = order_json(customer, order)
    customized = {"OrderId": order_id}
    for line in order_lines:
        n = line["lineItemNumber"]
        customized.update({f"OfferId-{n}": line["offerId"], f"SubscriptionId-{n}": line["subscriptionId"],
                           f"Quantity-{n}": line["quantity"]})
    audit(sim, req, claims, customer=customer, resource_type="order", operation="create_order", old=None,
          new=data, customized=customized)
    return data


@router.route("POST", "/v1/customers/(?P<customer_id>[^/]+)/orders")
@idempotent
def create_order(sim, req: Request, customer_id: str) -> Response:
    claims = caller(sim, req)
    body = req.json(lambda message: pc_error(400, "400", message))
    if not isinstance(body, dict) or not isinstance(body.get("lineItems"), list) or not body["lineItems"]:
        raise pc_error(400, "400", "An order needs lineItems.")
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        order = _place_order(sim, req, claims, customer, body["lineItems"],
                             body.get("billingCycle", "monthly"))
    return json_response(201, order)


# --------------------------------------------------------------------------------------------- carts
def cart_json(customer: dict, cart: dict) -> dict:
    tid = customer["tenantId"]
    return {"id": cart["id"], "creationTimestamp": cart["created"], "lastModifiedTimestamp": cart["modified"],
            "expirationTimestamp": cart["expires"], "lastModifiedUser": cart.get("user"),
            "status": cart["status"], "lineItems": cart["lineItems"],
            "links": {"self": link(f"/v1/customers/{tid}/carts/{cart['id']}")},
            "attributes": {"objectType": "Cart"}}


def _cart(customer: dict, cart_id: str) -> dict:
    cart = next((c for c in customer.setdefault("carts", []) if c["id"].lower() == cart_id.lower()), None)
    if cart is None:
        raise pc_error(404, "404", f"Cart {cart_id} was not found.")
    return cart


@router.route("POST", "/v1/customers/(?P<customer_id>[^/]+)/carts")
@idempotent
def create_cart(sim, req: Request, customer_id: str) -> Response:
    claims = caller(sim, req)
    body = req.json(lambda message: pc_error(400, "400", message))
    lines = body.get("lineItems") if isinstance(body, dict) else None
    if not isinstance(lines, list) or not lines:
        raise pc_error(400, "400", "A cart needs lineItems.")
    items = []
    for number, line in enumerate(lines):
        if not isinstance(line, dict):
            raise pc_error(400, "400", f"Line item {number} must be an object.")
        catalog_item = str(line.get("catalogItemId") or "")
        if catalog_item.count(":") != 2:
            raise pc_error(400, "400", f"Line item {number}: catalogItemId must be "
                           "{productId}:{skuId}:{availabilityId}.")
        items.append({"id": line.get("id", number), "catalogItemId": catalog_item,
                      "friendlyName": line.get("friendlyName"), "quantity": _quantity(line, number),
                      "billingCycle": line.get("billingCycle", "monthly"),
                      **({"termDuration": line["termDuration"]} if line.get("termDuration") else {}),
                      "provisioningContext": line.get("provisioningContext") or {},
                      "orderGroup": str(line.get("orderGroup", "0"))})
    now = datetime.now(UTC)
    cart = {"id": str(uuid.uuid4()), "created": iso(now), "modified": iso(now),
            "expires": iso(now + timedelta(days=7)), "user": claims.get("upn") or claims.get("appid"),
            "status": "Active", "lineItems": items}
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        customer.setdefault("carts", []).append(cart)
        sim.store.changed()
        return json_response(201, cart_json(customer, cart))


@router.route("GET", "/v1/customers/(?P<customer_id>[^/]+)/carts/(?P<cart_id>[^/]+)")
def get_cart(sim, req: Request, customer_id: str, cart_id: str) -> Response:
    caller(sim, req)
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        return json_response(200, cart_json(customer, _cart(customer, cart_id)))


@router.route("POST", "/v1/customers/(?P<customer_id>[^/]+)/carts/(?P<cart_id>[^/]+)/checkout")
@idempotent
def checkout(sim, req: Request, customer_id: str, cart_id: str) -> Response:
    claims = caller(sim, req)
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        cart = _cart(customer, cart_id)
        if cart["status"] != "Active":
            raise pc_error(400, "400", f"Cart {cart_id} was already checked out.")
        lines = [{"offerId": line["catalogItemId"], "friendlyName": line.get("friendlyName"),
                  "quantity": line["quantity"], "termDuration": line.get("termDuration"),
                  "provisioningContext": line.get("provisioningContext")} for line in cart["lineItems"]]
        order = _place_order(sim, req, claims, customer, lines, cart["lineItems"][0]["billingCycle"])
        cart["status"] = "Ordered"
        cart["modified"] = now_iso()
    return json_response(200, {"orders": [order], "orderErrors": [],
                               "links": {"self": link(f"/v1/customers/{customer['tenantId']}/carts/{cart_id}"
                                                      "/checkout", "POST")},
                               "attributes": {"objectType": "CartCheckoutResult"}})


# ------------------------------------------------------------------------------------ customer users
def customer_user_json(customer: dict, user: dict) -> dict:
    return {"id": user["id"], "userPrincipalName": user["userPrincipalName"],
            "firstName": user.get("firstName"), "lastName": user.get("lastName"),
            "displayName": user.get("displayName"), "usageLocation": user.get("usageLocation"),
            "userDomainType": "none", "state": "active",
            "links": {"self": link(f"/v1/customers/{customer['tenantId']}/users/{user['id']}")},
            "attributes": {"objectType": "CustomerUser"}}


@router.route("GET", "/v1/customers/(?P<customer_id>[^/]+)/users")
def list_customer_users(sim, req: Request, customer_id: str) -> Response:
    caller(sim, req)
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        items = [customer_user_json(customer, u) for u in customer["users"]]
    return json_response(200, collection(items, f"/v1/customers/{customer['tenantId']}/users"))


@router.route("POST", "/v1/customers/(?P<customer_id>[^/]+)/users")
@idempotent
def create_customer_user(sim, req: Request, customer_id: str) -> Response:
    claims = caller(sim, req)
    body = req.json(lambda message: pc_error(400, "400", message))
    if not isinstance(body, dict):
        raise pc_error(400, "400", "The body must be a CustomerUser.")
    for required in ("userPrincipalName", "displayName", "usageLocation", "passwordProfile"):
        if not body.get(required):
            raise pc_error(400, "400", f"{required} is required.")
    upn = str(body["userPrincipalName"])
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        domains = {str(customer.get("domain", "")).lower()} | {
            u["userPrincipalName"].rsplit("@", 1)[-1].lower() for u in customer["users"]}
        if "@" not in upn or upn.rsplit("@", 1)[-1].lower() not in domains:
            raise pc_error(400, "400", f"The domain of {upn} is not a domain of the customer.")
        if any(u["userPrincipalName"].lower() == upn.lower() for u in customer["users"]):
            raise pc_error(409, "409", f"A user with the user principal name {upn} already exists.")
        user = {"id": str(uuid.uuid4()), "userPrincipalName": upn, "displayName": body["displayName"],
                "firstName": body.get("firstName"), "lastName": body.get("lastName"),
                "usageLocation": body["usageLocation"]}
        customer["users"].append(user)
        sim.store.index_customer(customer)
        data = customer_user_json(customer, user)
        audit(sim, req, claims, customer=customer, resource_type="customer_user",
              operation="create_customer_user", old=None, new=data)
    return json_response(201, data)


# ------------------------------------------------------------------------------------- entitlements
@router.route("GET", "/v1/customers/(?P<customer_id>[^/]+)/entitlements")
def list_entitlements(sim, req: Request, customer_id: str) -> Response:
    """Entitlements seeded in the scenario (customers[].entitlements, in Partner Center's shape); App+User."""
    caller(sim, req, app_user_only=True)
    kind = (req.query.get("entitlementType") or "").lower()
    with sim.store.lock:
        customer = customer_or_404(sim, customer_id)
        items = [e for e in customer.get("entitlements", [])
                 if not kind or str(e.get("entitlementType", "")).lower() == kind]
    return json_response(200, collection(items, f"/v1/customers/{customer['tenantId']}/entitlements"))
