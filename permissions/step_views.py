"""The readiness steps' pages: each form asks Microsoft (through the outbox), never writes the mirror."""

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from activitylog.models import Action, ResourceType
from activitylog.services import Origin
from customers.views import _form_page, add_errors, get_customer, posted, require_manager

from . import steps
from .step_forms import AzurePlanOrderForm, CustomerUserRequestForm, RoleRequestForm

WAITING = gettext_lazy("Sent to Microsoft: the page shows it as waiting until Microsoft confirms.")


@require_http_methods(["GET", "POST"])
def subscription_buy(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    form = AzurePlanOrderForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            steps.request_azure_plan(actor=request.user, customer=customer,
                                     origin=Origin.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Azure plan ordered in Partner Center.") + " " + str(WAITING))
            return redirect("customers:subscriptions", customer.tenant_id)
    require_manager(request, Action.CREATE_ORDER, ResourceType.SUBSCRIPTION, customer)
    return _form_page(
        request, customer, form, title=_("Buy an Azure plan"), submit=_("Buy Azure plan"),
        section="subscriptions", cancel=reverse("customers:subscriptions", args=[customer.tenant_id]),
        intro=_("The order is placed in Partner Center. The subscription is usage-based: the customer's "
                "Azure consumption is billed to you each month."))


@require_http_methods(["GET", "POST"])
def role_grant(request: HttpRequest, tenant_id: UUID, subscription_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    subscription = get_object_or_404(customer.subscriptions, subscription_id=subscription_id)
    form = RoleRequestForm(posted(request), subscription=subscription)
    if request.method == "POST" and form.is_valid():
        try:
            steps.request_role(actor=request.user, origin=Origin.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Role assignment sent to Azure.") + " " + str(WAITING))
            return redirect("customers:subscriptions", customer.tenant_id)
    require_manager(request, Action.CREATE_ROLE_ASSIGNMENT, ResourceType.ROLE_ASSIGNMENT, customer)
    intro = _("Customers need the Owner role on an Azure subscription to buy reservations "
              "and savings plans for it. The role is created in Azure, in the customer's tenant.")
    if not form.fields["azure_subscription"].queryset.exists():
        intro = _("Microsoft lists no active Azure subscription in %(name)s yet. Sync the customer, then "
                  "grant the role.") % {"name": subscription}
    return _form_page(
        request, customer, form, title=_("Grant a role on %(name)s") % {"name": subscription},
        submit=_("Grant role"), section="subscriptions",
        cancel=reverse("customers:subscriptions", args=[customer.tenant_id]), intro=intro)


@require_http_methods(["GET", "POST"])
def user_add(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    form = CustomerUserRequestForm(posted(request), customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            steps.request_customer_user(actor=request.user, customer=customer,
                                        origin=Origin.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("User sent to Partner Center.") + " " + str(WAITING))
            return redirect("customers:users", customer.tenant_id)
    require_manager(request, Action.ADD_CUSTOMER_USER, ResourceType.CUSTOMER_USER, customer)
    return _form_page(request, customer, form, title=_("Add a user"), submit=_("Add user"),
                      section="users", cancel=reverse("customers:users", args=[customer.tenant_id]),
                      intro=_("The user is created in the customer's tenant through Partner Center, with a "
                              "temporary password the customer's administrator resets."))
