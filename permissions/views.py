"""A customer's Account page: its details, readiness and purchase permissions, and their edit form."""

from uuid import UUID

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from activitylog.services import Origin
from customers.models import Customer
from customers.policies import can_manage_customers
from customers.views import posted

from .forms import PurchasePermissionsForm
from .models import Resource
from .policies import can_change_purchase_permissions
from .selectors import PurchasePermissionState, customer_account, readiness_of
from .services import set_purchase_permissions


def get_customer_account(tenant_id: UUID) -> Customer:
    """The customer with everything its Account page shows, in one query."""
    customer = customer_account(tenant_id)
    if customer is None:
        raise Http404
    return customer


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
        # Sync now (the Microsoft connection's form, by URL name): Admin agents, as every customer write.
        "can_sync": can_manage_customers(request.user),
    }


@require_GET
def account(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer_account(tenant_id)
    return render(request, "customers/account.html", account_context(request, customer))


# Issue 12: allowing states the liability first. The second step's form carries a signed confirmation of
# exactly what is being allowed, for this customer and this agent, for a quarter of an hour: a POST that
# skips the step (or changes the choices after it) is shown the step again and changes nothing.
CONFIRMATION_SALT = "permissions.allow-confirmation"
CONFIRMATION_MAX_AGE = 15 * 60


def _confirmation(request: HttpRequest, customer: Customer, turning_on: list[str]) -> str:
    return signing.dumps({"customer": str(customer.tenant_id), "agent": request.user.pk,
                          "allow": sorted(turning_on)}, salt=CONFIRMATION_SALT)


def _confirmed(request: HttpRequest, customer: Customer, turning_on: list[str]) -> bool:
    try:
        data = signing.loads(request.POST.get("confirmation", ""), salt=CONFIRMATION_SALT,
                             max_age=CONFIRMATION_MAX_AGE)
    except signing.BadSignature:
        return False
    return data == {"customer": str(customer.tenant_id), "agent": request.user.pk,
                    "allow": sorted(turning_on)}


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    """The Account page with its Customer Permissions box open for editing."""
    customer = get_customer_account(tenant_id)
    context = account_context(request, customer)
    form = PurchasePermissionsForm(posted(request), states=context["permission_states"])
    if request.method == "POST" and form.is_valid() and context["can_change_permissions"]:
        states = {state.resource: state.allowed for state in context["permission_states"]}
        turning_on = [res for res, allow in form.allowed().items() if allow and not states.get(res)]
        if turning_on and context["readiness"].ready and not _confirmed(request, customer, turning_on):
            return render(request, "permissions/confirm_allow.html", {
                **context, "choices": form.cleaned_data, "turning_on": turning_on,
                "turning_on_labels": [Resource(res).label for res in turning_on],
                "confirmation": _confirmation(request, customer, turning_on)})
    if request.method == "POST" and (form.is_valid() or not context["can_change_permissions"]):
        try:
            # A read-only agent's POST is refused by the service, and logged, whatever it holds.
            changed = set_purchase_permissions(
                actor=request.user, customer=customer, origin=Origin.from_request(request),
                allowed=form.allowed() if form.is_valid() else form.asked(),
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            if changed:
                messages.success(request, _("Customer permissions saved for %(customer)s.")
                                 % {"customer": customer})
            else:
                messages.info(request, _("Nothing changed: the permissions were already set that way."))
            return redirect("customers:account", customer.tenant_id)
    if not context["can_change_permissions"]:
        raise PermissionDenied
    return render(request, "customers/account.html", {**context, "permissions_form": form},
                  status=400 if form.errors else 200)
