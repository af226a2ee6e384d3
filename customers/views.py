from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from activitylog.models import Action, ActivityLogEntry, ResourceType
from activitylog.services import Origin
from activitylog.views import INVALID_PAGE_LINK, keyset_page

from . import selectors, services
from .models import Customer
from .policies import (
    MANAGE_CUSTOMERS_REFUSED,
    PARTNER_CENTER_CUSTOMERS_URL,
    can_manage_customers,
)

CUSTOMERS_PER_PAGE = 25


def get_customer(tenant_id: UUID) -> Customer:
    return get_object_or_404(Customer, tenant_id=tenant_id)


def posted(request: HttpRequest):
    """The data to bind a form to: the POST body (even an empty one), or None on a GET."""
    return request.POST if request.method == "POST" else None


def require_manager(request: HttpRequest, action: Action, resource_type: ResourceType,
                    customer: Customer | None = None) -> None:
    """Read-only agents get 403 for a form page.

    Their POSTs with valid data are refused (and logged) by the services; a forged POST whose data does
    not even validate is refused here by the same role check, and logged as Failed too.
    """
    if not can_manage_customers(request.user):
        if request.method == "POST":
            services.refuse_unless_manager(actor=request.user, origin=Origin.from_request(request),
                                           customer=customer, action=action, resource_type=resource_type)
        raise PermissionDenied(MANAGE_CUSTOMERS_REFUSED)


def add_errors(form, exc: ValidationError) -> None:
    for message in exc.messages:
        form.add_error(None, message)


@require_http_methods(["GET", "POST"])
def customer_add(request: HttpRequest) -> HttpResponse:
    """A whole customer is added in Partner Center (its tenant, its agreement): the page links there and
    the next sync brings the customer in. Nothing is written here, in either mode."""
    require_manager(request, Action.ADD_CUSTOMER, ResourceType.CUSTOMER)
    return _at_microsoft(request, None, title=_("Add customer"), url=PARTNER_CENTER_CUSTOMERS_URL,
                         link=_("Add the customer in Partner Center"))


@require_GET
def subscriptions(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    return render(request, "customers/subscriptions.html", {
        "customer": customer, "section": "subscriptions",
        "subscriptions": selectors.subscriptions_with_roles(customer),
        "can_manage": can_manage_customers(request.user),
    })


@require_GET
def users(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    return render(request, "customers/users.html", {
        "customer": customer, "section": "users", "users": selectors.users_with_roles(customer),
        "can_manage": can_manage_customers(request.user),
    })


def _at_microsoft(request, customer, *, title, url, link) -> HttpResponse:
    """Live mode: this is done at Microsoft; nothing is written here (a POST neither)."""
    return render(request, "customers/at_microsoft.html", {
        "customer": customer, "title": title, "microsoft_url": url, "microsoft_link": link,
        "section": "subscriptions" if customer else None,
    }, status=409 if request.method == "POST" else 200)


def _form_page(request, customer, form, *, title, submit, section, cancel, status=200, intro=""):
    return render(request, "customers/customer_action_form.html", {
        "customer": customer, "form": form, "title": title, "submit_label": submit,
        "section": section, "cancel_url": cancel, "intro": intro,
    }, status=400 if form.errors else status)


@require_GET
def history(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    """One customer's entries, newest first, for every role: the Activity log's rows for that customer."""
    customer = get_customer(tenant_id)
    page = keyset_page(ActivityLogEntry.objects.filter(customer_tenant_id=customer.tenant_id), request.GET)
    return render(request, "activitylog/customer_history.html", {
        "customer": customer, "section": "history", **page.context(),
        "invalid_link": INVALID_PAGE_LINK if page.invalid_link else "",
    }, status=400 if page.invalid_link else 200)
