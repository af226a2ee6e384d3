"""The partner's operations on what a customer bought (Microsoft.Capacity, Microsoft.BillingBenefits).

PATCH a reservation or a savings plan (scope, name, renew); `calculateRefund` → `return`; `calculateExchange`
→ `exchange`; long-running answers (202 + `Azure-AsyncOperation` / `Location` / `Retry-After`) with an
operation status that goes InProgress → Succeeded or Failed; the USD 50,000 rolling 12-month refund cap per
customer (exchanges not counted); quote sessions that expire; reservation types Microsoft does not refund.
Facts: /work/shared/MICROSOFT.md §5. What Microsoft leaves unclear is modelled and said so in CONTRACT.md.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from . import arm
from .arm import (
    BENEFITS_VERSIONS,
    CAPACITY_VERSIONS,
    _find_order,
    _order_json,
    _reservation_json,
    _visible,
    api_version,
    arm_error,
    tenant_caller,
)
from .web import Request, Response, json_response

router = arm.router
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
RESERVATIONS_ADMINISTRATOR = "a8889054-8d42-49c9-bc1c-52486c10e7cd"
REFUND_LIMIT_USD = 50000.0
# Microsoft: "Certain reservation types can't be refunded" (Databricks, Synapse pre-purchase, Red Hat, SUSE).
NOT_REFUNDABLE = {"databricks", "synapseanalytics", "redhat", "redhatosa", "suselinux"}
APPLIED_SCOPE_TYPES = {"Single", "Shared", "ManagementGroup"}
PRICE_PER_UNIT_YEAR = 1000.0  # modelled: what the simulator charges for a reservation bought in an exchange


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _money(amount: float, currency: str = "USD") -> dict:
    return {"currencyCode": currency, "amount": round(float(amount), 2)}


def _body(req: Request) -> dict:
    data = req.json(lambda message: arm_error(400, "InvalidRequestContent", message))
    if not isinstance(data, dict) or not isinstance(data.get("properties", {}), dict):
        raise arm_error(400, "InvalidRequestContent", "The request body must be an object with 'properties'.")
    return data


def _settings(sim) -> dict:
    return sim.store.settings.get("reservationOperations") or {}


# ------------------------------------------------------------------------------------------ access
def _check_order_access(sim, claims: dict, order: dict) -> None:
    """Owner or Reservations Administrator on the order. Modelled: an order without `roleAssignments` in the
    scenario is the partner's to manage (MICROSOFT.md §5: a CSP customer asks the partner, who acts on the
    customer's behalf); with `roleAssignments`, the caller (or the partner's AdminAgents group, when the
    scenario names it) needs one of the two roles there."""
    assignments = order.get("roleAssignments")
    if assignments is None:
        return
    principals = {claims["oid"].lower()}
    group = (sim.store.partner or {}).get("adminAgentsGroupId")
    if group:
        principals.add(group.lower())
    for assignment in assignments:
        role = assignment.get("roleDefinitionId", "").rsplit("/", 1)[-1].lower()
        if assignment.get("principalId", "").lower() in principals and role in (
            OWNER,
            RESERVATIONS_ADMINISTRATOR,
        ):
            return
    raise arm_error(
        403,
        "AuthorizationFailed",
        f"The client '{claims.get('upn') or claims.get('appid')}' "
        f"with object id '{claims['oid']}' does not have authorization to perform this action over "
        f"scope '/providers/Microsoft.Capacity/reservationOrders/{order.get('name')}'. You must have "
        "owner or Reservation administrator access on the Reservation Order.",
    )


def _find_reservation(order: dict, reservation_id: str) -> dict:
    data = _order_json(order)
    for reservation in order.get("reservations", []):
        if _reservation_json(data, reservation)["name"].lower() == reservation_id.lower():
            return reservation
    raise arm_error(404, "ReservationNotFound", f"Reservation '{reservation_id}' was not found.")


def _reservation_by_id(customer: dict, resource_id: str) -> tuple[dict, dict]:
    parts = str(resource_id or "").strip("/").split("/")
    lowered = [p.lower() for p in parts]
    try:
        order_id = parts[lowered.index("reservationorders") + 1]
        reservation_id = parts[lowered.index("reservations") + 1]
    except (ValueError, IndexError):
        raise arm_error(
            400,
            "InvalidReservationId",
            f"'{resource_id}' is not a reservation id "
            "(/providers/microsoft.capacity/reservationOrders/{order}/reservations/{id}).",
        ) from None
    order = _find_order(customer, order_id)
    return order, _find_reservation(order, reservation_id)


def _find_plan(customer: dict, order_id: str, plan_id: str) -> tuple[dict, dict]:
    for order in _visible(customer.get("savingsPlanOrders", [])):
        if order.get("name", "").lower() == order_id.lower():
            for plan in order.get("savingsPlans", []):
                if plan.get("name", "").lower() == plan_id.lower():
                    return order, plan
            break
    raise arm_error(404, "SavingsPlanNotFound", f"Savings plan '{order_id}/{plan_id}' was not found.")


def _plan_json(order: dict, plan: dict) -> dict:
    order_data = arm._arm_object(
        order,
        "microsoft.billingbenefits/savingsPlanOrders",
        "/providers/Microsoft.BillingBenefits/savingsPlanOrders",
    )
    return arm._arm_object(
        plan, "microsoft.billingbenefits/savingsPlanOrders/savingsPlans", f"{order_data['id']}/savingsPlans"
    )


# ----------------------------------------------------------------------------------------- scopes
def _scope_change(customer: dict, props: dict, *, kind: str) -> dict:
    """The validated scope properties of a PATCH body (empty when the body changes no scope)."""
    if "appliedScopeType" not in props:
        if "appliedScopeProperties" in props or "appliedScopes" in props:
            raise arm_error(400, "InvalidAppliedScopeType", "appliedScopeType is required with the scope.")
        return {}
    scope_type = props["appliedScopeType"]
    if scope_type not in APPLIED_SCOPE_TYPES:
        raise arm_error(
            400,
            "InvalidAppliedScopeType",
            f"appliedScopeType '{scope_type}' is not one of Single, Shared, ManagementGroup.",
        )
    scope = props.get("appliedScopeProperties") or {}
    if not isinstance(scope, dict):
        raise arm_error(400, "InvalidAppliedScopes", "appliedScopeProperties must be an object.")
    subscriptions = {
        azure["id"].lower()
        for plan in customer.get("subscriptions", [])
        for azure in plan.get("azureSubscriptions", [])
    }
    if scope_type == "Shared":
        if props.get("appliedScopes"):
            raise arm_error(
                400, "InvalidAppliedScopes", "Do not specify appliedScopes if AppliedScopeType is Shared."
            )
        return {
            "appliedScopeType": "Shared",
            "appliedScopes": None,
            "appliedScopeProperties": None,
            "userFriendlyAppliedScopeType": "Shared",
        }
    if scope_type == "ManagementGroup":
        group = scope.get("managementGroupId") or ""
        if not group.lower().startswith("/providers/microsoft.management/managementgroups/"):
            raise arm_error(
                400,
                "InvalidAppliedScopes",
                "managementGroupId must be /providers/Microsoft.Management/managementGroups/{groupId}.",
            )
        if (scope.get("tenantId") or "").lower() != customer["tenantId"].lower():
            raise arm_error(
                400, "InvalidAppliedScopes", "tenantId must be the tenant of the management group."
            )
        return {
            "appliedScopeType": "ManagementGroup",
            "appliedScopes": None,
            "appliedScopeProperties": {
                "tenantId": scope["tenantId"],
                "managementGroupId": group,
                "displayName": scope.get("displayName") or group.rsplit("/", 1)[-1],
            },
            "userFriendlyAppliedScopeType": "ManagementGroup",
        }
    target = scope.get("resourceGroupId") or scope.get("subscriptionId")
    if not target and isinstance(props.get("appliedScopes"), list) and len(props["appliedScopes"]) == 1:
        target = props["appliedScopes"][0]
    parts = str(target or "").strip("/").split("/")
    if (
        len(parts) not in (2, 4)
        or parts[0].lower() != "subscriptions"
        or (len(parts) == 4 and parts[2].lower() != "resourcegroups")
    ):
        raise arm_error(
            400,
            "InvalidAppliedScopes",
            "A Single scope needs appliedScopeProperties.subscriptionId "
            "(/subscriptions/{id}) or resourceGroupId (/subscriptions/{id}/resourceGroups/{name}).",
        )
    if parts[1].lower() not in subscriptions:
        raise arm_error(
            400,
            "InvalidAppliedScopes",
            f"The subscription '{parts[1]}' is not an Azure subscription of this customer's billing account.",
        )
    result = {
        "appliedScopeType": "Single",
        "appliedScopes": [f"/subscriptions/{parts[1]}"],
        "userFriendlyAppliedScopeType": "ResourceGroup" if len(parts) == 4 else "Single",
    }
    properties = {"subscriptionId": f"/subscriptions/{parts[1]}"}
    if len(parts) == 4:
        properties["resourceGroupId"] = f"/subscriptions/{parts[1]}/resourceGroups/{parts[3]}"
    if scope.get("displayName"):
        properties["displayName"] = scope["displayName"]
    result["appliedScopeProperties"] = properties
    if kind == "savingsPlan":
        result.pop("appliedScopes")
    return result


def _patch_change(customer: dict, props: dict, *, kind: str) -> tuple[dict, bool]:
    """(the properties to set, whether the change is long-running: a scope change is)."""
    change = _scope_change(customer, props, kind=kind)
    is_scope = bool(change)
    name_field = "name" if kind == "reservation" else "displayName"
    if name_field in props:
        name = props[name_field]
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            raise arm_error(400, "InvalidDisplayName", "The name must be 1 to 64 characters.")
        change["displayName"] = name.strip()
    if "renew" in props:
        if not isinstance(props["renew"], bool):
            raise arm_error(400, "InvalidRenew", "renew must be true or false.")
        change["renew"] = props["renew"]
        if "renewProperties" in props:
            change["renewProperties"] = props["renewProperties"]
    if kind == "reservation" and "instanceFlexibility" in props:
        if props["instanceFlexibility"] not in ("On", "Off"):
            raise arm_error(400, "InvalidInstanceFlexibility", "instanceFlexibility is On or Off.")
        change["instanceFlexibility"] = props["instanceFlexibility"]
    if not change:
        raise arm_error(
            400,
            "InvalidRequestContent",
            f"The request changes nothing: give appliedScopeType, {name_field} or renew.",
        )
    return change, is_scope


def _apply(target: dict, change: dict) -> None:
    props = target.setdefault("properties", {})
    for key, value in change.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    if "renew" in change:
        props["userFriendlyRenewState"] = "On" if change["renew"] else "Off"


# ------------------------------------------------------------------------------ long-running work
def _start_operation(sim, req: Request, *, provider: str, tenant: str, action: dict) -> tuple[str, dict]:
    """Record a long-running operation; (its id, the 202 headers). `action` is done when it finishes."""
    operation_id = str(uuid.uuid4())
    fault = getattr(req, "fault", None)
    sim.store.internal.setdefault("reservationOperations", {})[operation_id] = {
        "tenant": tenant.lower(),
        "provider": provider,
        "status": "InProgress",
        "startTime": _iso(_now()),
        "pollsLeft": int(_settings(sim).get("operationPolls", 1)),
        "action": action,
        "fail": bool(fault and fault.get("fault") == "operation_failed"),
    }
    sim.store.changed()
    base = f"{req.base}{req.prefix}/providers/{provider}/operationResults/{operation_id}"
    version = req.query.get("api-version", "2022-11-01")
    retry = str(int(_settings(sim).get("retryAfterSeconds", 1)))
    return operation_id, {
        "Azure-AsyncOperation": f"{base}?api-version={version}",
        "Location": f"{base}?api-version={version}&result=true",
        "Retry-After": retry,
    }


def _finish(sim, operation: dict) -> None:
    customer = sim.store.customer(operation["tenant"])
    action = operation["action"]
    if operation["fail"] or customer is None:
        operation["status"] = "Failed"
        operation["error"] = {
            "code": "InternalServerError" if operation["fail"] else "NotFound",
            "message": "The operation failed while it was being processed; nothing was changed. Try again.",
        }
    else:
        try:
            result = ACTIONS[action["kind"]](sim, customer, action)
            operation["status"] = result.pop("_status", "Succeeded")
            operation["result"] = result
        except arm.HttpError as refused:
            operation["status"] = "Failed"
            operation["error"] = (
                refused.response.data.get("error") if isinstance(refused.response.data, dict) else None
            )
    operation["endTime"] = _iso(_now())
    sim.store.changed()


def _operation_json(operation_id: str, operation: dict) -> dict:
    data = {
        "id": f"/providers/{operation['provider']}/operationResults/{operation_id}",
        "name": operation_id,
        "status": operation["status"],
        "startTime": operation["startTime"],
    }
    if operation.get("endTime"):
        data["endTime"] = operation["endTime"]
    if operation.get("error"):
        data["error"] = operation["error"]
    if operation.get("result") is not None:
        data["properties"] = operation["result"].get("properties", operation["result"])
    return data


@router.route(
    "GET",
    "/providers/(?P<provider>Microsoft\\.Capacity|Microsoft\\.BillingBenefits)/"
    "operationResults/(?P<operation_id>[^/]+)",
)
def operation_status(sim, req: Request, provider: str, operation_id: str) -> Response:
    api_version(req, CAPACITY_VERSIONS | BENEFITS_VERSIONS)
    claims, customer = tenant_caller(sim, req)
    with sim.store.lock:
        operation = sim.store.internal.get("reservationOperations", {}).get(operation_id)
        if operation is None or operation["tenant"] != customer["tenantId"].lower():
            raise arm_error(404, "OperationNotFound", f"The operation '{operation_id}' was not found.")
        if operation["status"] == "InProgress":
            if operation["pollsLeft"] > 0:
                operation["pollsLeft"] -= 1
                sim.store.changed()
            else:
                _finish(sim, operation)
        data = _operation_json(operation_id, operation)
        retry = {"Retry-After": str(int(_settings(sim).get("retryAfterSeconds", 1)))}
        if req.query.get("result"):  # the Location header's answer: 202 until done, then the result
            if operation["status"] == "InProgress":
                return json_response(202, data, retry)
            if operation["status"] == "Failed":
                return json_response(
                    400,
                    {"error": operation.get("error") or {"code": "OperationFailed", "message": "Failed."}},
                )
            return json_response(200, operation.get("result") or data)
        return json_response(200, data, retry if operation["status"] == "InProgress" else None)


# ----------------------------------------------------------------------------------------- PATCH
RESERVATION_PATH = (
    "/providers/Microsoft\\.Capacity/reservationOrders/(?P<order_id>[^/]+)/reservations/"
    "(?P<reservation_id>[^/]+)"
)
PLAN_PATH = (
    "/providers/Microsoft\\.BillingBenefits/savingsPlanOrders/(?P<order_id>[^/]+)/savingsPlans/"
    "(?P<plan_id>[^/]+)"
)


@router.route("GET", RESERVATION_PATH)
def get_reservation(sim, req: Request, order_id: str, reservation_id: str) -> Response:
    api_version(req, CAPACITY_VERSIONS)
    _, customer = tenant_caller(sim, req)
    with sim.store.lock:
        order = _find_order(customer, order_id)
        return json_response(
            200, _reservation_json(_order_json(order), _find_reservation(order, reservation_id))
        )


@router.route("PATCH", RESERVATION_PATH)
def patch_reservation(sim, req: Request, order_id: str, reservation_id: str) -> Response:
    api_version(req, CAPACITY_VERSIONS)
    claims, customer = tenant_caller(sim, req)
    props = _body(req).get("properties", {})
    with sim.store.lock:
        order = _find_order(customer, order_id)
        _check_order_access(sim, claims, order)
        reservation = _find_reservation(order, reservation_id)
        if reservation.get("properties", {}).get("provisioningState") in ("Cancelled", "Expired"):
            raise arm_error(409, "ReservationNotActive", "The reservation is no longer active.")
        change, is_scope = _patch_change(customer, props, kind="reservation")
        action = {
            "kind": "patch_reservation",
            "order": order_id,
            "reservation": reservation_id,
            "change": change,
        }
        if not is_scope:
            result = ACTIONS["patch_reservation"](sim, customer, action)
            sim.store.changed()
            return json_response(200, result)
        _, headers = _start_operation(
            sim, req, provider="Microsoft.Capacity", tenant=customer["tenantId"], action=action
        )
        return json_response(202, _reservation_json(_order_json(order), reservation), headers)


def _do_patch_reservation(sim, customer: dict, action: dict) -> dict:
    order = _find_order(customer, action["order"])
    reservation = _find_reservation(order, action["reservation"])
    _apply(reservation, action["change"])
    return _reservation_json(_order_json(order), reservation)


@router.route("GET", PLAN_PATH)
def get_savings_plan(sim, req: Request, order_id: str, plan_id: str) -> Response:
    api_version(req, BENEFITS_VERSIONS)
    _, customer = tenant_caller(sim, req)
    with sim.store.lock:
        return json_response(200, _plan_json(*_find_plan(customer, order_id, plan_id)))


@router.route("PATCH", PLAN_PATH)
def patch_savings_plan(sim, req: Request, order_id: str, plan_id: str) -> Response:
    api_version(req, BENEFITS_VERSIONS)
    claims, customer = tenant_caller(sim, req)
    props = _body(req).get("properties", {})
    forbidden = {"commitment", "term", "billingPlan"} & set(props)
    if forbidden:
        raise arm_error(
            400,
            "InvalidSavingsPlanUpdate",
            "A savings plan's commitment, term and billing plan "
            f"cannot be changed ({', '.join(sorted(forbidden))}).",
        )
    with sim.store.lock:
        order, plan = _find_plan(customer, order_id, plan_id)
        _check_order_access(sim, claims, order)
        change, is_scope = _patch_change(customer, props, kind="savingsPlan")
        action = {"kind": "patch_savings_plan", "order": order_id, "plan": plan_id, "change": change}
        if not is_scope:
            result = ACTIONS["patch_savings_plan"](sim, customer, action)
            sim.store.changed()
            return json_response(200, result)
        _, headers = _start_operation(
            sim, req, provider="Microsoft.BillingBenefits", tenant=customer["tenantId"], action=action
        )
        return json_response(202, _plan_json(order, plan), headers)


def _do_patch_savings_plan(sim, customer: dict, action: dict) -> dict:
    order, plan = _find_plan(customer, action["order"], action["plan"])
    _apply(plan, action["change"])
    return _plan_json(order, plan)


# ---------------------------------------------------------------------------------------- refunds
def consumed_refunds(sim, customer: dict) -> float:
    """USD of cancelled commitment in the rolling 12 months: done refunds and returns still in progress."""
    since = _now() - timedelta(days=365)
    total = sum(
        float(r.get("amount", 0))
        for r in customer.get("refunds", [])
        if (_parse(r.get("date")) or _now()) >= since
    )
    for operation in sim.store.internal.get("reservationOperations", {}).values():
        if (
            operation["tenant"] == customer["tenantId"].lower()
            and operation["status"] == "InProgress"
            and operation["action"]["kind"] == "return"
        ):
            total += operation["action"]["amount"]
    return round(total, 2)


def _refund_amount(order: dict, reservation: dict, quantity: int) -> tuple[float, dict]:
    """The prorated remaining commitment of `quantity` units (modelled: straight-line over the term)."""
    props, order_props = reservation.get("properties", {}), order.get("properties", {})
    total = ((order_props.get("planInformation") or {}).get("pricingCurrencyTotal") or {}).get("amount")
    if total is None:
        total = (props.get("billingCurrencyTotal") or {}).get("amount", 0)
    start = _parse(
        order_props.get("benefitStartTime") or props.get("benefitStartTime") or props.get("effectiveDateTime")
    )
    end = _parse(order_props.get("expiryDateTime") or props.get("expiryDateTime"))
    fraction = 1.0
    if start and end and end > start:
        fraction = min(1.0, max(0.0, (end - _now()).total_seconds() / (end - start).total_seconds()))
    units = int(order_props.get("originalQuantity") or props.get("quantity") or 1)
    amount = round(float(total) * quantity / max(units, 1) * fraction, 2)
    paid = round(float(total) * quantity / max(units, 1), 2)
    return amount, {
        "billingPlan": order_props.get("billingPlan", "Upfront"),
        "completedTransactions": 1,
        "totalTransactions": 1,
        "billingCurrencyTotalPaidAmount": _money(paid),
        "billingCurrencyProratedAmount": _money(paid - amount),
        "billingCurrencyRemainingCommitmentAmount": _money(amount),
    }


def _policy_result(sim, customer: dict, amount: float, errors: list[dict]) -> dict:
    return {
        "properties": {
            "consumedRefundsTotal": _money(consumed_refunds(sim, customer)),
            "maxRefundLimit": _money(REFUND_LIMIT_USD),
            "policyErrors": errors,
        }
    }


def _refund_errors(sim, customer: dict, reservation: dict, amount: float) -> list[dict]:
    kind = str(reservation.get("properties", {}).get("reservedResourceType", "")).lower()
    if kind in NOT_REFUNDABLE or reservation.get("refundable") is False:
        return [
            {
                "code": "SelfServiceRefundNotSupported",
                "message": "Self-service refund is not supported for this reservation type.",
            }
        ]
    if consumed_refunds(sim, customer) + amount > REFUND_LIMIT_USD:
        return [
            {
                "code": "RefundLimitExceeded",
                "message": "The refund exceeds the limit of USD 50,000 of cancelled commitment in a rolling "
                "12-month window for this customer.",
            }
        ]
    return []


def _refund_request(req: Request) -> tuple[str, int]:
    props = _body(req).get("properties", {})
    target = props.get("reservationToReturn") or {}
    if (
        props.get("scope", "Reservation") != "Reservation"
        or not isinstance(target, dict)
        or not target.get("reservationId")
    ):
        raise arm_error(
            400,
            "InvalidRequestContent",
            "properties.scope 'Reservation' and "
            "properties.reservationToReturn{reservationId, quantity} are required.",
        )
    quantity = target.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise arm_error(400, "InvalidQuantity", "quantity is a whole number of at least 1.")
    return target["reservationId"], quantity


def _returnable(customer: dict, order_id: str, reservation_id: str, quantity: int) -> tuple[dict, dict]:
    order, reservation = _reservation_by_id(customer, reservation_id)
    if order.get("name", "").lower() != order_id.lower():
        raise arm_error(400, "InvalidReservationId", "The reservation is not in this reservation order.")
    props = reservation.get("properties", {})
    if props.get("provisioningState") in ("Cancelled", "Expired"):
        raise arm_error(409, "ReservationNotActive", "The reservation is no longer active.")
    if quantity > int(props.get("quantity") or 1):
        raise arm_error(400, "InvalidQuantity", "The quantity to return is more than the reservation holds.")
    return order, reservation


@router.route("POST", "/providers/Microsoft\\.Capacity/reservationOrders/(?P<order_id>[^/]+)/calculateRefund")
def calculate_refund(sim, req: Request, order_id: str) -> Response:
    api_version(req, CAPACITY_VERSIONS)
    claims, customer = tenant_caller(sim, req)
    reservation_id, quantity = _refund_request(req)
    with sim.store.lock:
        order = _find_order(customer, order_id)
        _check_order_access(sim, claims, order)
        order, reservation = _returnable(customer, order_id, reservation_id, quantity)
        amount, billing = _refund_amount(order, reservation, quantity)
        errors = _refund_errors(sim, customer, reservation, amount)
        if errors and errors[0]["code"] == "SelfServiceRefundNotSupported":
            raise arm_error(400, errors[0]["code"], errors[0]["message"])
        session = str(uuid.uuid4())
        lifetime = int(_settings(sim).get("quoteLifetimeSeconds", 600))
        sim.store.internal.setdefault("refundSessions", {})[session] = {
            "kind": "refund",
            "tenant": customer["tenantId"].lower(),
            "order": order_id.lower(),
            "reservationId": reservation_id,
            "quantity": quantity,
            "amount": amount,
            "expires": _iso(_now() + timedelta(seconds=lifetime)),
            "used": None,
        }
        sim.store.changed()
        body = {
            "id": f"/providers/microsoft.capacity/reservationOrders/{order_id}/calculateRefund",
            "properties": {
                "sessionId": session,
                "quantity": quantity,
                "billingRefundAmount": _money(amount),
                "pricingRefundAmount": _money(amount),
                "policyResult": _policy_result(sim, customer, amount, errors),
                "billingInformation": billing,
            },
        }
        return json_response(200, body)


def _session(sim, customer: dict, session_id: str | None, kind: str) -> dict:
    session = sim.store.internal.get("refundSessions", {}).get(str(session_id or ""))
    if session is None or session["tenant"] != customer["tenantId"].lower() or session["kind"] != kind:
        raise arm_error(400, "InvalidSessionId", "The session id is unknown: calculate the quote again.")
    if session["used"] is None and _parse(session["expires"]) <= _now():
        raise arm_error(
            400, "SessionIdExpired", "The quote's session has expired: calculate the quote again."
        )
    return session


@router.route("POST", "/providers/Microsoft\\.Capacity/reservationOrders/(?P<order_id>[^/]+)/return")
def return_reservation(sim, req: Request, order_id: str) -> Response:
    api_version(req, CAPACITY_VERSIONS)
    claims, customer = tenant_caller(sim, req)
    data = _body(req)
    props = data.get("properties", {})
    reservation_id, quantity = _refund_request(req)
    with sim.store.lock:
        order = _find_order(customer, order_id)
        _check_order_access(sim, claims, order)
        session = _session(sim, customer, props.get("sessionId"), "refund")
        if session["used"] is not None:  # modelled: a repeat of one return answers the first answer
            return json_response(202, session["used"]["body"], session["used"]["headers"])
        if (
            session["order"] != order_id.lower()
            or session["reservationId"].lower() != reservation_id.lower()
            or session["quantity"] != quantity
        ):
            raise arm_error(
                400,
                "InvalidSessionId",
                "The session was calculated for another reservation or quantity: calculate the quote again.",
            )
        order, reservation = _returnable(customer, order_id, reservation_id, quantity)
        errors = _refund_errors(sim, customer, reservation, session["amount"])
        if errors:
            raise arm_error(400, errors[0]["code"], errors[0]["message"])
        amount, billing = session["amount"], _refund_amount(order, reservation, quantity)[1]
        body = {
            "id": f"/providers/microsoft.capacity/reservationOrders/{order_id}/return",
            "properties": {
                "sessionId": props["sessionId"],
                "quantity": quantity,
                "billingRefundAmount": _money(amount),
                "pricingRefundAmount": _money(amount),
                "policyResult": _policy_result(sim, customer, amount, []),
                "billingInformation": billing,
            },
        }
        _, headers = _start_operation(
            sim,
            req,
            provider="Microsoft.Capacity",
            tenant=customer["tenantId"],
            action={
                "kind": "return",
                "reservationId": reservation_id,
                "quantity": quantity,
                "amount": amount,
                "reason": str(props.get("returnReason") or "")[:200],
            },
        )
        session["used"] = {"body": body, "headers": headers}
        sim.store.changed()
        return json_response(202, body, headers)


def _do_return(sim, customer: dict, action: dict) -> dict:
    order, reservation = _reservation_by_id(customer, action["reservationId"])
    _reduce(reservation, action["quantity"])
    customer.setdefault("refunds", []).append(
        {"date": _iso(_now()), "amount": action["amount"], "reservationId": action["reservationId"]}
    )
    return _order_json(order)


def _reduce(reservation: dict, quantity: int) -> None:
    props = reservation.setdefault("properties", {})
    left = int(props.get("quantity") or 1) - quantity
    props["quantity"] = max(left, 0)
    if left <= 0:
        props["provisioningState"] = "Cancelled"
        props["displayProvisioningState"] = "Cancelled"


# --------------------------------------------------------------------------------------- exchange
def _purchase_price(item: dict, *, kind: str) -> float:
    props = item.get("properties") or {}
    years = {"P1Y": 1, "P3Y": 3, "P5Y": 5}.get(props.get("term"))
    if years is None:
        raise arm_error(400, "InvalidTerm", "term is one of P1Y, P3Y, P5Y.")
    if kind == "savingsPlan":
        commitment = props.get("commitment") or {}
        amount = commitment.get("amount")
        if (
            isinstance(amount, bool)
            or not isinstance(amount, int | float)
            or amount <= 0
            or commitment.get("grain", "Hourly") != "Hourly"
        ):
            raise arm_error(
                400,
                "InvalidCommitment",
                "commitment{grain: Hourly, currencyCode, amount} is required and the amount is more than 0.",
            )
        return round(float(amount) * 24 * 365 * years, 2)
    quantity = props.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise arm_error(400, "InvalidQuantity", "quantity is a whole number of at least 1.")
    if not (item.get("sku") or {}).get("name"):
        raise arm_error(400, "InvalidSku", "sku.name is required for a reservation to purchase.")
    return round(PRICE_PER_UNIT_YEAR * quantity * years, 2)


@router.route("POST", "/providers/Microsoft\\.Capacity/calculateExchange")
def calculate_exchange(sim, req: Request) -> Response:
    api_version(req, CAPACITY_VERSIONS)
    claims, customer = tenant_caller(sim, req)
    props = _body(req).get("properties", {})
    to_exchange = props.get("reservationsToExchange") or []
    to_buy = props.get("reservationsToPurchase") or []
    plans_to_buy = props.get("savingsPlansToPurchase") or []
    if (
        not isinstance(to_exchange, list)
        or not to_exchange
        or not isinstance(to_buy, list)
        or not isinstance(plans_to_buy, list)
        or not (to_buy or plans_to_buy)
    ):
        raise arm_error(
            400,
            "InvalidRequestContent",
            "reservationsToExchange and at least one of "
            "reservationsToPurchase or savingsPlansToPurchase are required.",
        )
    with sim.store.lock:
        refunds, returned = 0.0, []
        for item in to_exchange:
            if not isinstance(item, dict):
                raise arm_error(
                    400, "InvalidRequestContent", "Each reservationsToExchange item is an object."
                )
            quantity = item.get("quantity", 1)
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise arm_error(400, "InvalidQuantity", "quantity is a whole number of at least 1.")
            order, reservation = _reservation_by_id(customer, item.get("reservationId"))
            _check_order_access(sim, claims, order)
            order, reservation = _returnable(customer, order["name"], item["reservationId"], quantity)
            amount, billing = _refund_amount(order, reservation, quantity)
            refunds += amount
            returned.append(
                {
                    "reservationId": item["reservationId"],
                    "quantity": quantity,
                    "billingRefundAmount": _money(amount),
                    "billingInformation": billing,
                    "status": "Succeeded",
                }
            )
        purchases = sum(
            _purchase_price(item, kind="reservation") for item in to_buy if isinstance(item, dict)
        )
        purchases += sum(
            _purchase_price(item, kind="savingsPlan") for item in plans_to_buy if isinstance(item, dict)
        )
        errors = list(_settings(sim).get("exchangePolicyErrors") or [])
        if purchases < refunds:
            # Microsoft: the new purchase must be worth at least what is returned (modelled code).
            errors.append(
                {
                    "code": "ExchangeRefundExceedsPurchase",
                    "message": "The new purchase must be worth at least the reservations returned.",
                }
            )
        session = str(uuid.uuid4())
        lifetime = int(_settings(sim).get("quoteLifetimeSeconds", 600))
        sim.store.internal.setdefault("refundSessions", {})[session] = {
            "kind": "exchange",
            "tenant": customer["tenantId"].lower(),
            "errors": errors,
            "toExchange": [
                {"reservationId": r["reservationId"], "quantity": r["quantity"]} for r in returned
            ],
            "toBuy": to_buy,
            "plansToBuy": plans_to_buy,
            "expires": _iso(_now() + timedelta(seconds=lifetime)),
            "used": None,
        }
        sim.store.changed()
        body = {
            "id": f"/providers/microsoft.capacity/calculateExchangeOperationResults/{session}",
            "name": session,
            "status": "Succeeded",
            "properties": {
                "sessionId": session,
                "netPayable": _money(purchases - refunds),
                "refundsTotal": _money(refunds),
                "purchasesTotal": _money(purchases),
                "reservationsToPurchase": to_buy,
                "savingsPlansToPurchase": plans_to_buy,
                "reservationsToExchange": returned,
                "policyResult": {"properties": {"policyErrors": errors}},
            },
        }
        return json_response(200, body)


@router.route("POST", "/providers/Microsoft\\.Capacity/exchange")
def exchange(sim, req: Request) -> Response:
    api_version(req, CAPACITY_VERSIONS)
    claims, customer = tenant_caller(sim, req)
    props = _body(req).get("properties", {})
    with sim.store.lock:
        session = _session(sim, customer, props.get("sessionId"), "exchange")
        if session["used"] is not None:
            return json_response(202, session["used"]["body"], session["used"]["headers"])
        if session["errors"]:
            raise arm_error(400, session["errors"][0]["code"], session["errors"][0]["message"])
        for item in session["toExchange"]:
            order, _ = _reservation_by_id(customer, item["reservationId"])
            _check_order_access(sim, claims, order)
            _returnable(customer, order["name"], item["reservationId"], item["quantity"])
        operation_id, headers = _start_operation(
            sim,
            req,
            provider="Microsoft.Capacity",
            tenant=customer["tenantId"],
            action={"kind": "exchange", "session": props["sessionId"]},
        )
        body = {
            "id": f"/providers/microsoft.capacity/exchangeOperationResults/{operation_id}",
            "name": operation_id,
            "status": "Pending",
            "properties": {"sessionId": props["sessionId"]},
        }
        session["used"] = {"body": body, "headers": headers}
        sim.store.changed()
        return json_response(202, body, headers)


def _do_exchange(sim, customer: dict, action: dict) -> dict:
    """Refunds from an exchange are not counted against the cap: nothing goes into `refunds`."""
    session = sim.store.internal["refundSessions"][action["session"]]
    for item in session["toExchange"]:
        _, reservation = _reservation_by_id(customer, item["reservationId"])
        _reduce(reservation, item["quantity"])
    bought = []
    now = _now()
    for item in session["toBuy"]:
        props = item.get("properties") or {}
        order_name, name = str(uuid.uuid4()), str(uuid.uuid4())
        years = {"P1Y": 1, "P3Y": 3, "P5Y": 5}[props["term"]]
        customer.setdefault("reservationOrders", []).append(
            {
                "name": order_name,
                "properties": {
                    "displayName": props.get("displayName") or name,
                    "term": props["term"],
                    "billingPlan": props.get("billingPlan", "Upfront"),
                    "originalQuantity": props.get("quantity", 1),
                    "provisioningState": "Succeeded",
                    "createdDateTime": _iso(now),
                    "benefitStartTime": _iso(now),
                    "expiryDateTime": _iso(now + timedelta(days=365 * years)),
                    "planInformation": {
                        "pricingCurrencyTotal": _money(_purchase_price(item, kind="reservation"))
                    },
                },
                "reservations": [
                    {
                        "name": name,
                        "sku": item.get("sku"),
                        "properties": {
                            "displayName": props.get("displayName") or name,
                            "quantity": props.get("quantity", 1),
                            "reservedResourceType": props.get("reservedResourceType", "VirtualMachines"),
                            "appliedScopeType": props.get("appliedScopeType", "Shared"),
                            "term": props["term"],
                            "renew": bool(props.get("renew", False)),
                            "provisioningState": "Succeeded",
                            "skuDescription": (item.get("sku") or {}).get("name"),
                        },
                    }
                ],
            }
        )
        bought.append(
            {
                "reservationOrderId": f"/providers/microsoft.capacity/reservationOrders/{order_name}",
                "status": "Succeeded",
            }
        )
    for item in session["plansToBuy"]:
        props = item.get("properties") or {}
        order_name, name = str(uuid.uuid4()), str(uuid.uuid4())
        customer.setdefault("savingsPlanOrders", []).append(
            {
                "name": order_name,
                "sku": {"name": "Compute_Savings_Plan"},
                "properties": {
                    "displayName": props.get("displayName") or name,
                    "term": props["term"],
                    "billingPlan": props.get("billingPlan", "P1M"),
                    "provisioningState": "Succeeded",
                },
                "savingsPlans": [
                    {
                        "name": name,
                        "sku": {"name": "Compute_Savings_Plan"},
                        "properties": {
                            "displayName": props.get("displayName") or name,
                            "term": props["term"],
                            "appliedScopeType": props.get("appliedScopeType", "Shared"),
                            "commitment": props["commitment"],
                            "renew": False,
                            "displayProvisioningState": "Succeeded",
                            "purchaseDateTime": _iso(now),
                        },
                    }
                ],
            }
        )
        bought.append(
            {
                "savingsPlanOrderId": f"/providers/Microsoft.BillingBenefits/savingsPlanOrders/{order_name}",
                "status": "Succeeded",
            }
        )
    return {
        "properties": {
            "sessionId": action["session"],
            "reservationsToExchange": session["toExchange"],
            "purchases": bought,
        }
    }


ACTIONS = {
    "patch_reservation": _do_patch_reservation,
    "patch_savings_plan": _do_patch_savings_plan,
    "return": _do_return,
    "exchange": _do_exchange,
}
