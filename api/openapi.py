"""The API's OpenAPI 3 document, kept by hand beside the views; a test holds the two in step."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _

from permissions.models import PURCHASE, Resource, policy_permissions

from . import audit, customers_json, errors, purchases_json
from .paging import HEADER as CONTINUATION

VERSION = "1.0.0"
# The customer in the document's examples (Partner Center's own examples use one like it).
EXAMPLE_CUSTOMER = "0431a72c-7d8e-4b4f-9f5e-2f4c8e1d9b3a"
UUID = {"type": "string", "format": "uuid"}
LINK = {"type": "object", "properties": {
    "uri": {"type": "string"}, "method": {"type": "string"},
    "headers": {"type": "array", "items": {"type": "object", "properties": {
        "key": {"type": "string"}, "value": {"type": "string"}}}},
}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _collection(item: str, *, seek: bool) -> dict:
    properties = {
        "totalCount": {"type": "integer", "minimum": 0},
        "items": {"type": "array", "items": _ref(item)},
        "attributes": {"type": "object", "properties": {"objectType": {"const": "Collection"}}},
    }
    if seek:
        properties["continuationToken"] = {"type": "string"}
        properties["links"] = {"type": "object", "properties": {"next": LINK}}
    return {"type": "object", "required": ["totalCount", "items"], "properties": properties}


def _schemas(partner: str) -> dict:
    permission = {
        "type": "object", "required": ["resource", "action"],
        "properties": {"resource": {"enum": Resource.values}, "action": {"const": PURCHASE}},
    }
    permissions = {"type": "array", "items": _ref("Permission"), "maxItems": len(Resource.values),
                   "uniqueItems": True}
    entity = {"type": "object", "required": ["selfServeEntityType", "tenantID"], "properties": {
        "selfServeEntityType": {"const": "customer"}, "tenantID": UUID}}
    grantor = {"type": "object", "required": ["grantorType", "tenantID"], "properties": {
        "grantorType": {"const": "billToPartner"}, "tenantID": UUID}}
    policy_attributes = {"type": "object", "properties": {
        "etag": {"type": "string"}, "objectType": {"const": "SelfServePolicy"}}}
    return {
        "Error": {
            "type": "object", "required": ["code", "description"],
            "properties": {
                "code": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                "description": {"type": "string"},
                "data": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Permission": permission,
        "SelfServePolicy": {
            "type": "object",
            "required": ["id", "selfServeEntity", "grantor", "permissions", "attributes"],
            "properties": {"id": {"type": "string"}, "selfServeEntity": entity, "grantor": grantor,
                           "permissions": permissions, "attributes": policy_attributes},
        },
        "NewSelfServePolicy": {
            "type": "object", "required": ["selfServeEntity", "grantor", "permissions"],
            "properties": {"selfServeEntity": entity, "grantor": grantor,
                           "permissions": {**permissions, "minItems": 1}},
            "example": {
                "selfServeEntity": {"selfServeEntityType": "customer", "tenantID": EXAMPLE_CUSTOMER},
                "grantor": {"grantorType": "billToPartner", "tenantID": partner},
                "permissions": policy_permissions(Resource.values),
            },
        },
        "SelfServePolicyUpdate": {
            "type": "object", "required": ["permissions"],
            "properties": {"id": {"type": "string"}, "permissions": permissions,
                           "attributes": policy_attributes},
        },
        "SelfServePolicyCollection": _collection("SelfServePolicy", seek=False),
        "AuditRecord": {
            "type": "object",
            "required": ["partnerId", "customerId", "customerName", "userPrincipalName", "applicationId",
                         "resourceType", "resourceOldValue", "resourceNewValue", "operationType",
                         "operationDate", "operationStatus", "customizedData", "attributes"],
            "properties": {
                "partnerId": {"type": "string"},
                "customerId": {"type": ["string", "null"]},
                "customerName": {"type": "string"},
                "userPrincipalName": {"type": "string"},
                "applicationId": {"type": "string"},
                "resourceType": {"type": "string"},
                "resourceOldValue": {"type": ["string", "null"], "description": _("JSON, as text")},
                "resourceNewValue": {"type": ["string", "null"], "description": _("JSON, as text")},
                "operationType": {"type": "string"},
                "operationDate": {"type": "string", "format": "date-time"},
                "operationStatus": {"enum": ["succeeded", "failed"]},
                "customizedData": {"type": "array", "items": {
                    "type": "object", "required": ["key", "value"],
                    "properties": {"key": {"type": "string"}, "value": {"type": "string"}}}},
                "attributes": {"type": "object", "properties": {"objectType": {"const": "AuditRecord"}}},
            },
        },
        "AuditRecordCollection": _collection("AuditRecord", seek=True),
        "Customer": {
            "type": "object", "required": ["id", "companyProfile", "status", "attributes"],
            "properties": {
                "id": UUID,
                "companyProfile": {"type": "object", "required": ["tenantId", "domain", "companyName"],
                                   "properties": {"tenantId": UUID, "domain": {"type": "string"},
                                                  "companyName": {"type": "string"}}},
                "relationshipToPartner": {"type": "string"},
                "status": {"enum": ["active", "suspended"]},
                "links": {"type": "object", "properties": {"self": LINK}},
                "attributes": {"type": "object", "properties": {"objectType": {"const": "Customer"}}},
            },
        },
        "CustomerDetail": {"allOf": [_ref("Customer"), {
            "type": "object", "required": ["readiness", "permissions", "partnerCenter", "subscriptions"],
            "properties": {
                "readiness": {"type": "object",
                              "required": ["ready", "hasAzureSubscription", "hasOwner", "missingSteps"],
                              "properties": {"ready": {"type": "boolean"},
                                             "hasAzureSubscription": {"type": "boolean"},
                                             "hasOwner": {"type": "boolean"},
                                             "missingSteps": {"type": "array", "items": {"type": "string"}}}},
                "permissions": {"type": "array", "items": {
                    "type": "object", "required": ["resource", "allowed", "usable"],
                    "properties": {"resource": {"enum": Resource.values}, "allowed": {"type": "boolean"},
                                   "usable": {"type": "boolean", "description": _(
                                       "Allowed, and the customer can buy now (it is ready).")},
                                   "lastChangedBy": {"type": ["string", "null"]},
                                   "lastChangedAt": {"type": ["string", "null"], "format": "date-time"}}}},
                "partnerCenter": {
                    "type": "object", "required": ["state", "at", "needsReconnecting", "drift"],
                    "description": _("Where the customer's self-serve policy stands in Partner Center."),
                    "properties": {
                        "state": {"enum": ["applied", "waiting", "not_applied", None], "description": _(
                            "applied: applied in Partner Center at 'at'; waiting: waiting to apply since "
                            "'at'; not_applied: Microsoft's reason, error code and request id; null: "
                            "nothing was sent yet.")},
                        "at": {"type": ["string", "null"], "format": "date-time"},
                        "reason": {"type": ["string", "null"]},
                        "errorCode": {"type": ["string", "null"]},
                        "requestId": {"type": ["string", "null"]},
                        "needsReconnecting": {"type": "boolean"},
                        "drift": {"type": ["object", "null"], "description": _(
                            "Partner Center's own setting, when someone changed it there directly."),
                                  "properties": {
                                      "permissions": {"type": "array", "items": {"type": "string"}},
                                      "foundAt": {"type": ["string", "null"], "format": "date-time"}}}}},
                "subscriptions": {"type": "array", "items": {
                    "type": "object", "required": ["id", "offer", "status", "isAzure", "owners"],
                    "properties": {"id": UUID, "offerName": {"type": "string"}, "offer": {"type": "string"},
                                   "friendlyName": {"type": "string"}, "quantity": {"type": "integer"},
                                   "status": {"type": "string", "description": _(
                                       "As Partner Center says it (active, suspended, deleted, expired, "
                                       "...); only active counts as active.")},
                                   "isAzure": {"type": "boolean"},
                                   "creationDate": {"type": "string", "format": "date-time"},
                                   "owners": {"type": "array", "items": {"type": "string"}}}}},
            },
        }]},
        "CustomerCollection": _collection("Customer", seek=True),
        **_purchase_schemas(),
    }


def _purchase_schemas() -> dict:
    text, when = {"type": "string"}, {"type": ["string", "null"], "format": "date-time"}
    maybe_text = {"type": ["string", "null"]}
    bought_by = {"type": ["string", "null"], "description": _(
        "The user who bought it (Azure's systemData.createdBy), when Microsoft says.")}
    return {
        "Order": {
            "type": "object", "description": _(
                "Partner Center's Order: the partner's orders and the customer's own (transactionType "
                "UserPurchase, client Azure portal)."),
            "required": ["id", "referenceCustomerId", "creationDate", "lineItems", "attributes"],
            "properties": {
                "id": text, "referenceCustomerId": UUID, "billingCycle": text, "transactionType": text,
                "currencyCode": text, "creationDate": {"type": "string", "format": "date-time"},
                "status": text,
                "client": {"type": ["object", "null"], "properties": {"name": text}},
                "placedBy": {"type": ["string", "null"], "description": _(
                    "Who placed it: the user of its create_order audit record, when there is one.")},
                "lineItems": {"type": "array", "items": {"type": "object", "description": _(
                    "Partner Center's order line item, as Partner Center gave it.")}},
                "attributes": {"type": "object", "properties": {"objectType": {"const": "Order"}}}}},
        "OrderCollection": _collection("Order", seek=True),
        "Reservation": {
            "type": "object", "description": _(
                "Azure's Reservation (Microsoft.Capacity, in the customer's tenant): Partner Center shows "
                "reservations only as entitlements, without scope, dates or renewal."),
            "required": ["id", "name", "type", "properties", "reservationOrder", "boughtBy"],
            "properties": {
                "id": text, "name": text,
                "type": {"const": "Microsoft.Capacity/reservationOrders/reservations"},
                "sku": {"type": "object", "properties": {"name": text}}, "location": text,
                "properties": {"type": "object", "properties": {
                    "displayName": text, "reservedResourceType": text,
                    "quantity": {"type": "integer", "minimum": 0},
                    "appliedScopeType": {"type": "string", "description": _(
                        "Single, Shared, ManagementGroup (or empty when Azure did not say)")},
                    "appliedScopes": {"type": "array", "items": text},
                    "term": text, "billingPlan": text, "effectiveDateTime": when, "expiryDateTime": when,
                    "renew": {"type": "boolean"}, "provisioningState": text}},
                "reservationOrder": {"type": "object", "properties": {
                    "id": text, "displayName": text, "purchaseDateTime": when,
                    "total": {"type": ["object", "null"], "properties": {
                        "amount": {"type": "number"}, "currencyCode": text}}}},
                "boughtBy": bought_by}},
        "ReservationCollection": _collection("Reservation", seek=True),
        "SavingsPlan": {
            "type": "object", "description": _(
                "The portal's own shape, after Azure's SavingsPlan (Microsoft.BillingBenefits): Partner "
                "Center never shows savings plans. A savings plan can never be cancelled, exchanged or "
                "refunded."),
            "required": ["id", "name", "type", "properties", "savingsPlanOrder", "boughtBy"],
            "properties": {
                "id": text, "name": text,
                "type": {"const": "Microsoft.BillingBenefits/savingsPlanOrders/savingsPlans"},
                "properties": {"type": "object", "properties": {
                    "displayName": text,
                    "commitment": {"type": "object", "required": ["grain", "currencyCode", "amount"],
                                   "properties": {"grain": {"const": "Hourly"}, "currencyCode": text,
                                                  "amount": {"type": "number"}}},
                    "appliedScopeType": text, "appliedScope": maybe_text, "term": text,
                    "billingPlan": text, "effectiveDateTime": when, "expiryDateTime": when,
                    "purchaseDateTime": when, "renew": {"type": "boolean"}, "provisioningState": text}},
                "savingsPlanOrder": {"type": "object", "properties": {"id": text}},
                "boughtBy": bought_by}},
        "SavingsPlanCollection": _collection("SavingsPlan", seek=True),
    }


def _errors(*statuses: int) -> dict:
    """The error responses an operation can give, besides the ones every authenticated call can."""
    described = {
        400: _("The request is malformed; the description says what to fix."),
        401: _("No valid token: missing, unknown, revoked or expired."),
        403: _("Your role may not do this; the refusal is logged as Failed."),
        404: _("Not found (600039: no policy; 600040: malformed policy id)."),
        409: _("600041: the customer already has a policy."),
        412: _("The etag is stale: the policy changed since you read it."),
        413: _("The body is larger than the API accepts."),
        415: _("The body is not sent as application/json."),
        428: _("PUT needs the current etag (attributes.etag or If-Match)."),
        429: _("Too many requests with this token."),
    }
    headers = {429: {"Retry-After": {"description": _("Seconds to wait"), "schema": {"type": "integer"},
                                     "required": True}},
               401: {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}}}
    return {str(status): _json(_ref("Error"), described[status], headers.get(status))
            for status in sorted({401, 429, *statuses})}


def _param(name: str, where: str, description: str, schema: dict | None = None, required=False,
           example=None) -> dict:
    param = {"name": name, "in": where, "required": required or where == "path", "description": description,
             "schema": schema or {"type": "string"}}
    if example is not None:
        param["example"] = example
    return param


def _operation(summary: str, description: str, responses: dict, parameters=(), body: str | None = None,
               tag: str = "") -> dict:
    operation = {
        "summary": summary, "description": description, "tags": [tag],
        "parameters": [{"$ref": "#/components/parameters/RequestId"},
                       {"$ref": "#/components/parameters/CorrelationId"}, *parameters],
        "responses": responses,
    }
    if body:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": _ref(body)}}}
    return operation


def document(request: HttpRequest | None = None) -> dict:
    partner = settings.PARTNER_TENANT_ID
    policy_id = _param("policy_id", "path", _("{partnerTenantId}_{customerTenantId}"),
                       example=f"{partner}_{EXAMPLE_CUSTOMER}")
    if_match = _param("If-Match", "header", _("The policy's current etag (or send attributes.etag)."))
    etag = {"ETag": {"description": _("The policy's etag, for If-Match"), "schema": {"type": "string"},
                     "required": True}}
    seek = _param(CONTINUATION, "header", _("The continuationToken of the previous page."))
    policy_tag = _("Self-serve policies (customer purchase permissions)")
    audit_tag, customers_tag = _("Audit records"), _("Customers")
    purchases_tag = _("Orders, reservations and savings plans")
    paths = {
        "/v1/SelfServePolicy": {
            "get": _operation(
                _("List a customer's self-serve policy"),
                _("Partner Center's list: totalCount 0 or 1. Every role."),
                {"200": _json(_ref("SelfServePolicyCollection"), _("The customer's policy, if any.")),
                 **_errors(400)},
                [_param("entity_id", "query", _("The customer's tenant id"), UUID, required=True,
                         example=EXAMPLE_CUSTOMER)],
                tag=policy_tag),
            "post": _operation(
                _("Create a customer's self-serve policy"),
                _("Allows the listed purchases. Admin agents only; the customer must be ready. "
                  "One Create Customer Purchase Permissions entry per permission."),
                {"201": _json(_ref("SelfServePolicy"), _("The new policy."), {
                    **etag, "Location": {"schema": {"type": "string"}, "required": True}}),
                 **_errors(400, 403, 404, 409, 413, 415)},
                body="NewSelfServePolicy", tag=policy_tag),
        },
        "/v1/SelfServePolicy/{policy_id}": {
            "get": _operation(
                _("Get a self-serve policy"), _("Every role."),
                {"200": _json(_ref("SelfServePolicy"), _("The policy."), etag), **_errors(404)},
                [policy_id], tag=policy_tag),
            "put": _operation(
                _("Replace a policy's permission list"),
                _("Needs the current etag. Admin agents only. Logs one entry per permission created or "
                  "removed, none when nothing changes."),
                {"200": _json(_ref("SelfServePolicy"), _("The policy as it is now."), etag),
                 **_errors(400, 403, 404, 412, 413, 415, 428)},
                [policy_id, if_match], body="SelfServePolicyUpdate", tag=policy_tag),
            "delete": _operation(
                _("Delete a self-serve policy"),
                _("Removes every permission of the customer. Admin agents only. If-Match is optional."),
                {"204": {"description": _("Deleted.")}, **_errors(403, 404, 412)},
                [policy_id, if_match], tag=policy_tag),
        },
        "/v1/auditrecords": {
            "get": _operation(
                _("Read audit records"),
                _("The activity log, newest first, in Partner Center's AuditRecord shape. Admin agents and "
                  "Operators. No 90-day window: retention decides."),
                {"200": _json(_ref("AuditRecordCollection"), _("One page of records.")), **_errors(400, 403)},
                [_param("startDate", "query", _("yyyy-mm-dd or ISO 8601; default 30 days ago")),
                 _param("endDate", "query", _("yyyy-mm-dd (the whole day) or ISO 8601; default now")),
                 _param("filter", "query", _('URL-encoded JSON {"Field": "CompanyName" | "CustomerId" | '
                                             '"ResourceType", "Value": "...", "Operator": "substring" | '
                                             '"equals"}')),
                 _param("size", "query", _("Records per page"),
                        {"type": "integer", "minimum": 1, "maximum": audit.MAX_SIZE}),
                 seek],
                tag=audit_tag),
        },
        "/v1/customers": {
            "get": _operation(
                _("List customers"), _("By company name; every role."),
                {"200": _json(_ref("CustomerCollection"), _("One page of customers.")), **_errors(400)},
                [_param("q", "query", _("Part of the company name or domain, or the full tenant id")),
                 _param("size", "query", _("Customers per page"),
                        {"type": "integer", "minimum": 1, "maximum": customers_json.MAX_SIZE}),
                 seek],
                tag=customers_tag),
        },
        "/v1/customers/{tenant_id}": {
            "get": _operation(
                _("Get a customer with its readiness"),
                _("Subscriptions with their Owners, readiness step by step, and each permission's state, "
                  "so that a script can check before it asks. Every role."),
                {"200": _json(_ref("CustomerDetail"), _("The customer.")), **_errors(404)},
                [_param("tenant_id", "path", _("The customer's tenant id"),
                         example=EXAMPLE_CUSTOMER)], tag=customers_tag),
        },
        **{f"/v1/customers/{{tenant_id}}/{segment}": {"get": _operation(
            summary, description,
            {"200": _json(_ref(f"{schema}Collection"), _("One page, newest first.")), **_errors(400, 404)},
            [_param("tenant_id", "path", _("The customer's tenant id"), example=EXAMPLE_CUSTOMER),
             _param("size", "query", _("Items per page"),
                    {"type": "integer", "minimum": 1, "maximum": purchases_json.MAX_SIZE}),
             seek], tag=purchases_tag)}
           for segment, schema, summary, description in (
               ("orders", "Order", _("A customer's orders"),
                _("Partner Center's orders of the customer, the partner's and the customer's own, as the "
                  "portal last read them. Every role.")),
               ("reservations", "Reservation", _("A customer's Azure reservations"),
                _("Every Azure reservation in the customer's tenant, with who bought it. Every role.")),
               ("savingsplans", "SavingsPlan", _("A customer's Azure savings plans"),
                _("Every Azure savings plan in the customer's tenant (Partner Center never shows them), "
                  "with who bought it. Every role.")))},
        "/v1/openapi.json": {
            "get": {"summary": _("This document"), "tags": [_("Reference")], "security": [],
                    "parameters": [], "responses": {"200": {
                        "description": _("OpenAPI 3.1"),
                        "content": {"application/json": {"schema": {"type": "object"}}}}}},
        },
    }
    base = request.build_absolute_uri("/").rstrip("/") if request is not None else ""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": _("%(partner)s API") % {"partner": settings.PARTNER_NAME},
            "version": VERSION,
            "description": _(
                "Partner Center's SelfServePolicy and auditrecords, in its shapes and error codes, plus "
                "customers with their readiness. Authenticate with a personal API token: "
                "'Authorization: Bearer <token>'. Errors are {code, description, data}; "
                "policy codes %(not_found)s, %(invalid)s and %(exists)s are Partner Center's."
            ) % {"not_found": errors.POLICY_NOT_FOUND, "invalid": errors.POLICY_ID_INVALID,
                 "exists": errors.POLICY_EXISTS},
        },
        "servers": [{"url": base or "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": _("A personal API token from the portal.")}},
            "parameters": {
                "RequestId": _param("MS-RequestId", "header",
                                    _("Your id for this request; echoed and logged.")),
                "CorrelationId": _param("MS-CorrelationId", "header",
                                        _("Your id for a larger operation; echoed and logged.")),
            },
            "schemas": _schemas(partner),
        },
    }


def reference_operations(doc: dict) -> list[dict]:
    """The document's operations, flattened for the reference page."""
    shared = doc["components"]["parameters"]
    operations = []
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            parameters = [shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
                          for p in operation.get("parameters", [])]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append({
                "method": method.upper(), "path": path, "anchor": f"{method}-{path}".replace("/", "-"),
                "summary": operation["summary"], "description": operation.get("description", ""),
                "tag": operation["tags"][0], "parameters": parameters,
                "body": body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1],
                "responses": [(status, response["description"])
                              for status, response in operation["responses"].items()],
                "public": operation.get("security") == [],
            })
    return operations
