from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from activitylog.services import Origin
from permissions.models import PurchasePermissionState, Resource, customer_account, with_permissions
from permissions.policies import (
    can_change_purchase_permissions,
    permissions_that_would_stop,
    readiness_of,
    readiness_without,
)

from . import services
from .forms import (
    AzurePlanForm,
    ConfirmForm,
    CustomerForm,
    CustomerSearchForm,
    CustomerUserForm,
    RoleAssignmentForm,
    SubscriptionStatusForm,
)
from .models import Customer, RoleAssignment, Subscription
from .policies import MANAGE_CUSTOMERS_REFUSED, can_manage_customers

CUSTOMERS_PER_PAGE = 25


def get_customer(tenant_id: UUID) -> Customer:
    return get_object_or_404(Customer, tenant_id=tenant_id)


def get_customer_account(tenant_id: UUID) -> Customer:
    """The customer with everything its Account page shows, in one query."""
    customer = customer_account(tenant_id)
    if customer is None:
        raise Http404
    return customer


def posted(request: HttpRequest):
    """The data to bind a form to: the POST body (even an empty one), or None on a GET."""
    return request.POST if request.method == "POST" else None


def require_manager(request: HttpRequest) -> None:
    """Read-only agents get 403 for a form page; their POSTs are refused (and logged) by services."""
    if not can_manage_customers(request.user):
        raise PermissionDenied(MANAGE_CUSTOMERS_REFUSED)


def add_errors(form, exc: ValidationError) -> None:
    for message in exc.messages:
        form.add_error(None, message)


@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerSearchForm(request.GET)
    customers = with_permissions(Customer.objects.with_readiness())
    query = form.cleaned_data["q"] if form.is_valid() else ""
    customers = customers.search(query).by_name()
    if form.is_valid():
        customers = form.filter(customers)
    page = Paginator(customers, CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for customer in page.object_list:
        customer.permission_flags = [getattr(customer, f"allows_{resource}") for resource in Resource]
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "customers/list.html", {
        "form": form, "query": query, "page": page, "page_query": params.urlencode(),
        "filtered": any(form.cleaned_data.get(f.name) for f in form.filters()) if form.is_valid() else False,
        "resources": Resource,
        "can_manage": can_manage_customers(request.user),
    })


@require_http_methods(["GET", "POST"])
def customer_add(request: HttpRequest) -> HttpResponse:
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
    require_manager(request)
    return render(request, "customers/customer_form.html", {"form": form},
                  status=400 if form.errors else 200)


def account_context(request: HttpRequest, customer: Customer) -> dict:
    """For a customer from get_customer_account()."""
    readiness = readiness_of(customer)
    states = PurchasePermissionState.for_customer(customer, usable=readiness.ready)
    return {
        "customer": customer,
        "section": "account",
        "readiness": readiness,
        "permission_states": states,
        "can_change_permissions": can_change_purchase_permissions(request.user),
        # Read-only roles see the missing steps as text: the pages that fix them would refuse them.
        "can_fix_readiness": can_manage_customers(request.user),
    }


@require_GET
def account(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer_account(tenant_id)
    return render(request, "customers/account.html", account_context(request, customer))


@require_GET
def subscriptions(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    subs = customer.subscriptions.prefetch_related(
        Prefetch(
            "role_assignments",
            queryset=RoleAssignment.objects.select_related("customer_user").order_by(
                "customer_user__display_name", "role"
            ),
        )
    )
    return render(request, "customers/subscriptions.html", {
        "customer": customer, "section": "subscriptions", "subscriptions": subs,
        "has_users": customer.users.exists(),
        "can_manage": can_manage_customers(request.user),
    })


@require_GET
def users(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    customer_users = customer.users.prefetch_related(
        Prefetch("role_assignments",
                 queryset=RoleAssignment.objects.select_related("subscription"))
    )
    return render(request, "customers/users.html", {
        "customer": customer, "section": "users", "users": customer_users,
        "can_manage": can_manage_customers(request.user),
    })


def _form_page(request, customer, form, *, title, submit, section, cancel, status=200, intro=""):
    return render(request, "customers/customer_action_form.html", {
        "customer": customer, "form": form, "title": title, "submit_label": submit,
        "section": section, "cancel_url": cancel, "intro": intro,
    }, status=400 if form.errors else status)


@require_http_methods(["GET", "POST"])
def subscription_buy(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
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
    require_manager(request)
    return _form_page(
        request, customer, form, title=_("Buy an Azure plan"), submit=_("Buy Azure plan"),
        section="subscriptions",
        cancel=reverse("customers:subscriptions", args=[customer.tenant_id]),
        intro=_("The subscription is usage-based: the customer's Azure consumption is billed "
                "to you each month."),
    )


def _confirmation(request, customer, *, title, intro, stops, submit, action, fields) -> HttpResponse:
    """The step before a change that makes something stop working: says what, posts again confirmed."""
    return render(request, "customers/confirm.html", {
        "customer": customer, "section": "subscriptions", "title": title, "intro": intro, "stops": stops,
        "submit_label": submit, "action": action, "fields": fields,
        "cancel_url": reverse("customers:subscriptions", args=[customer.tenant_id]),
    })


@require_POST
def subscription_status(request: HttpRequest, tenant_id: UUID, subscription_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    subscription = get_object_or_404(customer.subscriptions, subscription_id=subscription_id)
    form = SubscriptionStatusForm(request.POST)
    if not form.is_valid():
        require_manager(request)
        messages.error(request, _("Choose whether to suspend or reactivate the subscription."))
        return redirect("customers:subscriptions", customer.tenant_id)
    status = form.cleaned_data["status"]
    # Only those who may suspend are asked; anyone else's POST goes on to be refused and logged.
    if (status == Subscription.Status.SUSPENDED and subscription.is_active
            and can_manage_customers(request.user) and not form.cleaned_data["confirmed"]):
        return _confirmation(
            request, customer, title=_("Suspend %(name)s?") % {"name": subscription.friendly_name},
            intro=_("The customer's Azure services on %(name)s stop until you reactivate it.")
            % {"name": subscription.friendly_name},
            stops=permissions_that_would_stop(
                customer, readiness_without(customer, subscription=subscription)),
            submit=_("Suspend"), action=request.path, fields={"status": status},
        )
    try:
        changed = services.set_subscription_status(
            actor=request.user, subscription=subscription, status=status, origin=Origin.from_request(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if changed:
            messages.success(request, _("%(name)s is now %(status)s.") % {
                "name": subscription.friendly_name,
                "status": subscription.get_status_display().lower()})
    return redirect("customers:subscriptions", customer.tenant_id)


@require_http_methods(["GET", "POST"])
def role_grant(request: HttpRequest, tenant_id: UUID, subscription_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    subscription = get_object_or_404(customer.subscriptions, subscription_id=subscription_id)
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
    require_manager(request)
    return _form_page(
        request, customer, form, title=_("Grant a role on %(name)s") % {"name": subscription},
        submit=_("Grant role"), section="subscriptions",
        cancel=reverse("customers:subscriptions", args=[customer.tenant_id]),
        intro=_("Customers need the Owner role on an Azure subscription to buy reservations "
                "and savings plans for it."),
    )


@require_POST
def role_remove(request: HttpRequest, tenant_id: UUID, assignment_id: int) -> HttpResponse:
    customer = get_customer(tenant_id)
    assignment = get_object_or_404(
        RoleAssignment.objects.select_related("subscription__customer", "customer_user"),
        pk=assignment_id, subscription__customer=customer,
    )
    confirm = ConfirmForm(request.POST)
    confirmed = confirm.is_valid() and confirm.cleaned_data["confirmed"]
    if can_manage_customers(request.user) and not confirmed:
        after = readiness_without(customer, assignment=assignment)
        if after.has_azure_subscription and not after.has_owner:  # the last Owner on an active plan
            names = {"user": assignment.customer_user.display_name, "role": assignment.get_role_display(),
                     "subscription": assignment.subscription.friendly_name}
            return _confirmation(
                request, customer, title=_("Remove the last Owner?"),
                intro=_("%(user)s is the last customer user with the Owner role on an active Azure "
                        "subscription. Without an Owner, nobody at the customer can buy reservations or "
                        "savings plans, or manage %(subscription)s.") % names,
                stops=permissions_that_would_stop(customer, after),
                submit=_("Remove the %(role)s role of %(user)s") % names, action=request.path, fields={},
            )
    if services.remove_role(actor=request.user, assignment=assignment,
                            origin=Origin.from_request(request)):
        messages.success(request, _("%(user)s no longer has the %(role)s role on %(subscription)s.")
                         % {"user": assignment.customer_user.display_name,
                            "role": assignment.get_role_display(),
                            "subscription": assignment.subscription.friendly_name})
    return redirect("customers:subscriptions", customer.tenant_id)


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
    require_manager(request)
    return _form_page(request, customer, form, title=_("Add a user"), submit=_("Add user"),
                      section="users",
                      cancel=reverse("customers:users", args=[customer.tenant_id]))
