"""The readiness steps, sent to Microsoft by the outbox's worker (issue 11 step 7; the services that queue
them are in permissions/steps.py).

- A role: Microsoft Graph finds the user by sign-in name (``GET /v1.0/users/{upn}``) in the customer's
  tenant; Azure Resource Manager creates the assignment (``PUT …/roleAssignments/{name}``, body
  ``properties.roleDefinitionId`` + ``principalId`` + ``principalType``) or deletes it (``DELETE``, 200 or
  204). The name is chosen when the change is queued, so a repeat PUT answers 409 RoleAssignmentExists
  for our own assignment, which is read back and taken as done.
- An Azure plan: a Partner Center cart (``POST /v1/customers/{id}/carts``, offer
  ``DZH318Z0BPS6:0001:…``), then its checkout (``POST …/carts/{cartId}/checkout``); the new subscription
  and its Azure entitlements are read back for the mirror.
- A customer user: ``POST /v1/customers/{id}/users``.

Every write carries the change's own MS-RequestId (the checkout one derived from it), the same on every
retry, and the deciding request's MS-CorrelationId. The mirror rows and the Microsoft-source log entry
(Succeeded or Failed, with Microsoft's reason) are written in the outcome's transaction: nothing is in the
mirror that Microsoft did not confirm.
"""

import secrets
import string
import uuid

from django.conf import settings
from django.utils.translation import gettext as _

from activitylog.models import Action, ResourceType, Source, Status
from activitylog.services import Origin, record
from customers.models import AzureSubscription, CustomerUser, RoleAssignment, Subscription
from outbox.models import OutboxChange
from outbox.worker import Applied, Refused, register_handler, remember
from permissions.steps import AZURE_PLAN_ORDER, CUSTOMER_USER_CHANGE, ROLE_ASSIGNMENT_CHANGE

from .client import (
    AZURE_MANAGEMENT,
    MICROSOFT_GRAPH,
    PARTNER_CENTER,
    ROLE_ASSIGNMENTS_API_VERSION,
    MicrosoftClient,
    MicrosoftError,
)
from .self_serve import applying, failure_reason

# The Azure plan's catalog item: product DZH318Z0BPS6, SKU 0001, and an availability id. MICROSOFT.md 1.4:
# the availability id varies and the docs give DZH318Z0BML6 as the example; a partner whose catalogue
# differs sets MICROSOFT_AZURE_PLAN_CATALOG_ITEM.
AZURE_PLAN_CATALOG_ITEM = "DZH318Z0BPS6:0001:DZH318Z0BML6"
AZURE_PLAN_NAME = "Azure plan"


def _ids(change: OutboxChange, step: str = "") -> dict:
    """MS-RequestId and MS-CorrelationId of a write: the change's own id, or one derived from it for a
    second write of the same change (stable across retries either way)."""
    request_id = str(change.ms_request_id) if not step else str(uuid.uuid5(change.ms_request_id, step))
    return {"request_id": request_id, "correlation_id": change.correlation_id}


def _pc_write(client: MicrosoftClient, method: str, path: str, body: dict | None, **ids) -> dict:
    partner = client.tokens.partner_tenant
    return client.request(method, client.partner_center_url + path, json_body=body, idempotent=False,
                          token=lambda: client.tokens.app_user(partner, PARTNER_CENTER),
                          pace=lambda: client._pc_buckets.take(partner), **ids)


# --- roles -------------------------------------------------------------------------------------------

def _assignment_url(client: MicrosoftClient, azure_subscription_id: str, name: str) -> str:
    return (f"{client.management_url}/subscriptions/{azure_subscription_id}/providers/"
            f"Microsoft.Authorization/roleAssignments/{name}?api-version={ROLE_ASSIGNMENTS_API_VERSION}")


def _arm(client: MicrosoftClient, tenant: str, method: str, url: str, body=None, **ids) -> dict:
    azure = url.split("/subscriptions/", 1)[1].split("/", 1)[0]
    return client.request(method, url, json_body=body, idempotent=method == "GET",
                          token=lambda: client.tokens.customer(tenant, AZURE_MANAGEMENT),
                          pace=lambda: client._arm_buckets.take(azure), **ids)


def _graph_user(client: MicrosoftClient, tenant: str, upn: str) -> dict:
    try:
        return client.request("GET", f"{client.graph_url}/v1.0/users/{upn}",
                              token=lambda: client.tokens.customer(tenant, MICROSOFT_GRAPH), pace=lambda: 0.0)
    except MicrosoftError as exc:
        if exc.status == 404:
            raise Refused(_("Microsoft Graph has no user %(upn)s in the customer's directory.")
                          % {"upn": upn}, code=exc.code or "Request_ResourceNotFound",
                          request_id=exc.request_id, status=404) from None
        raise


def push_role(client: MicrosoftClient, change: OutboxChange) -> Applied:
    desired, tenant = change.desired, str(change.customer.tenant_id)
    azure, name = desired["azure_subscription_id"], desired["assignment_name"]
    url = _assignment_url(client, azure, name)
    if desired["operation"] == "delete":
        _arm(client, tenant, "DELETE", url, **_ids(change))  # 200 with the assignment, or 204: gone
        return Applied({"operation": "delete"})
    user = _graph_user(client, tenant, desired["user_principal_name"])
    principal = str(user.get("id") or "")
    if not principal:
        raise Refused(_("Microsoft Graph's answer for %(upn)s has no id.")
                      % {"upn": desired["user_principal_name"]})
    remember(change, principal_id=principal)
    body = {"properties": {
        "roleDefinitionId": f"/subscriptions/{azure}/providers/Microsoft.Authorization/roleDefinitions/"
                            f"{desired['role_definition_id']}",
        "principalId": principal, "principalType": "User"}}
    try:
        created = _arm(client, tenant, "PUT", url, body, **_ids(change))
    except MicrosoftError as exc:
        if exc.status != 409:
            raise
        # RoleAssignmentExists: ours (a repeat after a lost answer), or someone else's for this user.
        try:
            created = _arm(client, tenant, "GET", url)
        except MicrosoftError as missing:
            if missing.status == 404:
                raise exc from None  # not ours: Azure's own reason (RoleAssignmentExists) stands
            raise
        if str((created.get("properties") or {}).get("principalId", "")).lower() != principal.lower():
            raise
    properties = created.get("properties") or {}
    return Applied({"operation": "create", "name": str(created.get("name") or name).lower(),
                    "principal_id": principal,
                    "principal_type": str(properties.get("principalType") or "User"),
                    "principal_name": str(user.get("displayName") or "")[:256],
                    "principal_sign_in_name": str(user.get("userPrincipalName") or "").lower()[:254]})


def settled_role(change: OutboxChange) -> None:
    desired, applied = change.desired, change.state == OutboxChange.State.APPLIED
    customer = change.customer
    azure = AzureSubscription.objects.select_related("subscription").filter(
        azure_subscription_id=desired["azure_subscription_id"], subscription__customer=customer).first()
    value = {key: desired.get(key, "") for key in ("role", "user_principal_name", "azure_subscription_id",
                                                  "azure_subscription_name", "principal_id",
                                                  "principal_name", "principal_sign_in_name")}
    if desired["operation"] == "delete":
        if applied:
            RoleAssignment.objects.filter(azure_subscription=azure,
                                          assignment_name=desired["assignment_name"]).delete()
        _log(change, Action.DELETE_ROLE_ASSIGNMENT, ResourceType.ROLE_ASSIGNMENT, desired["assignment_name"],
             old=value)
        return
    if applied and azure is not None:
        result = change.result
        RoleAssignment.objects.get_or_create(azure_subscription=azure, assignment_name=result["name"],
                                             defaults={
            "subscription": azure.subscription, "role": RoleAssignment.role_of(desired["role_definition_id"]),
            "role_definition_id": desired["role_definition_id"], "principal_id": result["principal_id"],
            "principal_type": result["principal_type"], "principal_name": result["principal_name"],
            "principal_sign_in_name": result["principal_sign_in_name"]})
        value.update({key: result[key]
                      for key in ("principal_id", "principal_name", "principal_sign_in_name")})
    _log(change, Action.CREATE_ROLE_ASSIGNMENT, ResourceType.ROLE_ASSIGNMENT,
         change.result.get("name") or desired["assignment_name"], new=value)


# --- an Azure plan -----------------------------------------------------------------------------------

def push_azure_plan(client: MicrosoftClient, change: OutboxChange) -> Applied:
    tenant = str(change.customer.tenant_id)
    cart_id = change.progress.get("cart_id")
    if not cart_id:
        cart = _pc_write(client, "POST", f"/v1/customers/{tenant}/carts", {"lineItems": [{
            "id": 0, "catalogItemId": getattr(settings, "MICROSOFT_AZURE_PLAN_CATALOG_ITEM",
                                              AZURE_PLAN_CATALOG_ITEM),
            "friendlyName": change.desired.get("friendly_name") or AZURE_PLAN_NAME, "quantity": 1,
            "billingCycle": "monthly"}]}, **_ids(change))
        cart_id = str(cart.get("id") or "")
        if not cart_id:
            raise Refused(_("Partner Center's cart has no id."))
        remember(change, cart_id=cart_id)
    result = _pc_write(client, "POST", f"/v1/customers/{tenant}/carts/{cart_id}/checkout", None,
                       **_ids(change, "checkout"))
    errors = [e for e in result.get("orderErrors") or [] if isinstance(e, dict)]
    lines = [line for order in result.get("orders") or [] if isinstance(order, dict)
             for line in order.get("lineItems") or []
             if isinstance(line, dict) and line.get("subscriptionId")]
    if errors or not lines:
        first = errors[0] if errors else {}
        raise Refused(str(first.get("description") or first.get("errorDescription") or
                          _("Partner Center placed no order.")), code=str(first.get("code") or
                                                                          first.get("errorCode") or ""))
    subscription_id = str(lines[0]["subscriptionId"])
    # Read back what the mirror holds, as the sync would (the docs do not say the checkout's order lists
    # every field; an Azure plan still provisioning may have no entitlement yet: the next sync adds it).
    raw = client._pc("GET", f"/v1/customers/{tenant}/subscriptions/{subscription_id}")
    azure = client.azure_entitlements(tenant, subscription_id)
    return Applied({"subscription": {
        "id": subscription_id, "offer_id": str(raw.get("offerId") or lines[0].get("offerId") or "")[:100],
        "offer_name": str(raw.get("offerName") or "")[:200],
        "friendly_name": str(raw.get("friendlyName") or raw.get("offerName") or AZURE_PLAN_NAME)[:200],
        "quantity": int(raw.get("quantity") or 1), "status": str(raw.get("status") or "active")[:32]},
        "azure": [{"id": str(a["id"]), "friendly_name": str(a.get("friendlyName") or "")[:200],
                   "status": str(a.get("status") or "active")[:32]} for a in azure if a.get("id")],
        "order_id": str(result["orders"][0].get("id") or "")})


def settled_azure_plan(change: OutboxChange) -> None:
    applied = change.state == OutboxChange.State.APPLIED
    value = dict(change.desired)
    resource_id = ""
    if applied:
        data = change.result["subscription"]
        subscription, _created = Subscription.objects.get_or_create(
            subscription_id=data["id"], defaults={
                "customer": change.customer, "offer": Subscription.offer_of(data["offer_id"]),
                **{key: data[key] for key in ("offer_id", "offer_name", "friendly_name", "quantity",
                                              "status")}})
        for azure in change.result["azure"]:
            AzureSubscription.objects.get_or_create(azure_subscription_id=azure["id"], defaults={
                "subscription": subscription, "friendly_name": azure["friendly_name"],
                "status": azure["status"]})
        resource_id = data["id"]
        value.update(status=data["status"], order_id=change.result.get("order_id", ""))
    _log(change, Action.CREATE_ORDER, ResourceType.SUBSCRIPTION, resource_id, new=value)


# --- a customer user -----------------------------------------------------------------------------------

def _temporary_password() -> str:
    """Partner Center needs a password; the user changes it at first sign-in (forceChangePassword). It is
    neither kept nor shown: the customer's administrator resets it for the user."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(20)) + "!7aA"


def push_customer_user(client: MicrosoftClient, change: OutboxChange) -> Applied:
    desired, tenant = change.desired, str(change.customer.tenant_id)
    body = {"usageLocation": desired["usage_location"], "userPrincipalName": desired["user_principal_name"],
            "firstName": desired.get("first_name", ""), "lastName": desired.get("last_name", ""),
            "displayName": desired["display_name"],
            "passwordProfile": {"forceChangePassword": True, "password": _temporary_password()},
            "attributes": {"objectType": "CustomerUser"}}
    created = _pc_write(client, "POST", f"/v1/customers/{tenant}/users", body, **_ids(change))
    return Applied({"id": str(created.get("id") or ""),
                    "user_principal_name": str(created.get("userPrincipalName") or
                                               desired["user_principal_name"]).lower()[:254],
                    "display_name": str(created.get("displayName") or desired["display_name"])[:150]})


def settled_customer_user(change: OutboxChange) -> None:
    desired = change.desired
    if change.state == OutboxChange.State.APPLIED:
        upn = change.result["user_principal_name"]
        known = CustomerUser.objects.filter(customer=change.customer, user_principal_name__iexact=upn)
        if not known.exists():
            CustomerUser.objects.create(customer=change.customer, user_principal_name=upn,
                                        display_name=change.result["display_name"])
    _log(change, Action.ADD_CUSTOMER_USER, ResourceType.CUSTOMER_USER, desired["user_principal_name"],
         new={**desired, "id": change.result.get("id", "")} if change.result else desired)


# --- the log --------------------------------------------------------------------------------------------

def _log(change: OutboxChange, action, resource_type, resource_id, *, old=None, new=None) -> None:
    """What Microsoft did with the change: source Microsoft, Succeeded or Failed with its reason, linked
    to the decision by its correlation id."""
    applied = change.state == OutboxChange.State.APPLIED
    record(action=action, actor=change.actor,
           origin=Origin(source=Source.MICROSOFT, request_id=str(change.ms_request_id),
                         correlation_id=change.correlation_id),
           customer=change.customer, resource_type=resource_type, resource_id=str(resource_id),
           old_value=old, new_value=new, status=Status.SUCCEEDED if applied else Status.FAILED,
           failure_reason="" if applied else failure_reason(change)[:2000])


def register() -> None:
    register_handler(ROLE_ASSIGNMENT_CHANGE, lambda change: applying(push_role, change), settled=settled_role)
    register_handler(AZURE_PLAN_ORDER, lambda change: applying(push_azure_plan, change),
                     settled=settled_azure_plan)
    register_handler(CUSTOMER_USER_CHANGE, lambda change: applying(push_customer_user, change),
                     settled=settled_customer_user)
