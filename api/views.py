"""The /v1 endpoints. Writes go through the same services as the pages, with source API."""

from http import HTTPStatus

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import parse_etags
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from activitylog.models import Source
from activitylog.policies import can_view_activity_log
from activitylog.selectors import cursor_for, keyset_filter
from activitylog.services import Origin
from customers.models import Customer
from customers.selectors import customers_found
from permissions.models import Resource
from permissions.selectors import customer_account
from permissions.services import Expected, NoPolicy, PolicyChanged, PolicyExists, set_purchase_permissions
from purchases import selectors as purchase_selectors
from purchases.policies import can_view_purchases

from . import audit, customers_json, errors, purchases_json
from .customers_json import customer_detail, customer_summary
from .errors import ApiError, bad_request, error_response
from .http import endpoint, json_response, read_json
from .openapi import document
from .paging import collection, continuation, page_size, seek
from .selfserve import (
    PolicyState,
    customer_tenant_from_policy_id,
    parse_new_policy,
    parse_permissions,
    parse_uuid,
)


def _set(request: HttpRequest, customer: Customer, allowed: dict, expected: Expected) -> None:
    """The service, which checks what the script expected under the same lock as its change."""
    try:
        set_purchase_permissions(actor=request.user, customer=customer, allowed=allowed, expected=expected,
                                 origin=Origin.from_request(request, Source.API))
    except NoPolicy:
        raise errors.policy_not_found() from None
    except PolicyExists:
        raise ApiError(HTTPStatus.CONFLICT, errors.POLICY_EXISTS,
                       _("Self-serve policy already exists for this customer: change it with PUT.")) from None
    except PolicyChanged:
        raise ApiError(HTTPStatus.PRECONDITION_FAILED, "etag_mismatch",
                       _("The policy has changed since you read it (stale etag). "
                         "GET it again and retry with its current etag; nothing was changed.")) from None


def _policy_response(state: PolicyState, status=HTTPStatus.OK, headers=None) -> HttpResponse:
    return json_response(state.as_json(), status=status,
                         headers={"ETag": f'"{state.etag}"', **(headers or {})})


def _if_match(request: HttpRequest) -> str | None:
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = parse_etags(header)
    return tags[0].strip('"') if len(tags) == 1 else ""


def list_policies(request: HttpRequest) -> HttpResponse:
    entity_id = request.GET.get("entity_id")
    if not entity_id:
        raise bad_request("entity_id_required", _("Give the customer's tenant id as ?entity_id=."))
    tenant = parse_uuid(entity_id)
    if tenant is None:
        raise bad_request("invalid_entity_id", _("entity_id must be a customer's tenant id (a UUID)."))
    customer = Customer.objects.filter(tenant_id=tenant).first()
    state = PolicyState.of(customer) if customer is not None else None
    items = [state.as_json()] if state is not None and state.exists else []
    return json_response({"totalCount": len(items), "items": items,
                          "attributes": {"objectType": "Collection"}})


def create_policy(request: HttpRequest) -> HttpResponse:
    tenant, wanted = parse_new_policy(read_json(request))
    customer = Customer.objects.filter(tenant_id=tenant).first()
    if customer is None:
        raise errors.customer_not_found()
    _set(request, customer, {resource: True for resource in Resource.values if resource in wanted},
         Expected(exists=False))
    state = PolicyState.of(customer)
    location = reverse("api:policy", args=[state.as_json()["id"]])
    return _policy_response(state, HTTPStatus.CREATED, {"Location": location})


def _policy_customer(tenant) -> Customer:
    """The customer a policy id names; whether it has a policy is checked by the service, under its lock."""
    customer = Customer.objects.filter(tenant_id=tenant).first()
    if customer is None:
        raise errors.policy_not_found()
    return customer


def get_policy(request: HttpRequest, policy_id: str) -> HttpResponse:
    tenant = customer_tenant_from_policy_id(policy_id)
    customer = Customer.objects.filter(tenant_id=tenant).first()
    state = PolicyState.of(customer) if customer is not None else None
    if state is None or not state.exists:
        raise errors.policy_not_found()
    return _policy_response(state)


def replace_policy(request: HttpRequest, policy_id: str) -> HttpResponse:
    tenant = customer_tenant_from_policy_id(policy_id)
    body = read_json(request)
    if "id" in body and (not isinstance(body["id"], str) or body["id"].lower() != policy_id.lower()):
        raise bad_request("id_mismatch", _("The body's id must be the policy id in the address."))
    attributes = body.get("attributes", {})
    if not isinstance(attributes, dict):
        raise bad_request("invalid_field", _("'attributes' must be an object."))
    etag = _if_match(request)
    if etag is None:
        etag = attributes.get("etag")
    if etag is None:
        raise ApiError(HTTPStatus.PRECONDITION_REQUIRED, "etag_required",
                       _("Send the policy's current etag as attributes.etag or an If-Match header."))
    if not isinstance(etag, str):
        raise bad_request("invalid_field", _("'attributes.etag' must be a string."))
    wanted = parse_permissions(body)
    customer = _policy_customer(tenant)
    _set(request, customer, {resource: resource in wanted for resource in Resource.values},
         Expected(exists=True, version=etag))
    return _policy_response(PolicyState.of(customer))


def delete_policy(request: HttpRequest, policy_id: str) -> HttpResponse:
    tenant = customer_tenant_from_policy_id(policy_id)
    customer = _policy_customer(tenant)
    _set(request, customer, dict.fromkeys(Resource.values, False),
         Expected(exists=True, version=_if_match(request)))
    return HttpResponse(status=HTTPStatus.NO_CONTENT)


policies = endpoint(GET=list_policies, POST=create_policy)
policy = endpoint(GET=get_policy, PUT=replace_policy, DELETE=delete_policy)


def audit_records(request: HttpRequest) -> HttpResponse:
    if not can_view_activity_log(request.user):
        raise PermissionDenied(_("Only Admin agents and Operators can read audit records."))
    resumed = continuation(request, "auditrecords")
    if resumed is None:
        query = {**audit.parse_query(request),
                 "size": page_size(request, default=audit.DEFAULT_SIZE, maximum=audit.MAX_SIZE)}
        entries = audit.entries_for(query)
    else:
        query, after = resumed
        entries = audit.entries_for(query).filter(keyset_filter(after, older=True))
    items, token = seek(entries.newest_first(), size=query["size"], kind="auditrecords", query=query,
                        keyset=cursor_for)
    return json_response(collection([audit.audit_record(entry) for entry in items],
                                    path=request.path, token=token))


def list_customers(request: HttpRequest) -> HttpResponse:
    resumed = continuation(request, "customers")
    if resumed is None:
        size = page_size(request, default=customers_json.DEFAULT_SIZE, maximum=customers_json.MAX_SIZE)
        query = {"q": request.GET.get("q", "")[:200], "size": size}
        customers = customers_found(query["q"])
    else:
        query, (name, pk) = resumed
        customers = customers_found(query["q"]).filter(
            Q(company_name__gt=name) | Q(company_name=name, pk__gt=pk))
    items, token = seek(customers.order_by("company_name", "pk"), size=query["size"], kind="customers",
                        query=query, keyset=lambda customer: [customer.company_name, customer.pk])
    return json_response(collection([customer_summary(customer) for customer in items],
                                    path=request.path, token=token))


def get_customer(request: HttpRequest, tenant_id: str) -> HttpResponse:
    tenant = parse_uuid(tenant_id)
    customer = customer_account(tenant) if tenant is not None else None
    if customer is None:
        raise errors.customer_not_found()
    return json_response(customer_detail(customer))


def _purchases_customer(request: HttpRequest, tenant_id: str) -> Customer:
    if not can_view_purchases(request.user):
        raise PermissionDenied
    tenant = parse_uuid(tenant_id)
    customer = Customer.objects.filter(tenant_id=tenant).first() if tenant is not None else None
    if customer is None:
        raise errors.customer_not_found()
    return customer


def _newest_first(request: HttpRequest, tenant_id: str, *, kind: str, rows, when: str, shape):
    """One page of a customer's mirror rows, newest first by `when` then id, seek-paged."""
    customer = _purchases_customer(request, tenant_id)
    resumed = continuation(request, kind)
    if resumed is None:
        query = {"customer": str(customer.tenant_id),
                 "size": page_size(request, default=purchases_json.DEFAULT_SIZE,
                                   maximum=purchases_json.MAX_SIZE)}
        found = rows(customer)
    else:
        query, (moment, pk) = resumed
        if query.get("customer") != str(customer.tenant_id):
            raise bad_request("invalid_continuation_token",
                              _("The continuation token is for another customer. "
                                "Start again without MS-ContinuationToken."))
        found = rows(customer).filter(Q(**{f"{when}__lt": moment}) | Q(**{when: moment, "pk__lt": pk}))
    items, token = seek(found, size=query["size"], kind=kind, query=query,
                        keyset=lambda row: [_dotted(row, when).isoformat(), row.pk])
    return json_response(collection([shape(row) for row in items], path=request.path, token=token))


def _dotted(row, path: str):
    for name in path.split("__"):
        row = getattr(row, name)
    return row


def customer_orders(request: HttpRequest, tenant_id: str) -> HttpResponse:
    return _newest_first(request, tenant_id, kind="orders", when="created_at",
                         rows=lambda c: purchase_selectors.orders(c).select_related("customer"),
                         shape=purchases_json.order_json)


def customer_reservations(request: HttpRequest, tenant_id: str) -> HttpResponse:
    return _newest_first(request, tenant_id, kind="reservations", when="order__purchased_at",
                         rows=purchase_selectors.reservations, shape=purchases_json.reservation_json)


def customer_savings_plans(request: HttpRequest, tenant_id: str) -> HttpResponse:
    return _newest_first(request, tenant_id, kind="savingsplans", when="order__purchased_at",
                         rows=purchase_selectors.savings_plans, shape=purchases_json.savings_plan_json)


records = endpoint(GET=audit_records)
customers = endpoint(GET=list_customers)
customer = endpoint(GET=get_customer)
orders = endpoint(GET=customer_orders)
reservations = endpoint(GET=customer_reservations)
savings_plans = endpoint(GET=customer_savings_plans)


def openapi_document(request: HttpRequest) -> HttpResponse:
    return json_response(document(request))


openapi = endpoint(public=True, GET=openapi_document)


@login_not_required
@csrf_exempt
def unknown(request: HttpRequest) -> HttpResponse:
    """Any other address under /v1: a JSON 404 rather than the portal's HTML page or a redirect."""
    return error_response(HTTPStatus.NOT_FOUND, "not_found",
                          _("No such API address. The reference is at /v1/openapi.json."))
