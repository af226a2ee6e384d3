"""The customer's side: a customer user buys a reservation or a savings plan itself, as in the Azure portal.

Served as a control call (tests, benchmarks, the demo), never through the partner-facing APIs:

    POST /_simulator/customers/{tenant}/purchases
    {"kind": "reservation" | "savingsPlan", "buyer": "<user id or userPrincipalName>",
     "subscriptionId": "<Azure subscription id>", "term": "P1Y" | "P3Y", "scope": "Single" | "Shared",
     "billingPlan": "Upfront" | "Monthly",
     # reservations:
     "quantity": 1, "sku": "Standard_D2s_v3", "location": "westeurope",
     "reservedResourceType": "VirtualMachines", "amount": 1234.0 (the total price), "currencyCode": "USD",
     # savings plans:
     "hourlyCommitment": 1.5}

Azure refuses it when the partner's self-serve policy does not allow that resource, or when the buyer
holds no Owner role on the subscription (DOMAIN.md: "the customer's purchase fails with an error in the
Azure portal"). A refused purchase creates nothing anywhere.

What an allowed purchase creates (MICROSOFT.md §4):
- reservation: the reservation order and its reservation in Azure (Microsoft.Capacity, in the customer's
  tenant); in Partner Center an order (transactionType UserPurchase), a reserved-instance entitlement whose
  referenceOrder names that order and whose artifact names the Azure reservation, and a `create_order`
  audit record by the customer user;
- savings plan: the savings plan order and plan in Azure only (Microsoft.BillingBenefits).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from .web import HttpError, Request, Response, json_response

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
TERMS = {"P1Y": 1, "P3Y": 3}
SCOPES = ("Single", "Shared")
BILLING_PLANS = ("Upfront", "Monthly")
RESOURCE_FOR_KIND = {"reservation": "AzureReservedInstances", "savingsPlan": "AzureSavingsPlan"}
# The reserved-instance product in Partner Center's catalogue (MICROSOFT.md §4.1's example offer id).
RESERVATION_OFFER = "DZH318Z0BQ4B:000Z:DZH318Z0DSPL"


def arm_error(status: int, code: str, message: str) -> HttpError:
    return HttpError(json_response(status, {"error": {"code": code, "message": message}}))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(body: dict, key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise arm_error(400, "InvalidRequestContent", f"'{key}' is required (text).")
    return value


def _choice(body: dict, key: str, choices, default: str | None = None) -> str:
    value = _text(body, key, default)
    canonical = next((c for c in choices if c.lower() == value.lower()), None)
    if canonical is None:
        raise arm_error(400, "InvalidRequestContent", f"'{key}' must be one of {', '.join(choices)}.")
    return canonical


def _number(body: dict, key: str, *, whole: bool = False, default=None) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or (whole and int(value) != value) \
            or value <= 0:
        raise arm_error(400, "InvalidRequestContent", f"'{key}' must be a positive "
                        f"{'whole ' if whole else ''}number.")
    return int(value) if whole else float(value)


def _buyer(customer: dict, given: str) -> dict:
    for user in customer.get("users", []):
        if given.lower() in (str(user.get("id", "")).lower(), str(user.get("userPrincipalName", "")).lower()):
            return user
    raise arm_error(401, "InvalidAuthenticationToken",
                    f"'{given}' is not a user of this customer's directory.")


def _azure_subscription(customer: dict, subscription_id: str) -> dict:
    for subscription in customer.get("subscriptions", []):
        for azure in subscription.get("azureSubscriptions", []):
            if str(azure.get("id", "")).lower() == subscription_id.lower():
                return azure
    raise arm_error(404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found.")


def _is_owner(azure: dict, user: dict) -> bool:
    return any(str(a.get("principalId", "")).lower() == str(user["id"]).lower() and
               str(a.get("roleDefinitionId", "")).lower().rstrip("/").endswith(OWNER)
               for a in azure.get("roleAssignments", []))


def _check_allowed(customer: dict, kind: str, user: dict, azure: dict, subscription_id: str) -> None:
    permissions = {p.lower() for p in ((customer.get("selfServePolicy") or {}).get("permissions") or [])}
    if RESOURCE_FOR_KIND[kind].lower() not in permissions:
        # Azure's exact code for a CSP customer whose partner has not allowed the purchase is UNCONFIRMED;
        # the Azure portal says the subscription is not eligible. Modelled so.
        raise arm_error(403, "BillingScopeNotEligible",
                        f"The subscription '{subscription_id}' is not eligible for this purchase: your "
                        "Cloud Solution Provider has not allowed customers to buy "
                        f"{'reservations' if kind == 'reservation' else 'savings plans'}.")
    if not _is_owner(azure, user):
        # ARM's AuthorizationFailed, as it answers any caller without the needed role (the article's
        # error: the buyer needs Owner on the subscription).
        action = ("Microsoft.Capacity/reservationOrders/write" if kind == "reservation"
                  else "Microsoft.BillingBenefits/savingsPlanOrders/write")
        raise arm_error(403, "AuthorizationFailed",
                        f"The client '{user.get('userPrincipalName')}' with object id '{user['id']}' "
                        f"does not have authorization to perform action '{action}' over scope "
                        f"'/subscriptions/{subscription_id}' or the scope is invalid.")


def purchase(sim, req: Request, tenant: str) -> Response:
    body = req.json(lambda message: arm_error(400, "InvalidRequestContent", message))
    if not isinstance(body, dict):
        raise arm_error(400, "InvalidRequestContent", "The body must be a JSON object.")
    kind = _choice(body, "kind", tuple(RESOURCE_FOR_KIND))
    buyer_name = _text(body, "buyer")
    subscription_id = _text(body, "subscriptionId")
    term = _choice(body, "term", tuple(TERMS), "P1Y")
    scope = _choice(body, "scope", SCOPES, "Shared")
    billing_plan = _choice(body, "billingPlan", BILLING_PLANS, "Upfront")
    currency = _text(body, "currencyCode", "USD").upper()
    store = sim.store
    with store.lock:
        tenant_id = store.tenant_id(tenant)
        customer = store.customer(tenant_id) if tenant_id else None
        if customer is None:
            raise arm_error(404, "TenantNotFound", f"No customer tenant '{tenant}'.")
        user = _buyer(customer, buyer_name)
        azure = _azure_subscription(customer, subscription_id)
        if kind == "reservation":
            quantity = _number(body, "quantity", whole=True, default=1)
            amount = _number(body, "amount", default=1000.0)
        else:
            hourly = _number(body, "hourlyCommitment")
        _check_allowed(customer, kind, user, azure, subscription_id)
        now = datetime.now(UTC)
        # Azure's own shape for the billing plan: "Upfront" or "Monthly" for reservations, "P1M" for a
        # savings plan paid monthly (Microsoft.BillingBenefits BillingPlan enum).
        common = {"term": term, "billingPlan": billing_plan, "createdDateTime": iso(now),
                  "requestDateTime": iso(now), "benefitStartTime": iso(now),
                  "expiryDateTime": iso(now + timedelta(days=365 * TERMS[term])),
                  "provisioningState": "Succeeded"}
        applied = {"appliedScopeType": scope,
                   **({"appliedScopes": [f"/subscriptions/{subscription_id}"]} if scope == "Single" else {})}
        # Every ARM resource carries systemData; the buyer is its createdBy (the ARM convention, modelled:
        # Microsoft documents finding a purchaser through the Activity Log, MICROSOFT.md §4.4).
        system = {"createdBy": user.get("userPrincipalName"), "createdByType": "User", "createdAt": iso(now)}
        if kind == "reservation":
            answer = _reservation(sim, req, customer, user, subscription_id, body, common, applied, system,
                                  quantity=quantity, amount=amount, currency=currency, now=now)
        else:
            answer = _savings_plan(customer, subscription_id, body, common, applied, system,
                                   hourly=hourly, currency=currency)
        store.changed()
    return json_response(201, answer)


def _reservation(sim, req, customer, user, subscription_id, body, common, applied, system, *, quantity,
                 amount, currency, now) -> dict:
    from .partnercenter import audit, order_json  # the Partner Center side of the purchase

    sku = _text(body, "sku", "Standard_D2s_v3")
    location = _text(body, "location", "westeurope")
    resource_type = _text(body, "reservedResourceType", "VirtualMachines")
    order_name, reservation_name = str(uuid.uuid4()), str(uuid.uuid4())
    display = f"{sku}_{location}_{now:%m-%d-%Y_%H-%M}"
    order_path = f"/providers/microsoft.capacity/reservationOrders/{order_name}"
    reservation_path = f"{order_path}/reservations/{reservation_name}"
    customer.setdefault("reservationOrders", []).append({
        "name": order_name, "systemData": system,
        "properties": {**common, "displayName": display, "originalQuantity": quantity,
                       "billingScopeId": f"/subscriptions/{subscription_id}",
                       "planInformation": {
                           "pricingCurrencyTotal": {"currencyCode": currency, "amount": amount},
                           "startDate": common["benefitStartTime"][:10]}},
        "reservations": [{"name": reservation_name, "sku": {"name": sku}, "location": location,
                          "systemData": system,
                          "properties": {**common, **applied, "reservedResourceType": resource_type,
                                         "quantity": quantity, "displayName": display,
                                         "effectiveDateTime": common["benefitStartTime"], "renew": False,
                                         "billingScopeId": f"/subscriptions/{subscription_id}"}}]})
    # Partner Center: the order. How a customer's own purchase looks in /orders is UNCONFIRMED
    # (MICROSOFT.md §4.1); most likely it is a UserPurchase order on the reserved-instance offer, one-time
    # for an upfront payment, whose client is the Azure portal rather than Partner Center Web.
    years = "1_Year" if common["term"] == "P1Y" else "3_Years"
    pc_order_id = uuid.uuid4().hex
    cycle = "one_time" if common["billingPlan"] == "Upfront" else "monthly"
    order = {"id": pc_order_id, "billingCycle": cycle,
             "transactionType": "UserPurchase", "creationDate": iso(now), "status": "completed",
             "currencyCode": currency, "client": {"name": "Azure portal", "deviceFamily": "AzurePortal"},
             "lineItems": [{"lineItemNumber": 0, "offerId": RESERVATION_OFFER,
                            "friendlyName": f"Reserved_VM_Instance_{sku}_{location}_{years}",
                            "quantity": quantity, "termDuration": common["term"], "transactionType": "new",
                            "provisioningContext": {"subscriptionId": subscription_id,
                                                    "scope": applied["appliedScopeType"].lower(),
                                                    "duration": "1Year" if years == "1_Year" else "3Years"}}]}
    customer["orders"].append(order)
    product, sku_id, _ = RESERVATION_OFFER.split(":")
    customer.setdefault("entitlements", []).append({
        "includedEntitlements": [], "referenceOrder": {"id": pc_order_id, "lineItemId": "0"},
        "productId": product, "skuId": sku_id, "quantity": quantity, "entitlementType": "reservedinstance",
        "fulfillmentState": "fulfilled",
        "entitledArtifacts": [{"artifactType": "reservedinstance", "resourceId": reservation_path,
                               "link": {"uri": f"/subscriptions/{subscription_id}{reservation_path}",
                                        "method": "GET", "headers": []},
                               "dynamicAttributes": {"reservationType": resource_type.lower()}}],
        "attributes": {"objectType": "Entitlement"}})
    data = order_json(customer, order)
    audit(sim, req, {"upn": user.get("userPrincipalName"), "appid": None}, customer=customer,
          resource_type="order", operation="create_order", old=None, new=data,
          customized={"OrderId": pc_order_id, "OfferId-0": RESERVATION_OFFER,
                      "SubscriptionId-0": subscription_id, "Quantity-0": quantity})
    return {"reservationOrderId": order_path, "reservationId": reservation_path, "order": data}


def _savings_plan(customer, subscription_id, body, common, applied, system, *, hourly, currency) -> dict:
    order_name, plan_name = str(uuid.uuid4()), str(uuid.uuid4())
    billing_plan = "P1M" if common["billingPlan"] == "Monthly" else "Upfront"
    hours = 24 * 365 * (1 if common["term"] == "P1Y" else 3)
    properties = {**common, "billingPlan": billing_plan, "displayName": f"SavingsPlan_{order_name[:8]}",
                  "billingScopeId": f"/subscriptions/{subscription_id}"}
    order_path = f"/providers/Microsoft.BillingBenefits/savingsPlanOrders/{order_name}"
    customer.setdefault("savingsPlanOrders", []).append({
        "name": order_name, "sku": {"name": "Compute_Savings_Plan"}, "systemData": system,
        "properties": {**properties, "planInformation": {
            "pricingCurrencyTotal": {"currencyCode": currency, "amount": round(hourly * hours, 2)}}},
        "savingsPlans": [{"name": plan_name, "sku": {"name": "Compute_Savings_Plan"}, "systemData": system,
                          "properties": {**properties, "appliedScopeType": applied["appliedScopeType"],
                                         **({"appliedScopeProperties": {
                                             "subscriptionId": f"/subscriptions/{subscription_id}"}}
                                            if applied["appliedScopeType"] == "Single" else {}),
                                         "commitment": {"grain": "Hourly", "currencyCode": currency,
                                                        "amount": hourly},
                                         "effectiveDateTime": common["benefitStartTime"],
                                         "purchaseDateTime": common["createdDateTime"], "renew": False}}]})
    return {"savingsPlanOrderId": order_path, "savingsPlanId": f"{order_path}/savingsPlans/{plan_name}"}
