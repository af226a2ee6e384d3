from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from activitylog.models import Action, ActivityLogEntry, ResourceType
from activitylog.services import Origin
from activitylog.views import INVALID_PAGE_LINK, keyset_page

from . import selectors, services
from .forms import (
    AzurePlanForm,
    CustomerForm,
    CustomerUserForm,
    RoleAssignmentForm,
)
from .models import Customer
from .policies import (
    MANAGE_CUSTOMERS_REFUSED,
    PARTNER_CENTER_CUSTOMERS_URL,
    azure_access_control_url,
    can_manage_customers,
    partner_center_url,
    written_at_microsoft,
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
    if written_at_microsoft():
        require_manager(request, Action.ADD_CUSTOMER, ResourceType.CUSTOMER)
        return _at_microsoft(request, None, title=_("Add customer"), url=PARTNER_CENTER_CUSTOMERS_URL,
                             link=_("Add the customer in Partner Center"))
    form = CustomerForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.add_customer(
                actor=request.user, origin=Origin.from_request(request), **form.cleaned_data
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Customer %(name)s added.") % {"name": customer})
            return redirect(customer)
    require_manager(request, Action.ADD_CUSTOMER, ResourceType.CUSTOMER)
    return render(request, "customers/customer_form.html", {"form": form},
                  status=400 if form.errors else 200)


@require_GET
def subscriptions(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    return render(request, "customers/subscriptions.html", {
        "customer": customer, "section": "subscriptions",
        "subscriptions": selectors.subscriptions_with_roles(customer),
        "has_users": customer.users.exists(),
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


@require_http_methods(["GET", "POST"])
def subscription_buy(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    if written_at_microsoft():
        require_manager(request, Action.CREATE_ORDER, ResourceType.SUBSCRIPTION, customer)
        return _at_microsoft(request, customer, title=_("Buy an Azure plan"),
                             url=partner_center_url(str(customer.tenant_id)),
                             link=_("Buy it in Partner Center"))
    form = AzurePlanForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            subscription = services.buy_azure_plan(
                actor=request.user, customer=customer, origin=Origin.from_request(request),
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("%(name)s bought for %(customer)s.")
                             % {"name": subscription.friendly_name, "customer": customer})
            return redirect("customers:subscriptions", customer.tenant_id)
    require_manager(request, Action.CREATE_ORDER, ResourceType.SUBSCRIPTION, customer)
    return _form_page(
        request, customer, form, title=_("Buy an Azure plan"), submit=_("Buy Azure plan"),
        section="subscriptions",
        cancel=reverse("customers:subscriptions", args=[customer.tenant_id]),
        intro=_("The subscription is usage-based: the customer's Azure consumption is billed "
                "to you each month."),
    )


@require_http_methods(["GET", "POST"])
def role_grant(request: HttpRequest, tenant_id: UUID, subscription_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    subscription = get_object_or_404(customer.subscriptions, subscription_id=subscription_id)
    if written_at_microsoft():
        require_manager(request, Action.CREATE_ROLE_ASSIGNMENT, ResourceType.ROLE_ASSIGNMENT, customer)
        azure = subscription.azure_subscriptions.first()
        return _at_microsoft(
            request, customer, title=_("Grant the Owner role"),
            url=azure_access_control_url(str(customer.tenant_id),
                                         str(azure.azure_subscription_id) if azure else ""),
            link=_("Grant Owner in the Azure portal (Access control)"))
    form = RoleAssignmentForm(posted(request), customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            assignment = services.grant_role(
                actor=request.user, subscription=subscription,
                origin=Origin.from_request(request), **form.cleaned_data,
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("%(user)s is now %(role)s on %(subscription)s.") % {
                "user": assignment.customer_user.display_name,
                "role": assignment.get_role_display(),
                "subscription": subscription.friendly_name})
            return redirect("customers:subscriptions", customer.tenant_id)
    require_manager(request, Action.CREATE_ROLE_ASSIGNMENT, ResourceType.ROLE_ASSIGNMENT, customer)
    return _form_page(
        request, customer, form, title=_("Grant a role on %(name)s") % {"name": subscription},
        submit=_("Grant role"), section="subscriptions",
        cancel=reverse("customers:subscriptions", args=[customer.tenant_id]),
        intro=_("Customers need the Owner role on an Azure subscription to buy reservations "
                "and savings plans for it."),
    )


@require_http_methods(["GET", "POST"])
def user_add(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    form = CustomerUserForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            user = services.add_customer_user(
                actor=request.user, customer=customer, origin=Origin.from_request(request),
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("%(name)s added.") % {"name": user.display_name})
            return redirect("customers:users", customer.tenant_id)
    require_manager(request, Action.ADD_CUSTOMER_USER, ResourceType.CUSTOMER_USER, customer)
    return _form_page(request, customer, form, title=_("Add a user"), submit=_("Add user"),
                      section="users",
                      cancel=reverse("customers:users", args=[customer.tenant_id]))


@require_GET
def history(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    """One customer's entries, newest first, for every role: the Activity log's rows for that customer."""
    customer = get_customer(tenant_id)
    page = keyset_page(ActivityLogEntry.objects.filter(customer_tenant_id=customer.tenant_id), request.GET)
    return render(request, "activitylog/customer_history.html", {
        "customer": customer, "section": "history", **page.context(),
        "invalid_link": INVALID_PAGE_LINK if page.invalid_link else "",
    }, status=400 if page.invalid_link else 200)
