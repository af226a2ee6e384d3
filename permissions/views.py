"""A customer's Account page (its details, readiness and purchase permissions, and their edit form), and
the Access review of every customer with a permission allowed."""

import csv
from functools import cached_property
from uuid import UUID

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from activitylog.models import Action, ResourceType, label_of
from activitylog.services import Origin
from customers import services as customer_services
from customers.forms import ConfirmForm, SubscriptionStatusForm
from customers.models import Customer, RoleAssignment, Subscription
from customers.policies import can_manage_customers
from customers.selectors import customers_found
from customers.views import CUSTOMERS_PER_PAGE, get_customer, posted, require_manager
from portal.csv_export import QUOTING, Echo, cell, streamed_csv

from . import review_columns, services
from .forms import AccessReviewFilterForm, CustomerListForm, MarkReviewedForm, PurchasePermissionsForm
from .models import PurchasePermission, Resource
from .policies import CHANGE_REFUSED, REVIEW_REFUSED, can_change_purchase_permissions, can_review_access
from .selectors import (
    PurchasePermissionState,
    customer_account,
    partner_center_state,
    permissions_that_would_stop,
    readiness_of,
    readiness_without,
    with_permissions,
    with_readiness,
)
from .services import accept_partner_center, apply_portal_setting, retry_push, set_purchase_permissions


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
        # Where the policy stands in Partner Center: applied, waiting, not applied, drift (issue 11).
        "partner_center": partner_center_state(customer),
        # Read-only roles see the missing steps as text: the pages that fix them would refuse them.
        "can_fix_readiness": can_manage_customers(request.user),
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


def _allow_confirmation(request: HttpRequest, customer: Customer, turning_on: list[str]) -> str:
    return signing.dumps({"customer": str(customer.tenant_id), "agent": request.user.pk,
                          "allow": sorted(turning_on)}, salt=CONFIRMATION_SALT)


def _allow_confirmed(request: HttpRequest, customer: Customer, turning_on: list[str]) -> bool:
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
    form = PurchasePermissionsForm(posted(request), states=context["permission_states"],
                                   ready=context["readiness"].ready)
    if request.method == "POST" and form.is_valid() and context["can_change_permissions"]:
        states = {state.resource: state.allowed for state in context["permission_states"]}
        turning_on = [res for res, allow in form.allowed().items() if allow and not states.get(res)]
        if turning_on and context["readiness"].ready and not _allow_confirmed(request, customer, turning_on):
            return render(request, "permissions/confirm_allow.html", {
                **context, "choices": form.cleaned_data, "turning_on": turning_on,
                "turning_on_labels": [Resource(res).label for res in turning_on],
                "confirmation": _allow_confirmation(request, customer, turning_on)})
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
        raise PermissionDenied(CHANGE_REFUSED)
    return render(request, "customers/account.html", {**context, "permissions_form": form},
                  status=400 if form.errors else 200)


def _policy_action(service, done_message):
    @require_POST
    def view(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
        customer = get_customer_account(tenant_id)
        try:
            # A read-only agent is refused, and logged, by the service.
            service(actor=request.user, customer=customer, origin=Origin.from_request(request))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, done_message())
        return redirect("customers:account", customer.tenant_id)
    return view


retry = _policy_action(retry_push, lambda: _("The change is queued again for Partner Center."))
apply_portal = _policy_action(apply_portal_setting,
                              lambda: _("The portal's setting is on its way to Partner Center."))
accept_partner_center_view = _policy_action(
    accept_partner_center, lambda: _("Partner Center's setting is now the portal's."))


REVIEW_PAGE_SIZE = 50


def require_reviewer(request: HttpRequest) -> None:
    if not can_review_access(request.user):
        raise PermissionDenied(REVIEW_REFUSED)


def reviewed_customers(form: AccessReviewFilterForm):
    """Every customer with a permission allowed, as the filters narrow them, in name order."""
    customers = form.filter(with_readiness(Customer.objects.all()))
    return (customers.select_related("access_review__reviewed_by")
            .prefetch_related(Prefetch("purchase_permissions",
                                       queryset=PurchasePermission.objects.select_related("granted_by")
                                       .order_by("resource")))
            .by_name())


class ReviewRow:
    """One customer on the access review: its allowed permissions, readiness and last review.

    The row's sentences are made here, in Python: three {% blocktranslate %} per row were most of the
    page's time.
    """

    def __init__(self, customer: Customer, extra: list | None = None):
        self.customer = customer
        self.permissions = list(customer.purchase_permissions.all())
        self.readiness = readiness_of(customer)
        self.review = getattr(customer, "access_review", None)
        # What the columns of other apps read for this customer (review_columns), one value each.
        self.extra = extra or [None] * len(review_columns.columns())

    @property
    def extra_cells(self) -> list[str]:
        return [column.page_cell(value) for column, value in zip(review_columns.columns(), self.extra,
                                                                  strict=True)]

    @cached_property
    def allowed(self) -> list[tuple[str, str]]:
        return [(label_of(Resource, permission.resource), _("since %(when)s, by %(who)s") % {
            "when": date_format(permission.granted_at, "SHORT_DATETIME_FORMAT"),
            "who": permission.granted_by.email}) for permission in self.permissions]

    @property
    def select_label(self) -> str:
        return _("Select %(name)s") % {"name": self.customer.company_name}

    @property
    def mark_label(self) -> str:
        return format_html('{}<span class="visually-hidden">: {}</span>', _("Mark reviewed"),
                           self.customer.company_name)


@require_GET
def access_review(request: HttpRequest) -> HttpResponse:
    require_reviewer(request)
    form = AccessReviewFilterForm(request.GET)
    page, rows = None, []
    if form.is_valid():
        page = Paginator(reviewed_customers(form), REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
        rows = _review_rows(page.object_list)
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "permissions/access_review.html", {
        "form": form, "page": page, "rows": rows, "page_query": params.urlencode(),
        "extra_headers": [column.header for column in review_columns.columns()],
    }, status=200 if form.is_valid() else 400)


def _review_rows(customers) -> list[ReviewRow]:
    """The rows for these customers, each other app's column read for all of them in one query."""
    customers = list(customers)
    extra = review_columns.read(customers)
    return [ReviewRow(customer, extra[customer.pk]) for customer in customers]


def _review_cells(row: ReviewRow) -> list:
    review = row.review
    return [
        row.customer.company_name, str(row.customer.tenant_id),
        "; ".join(f"{allowed.get_resource_display()} ({allowed.resource})" for allowed in row.permissions),
        "; ".join(allowed.granted_at.strftime("%Y-%m-%d %H:%M:%S") for allowed in row.permissions),
        "; ".join(allowed.granted_by.email for allowed in row.permissions),
        _("Ready") if row.readiness.ready else _("Not ready"),
        " ".join(str(step.missing) for step in row.readiness.missing_steps),
        review.reviewed_at.strftime("%Y-%m-%d %H:%M:%S") if review else "",
        review.reviewed_by.email if review else "",
        *[cell_of(value) for column, value in zip(review_columns.columns(), row.extra, strict=True)
          for _header, cell_of in column.export],
    ]


REVIEW_COLUMNS = [
    gettext_lazy("Customer"), gettext_lazy("Microsoft ID"), gettext_lazy("Allowed permissions"),
    gettext_lazy("Allowed since (UTC)"), gettext_lazy("Allowed by"), gettext_lazy("Readiness"),
    gettext_lazy("Why not ready"), gettext_lazy("Last reviewed (UTC)"), gettext_lazy("Reviewed by"),
]


def review_headers() -> list:
    return [*REVIEW_COLUMNS,
            *[header for column in review_columns.columns() for header, _cell in column.export]]


EXPORT_CHUNK = 500


def _export_lines(writer, customers: list):
    """A chunk of customers as CSV lines, the other apps' columns read once for the chunk."""
    for row in _review_rows(customers):
        yield writer.writerow([cell(value) for value in _review_cells(row)])


@require_GET
def access_review_export(request: HttpRequest) -> HttpResponse:
    """The filtered access review as CSV, streamed a row at a time in the reader's language."""
    require_reviewer(request)
    form = AccessReviewFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "permissions/access_review.html", {"form": form, "rows": []}, status=400)
    customers = reviewed_customers(form)

    def rows():
        writer = csv.writer(Echo(), quoting=QUOTING)
        yield "\ufeff" + writer.writerow([str(header) for header in review_headers()])
        chunk = []
        for customer in customers.iterator(chunk_size=EXPORT_CHUNK):
            chunk.append(customer)
            if len(chunk) == EXPORT_CHUNK:
                yield from _export_lines(writer, chunk)
                chunk = []
        yield from _export_lines(writer, chunk)

    return streamed_csv(rows(), "access-review")


@require_POST
def mark_reviewed(request: HttpRequest) -> HttpResponse:
    """Sign off one customer or the ticked ones; back to the same filtered page."""
    form = MarkReviewedForm(request.POST)
    back = reverse("permissions:access_review") + _safe_query(request.POST.get("next", ""))
    if not form.is_valid():
        require_reviewer(request)
        for error in form.errors.get("__all__", []) + form.errors.get("selected", []):
            messages.error(request, error)
        return redirect(back)
    customers = list(Customer.objects.filter(tenant_id__in=form.tenant_ids()))
    reviewed = services.mark_reviewed(actor=request.user, customers=customers,
                                      origin=Origin.from_request(request))
    messages.success(request, ngettext(
        "%(count)d customer marked as reviewed.", "%(count)d customers marked as reviewed.", len(reviewed),
    ) % {"count": len(reviewed)})
    return redirect(back)


def _safe_query(query: str) -> str:
    """Only a query string of the review's own filters goes back into the redirect."""
    params = QueryDict(query.lstrip("?")).copy()
    kept = QueryDict(mutable=True)
    for key in ("permission", "readiness", "not_reviewed_since", "page"):
        if key in params:
            kept[key] = params[key]
    return f"?{kept.urlencode()}" if kept else ""


# The customer list and the two writes that can make permissions stop working live here, beside the
# Account page: they show readiness and purchase permissions, which the customers app does not know.

@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerListForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    customers = with_permissions(with_readiness(customers_found(query)))
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


def _confirmation(request, customer, *, title, intro, stops, submit, fields) -> HttpResponse:
    """The step before a change that makes something stop working: says what, posts again confirmed."""
    return render(request, "customers/confirm.html", {
        "customer": customer, "section": "subscriptions", "title": title, "intro": intro, "stops": stops,
        "submit_label": submit, "action": request.path, "fields": fields,
        "cancel_url": reverse("customers:subscriptions", args=[customer.tenant_id]),
    })


@require_POST
def subscription_status(request: HttpRequest, tenant_id: UUID, subscription_id: UUID) -> HttpResponse:
    customer = get_customer(tenant_id)
    subscription = get_object_or_404(customer.subscriptions, subscription_id=subscription_id)
    form = SubscriptionStatusForm(request.POST)
    if not form.is_valid():
        require_manager(request, Action.UPDATE_SUBSCRIPTION, ResourceType.SUBSCRIPTION, customer)
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
            submit=_("Suspend"), fields={"status": status},
        )
    try:
        changed = customer_services.set_subscription_status(
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


@require_POST
def role_remove(request: HttpRequest, tenant_id: UUID, assignment_id: int) -> HttpResponse:
    customer = get_customer(tenant_id)
    assignment = get_object_or_404(
        RoleAssignment.objects.select_related("subscription__customer", "customer_user"),
        pk=assignment_id, subscription__customer=customer,
        # One brought in from Azure is removed in Azure (the next sync removes it here).
        azure_subscription__isnull=True,
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
                submit=_("Remove the %(role)s role of %(user)s") % names, fields={},
            )
    if customer_services.remove_role(actor=request.user, assignment=assignment,
                                     origin=Origin.from_request(request)):
        messages.success(request, _("%(user)s no longer has the %(role)s role on %(subscription)s.")
                         % {"user": assignment.customer_user.display_name,
                            "role": assignment.get_role_display(),
                            "subscription": assignment.subscription.friendly_name})
    return redirect("customers:subscriptions", customer.tenant_id)
