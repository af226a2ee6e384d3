import csv
from collections.abc import Iterator
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from activitylog.services import Origin
from customers.models import Customer
from portal.csv_export import QUOTING
from portal.csv_export import cell as csv_cell

from . import selectors, services
from .forms import CostVisibilityForm, NotificationPreferenceForm, PurchaseFilterForm, PurchaseLimitForm
from .models import NotificationPreference
from .policies import can_manage_purchase_settings, can_view_purchases

PAGE_SIZE = 50


def _customer(request: HttpRequest, tenant_id: UUID) -> Customer:
    if not can_view_purchases(request.user):
        raise PermissionDenied
    return get_object_or_404(Customer, tenant_id=tenant_id)


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


@require_GET
def order_history(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = _customer(request, tenant_id)
    return render(request, "purchases/order_history.html", {
        "customer": customer, "section": "orders", "page": _page(request, selectors.orders(customer))})


@require_GET
def reservations(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = _customer(request, tenant_id)
    return render(request, "purchases/reservations.html", {
        "customer": customer, "section": "reservations",
        "page": _page(request, selectors.reservations(customer))})


@require_GET
def savings_plans(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = _customer(request, tenant_id)
    return render(request, "purchases/savings_plans.html", {
        "customer": customer, "section": "savings_plans",
        "page": _page(request, selectors.savings_plans(customer))})


@require_GET
def customer_purchases(request: HttpRequest) -> HttpResponse:
    if not can_view_purchases(request.user):
        raise PermissionDenied
    form = PurchaseFilterForm(request.GET or None)
    rows, older = [], None
    if form.is_bound and not form.is_valid():
        return render(request, "purchases/customer_purchases.html", {"form": form, "rows": []}, status=400)
    queryset = form.filter(selectors.purchases()) if form.is_bound else selectors.purchases()
    rows = list(selectors.keyset(queryset, request.GET.get("before"))[:PAGE_SIZE + 1])
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        params = request.GET.copy()
        params["before"] = selectors.cursor(rows[-1])
        older = params.urlencode()
    params = request.GET.copy()
    params.pop("before", None)
    totals = selectors.twelve_month_totals({row.customer_id for row in rows})
    customers = {row.customer_id: row.customer for row in rows}
    return render(request, "purchases/customer_purchases.html", {
        "form": form, "rows": rows, "older_query": older, "export_query": params.urlencode(),
        "totals": [(customers[pk], items) for pk, items in totals.items()],
        "first_page": bool(request.GET.get("before"))})


EXPORT_COLUMNS = [
    (gettext_lazy("Purchased (UTC)"), lambda p: p.purchased_at.strftime("%Y-%m-%d %H:%M:%S")),
    (gettext_lazy("Customer"), lambda p: p.customer.company_name),
    (gettext_lazy("Customer tenant id"), lambda p: str(p.customer.tenant_id)),
    (gettext_lazy("Kind"), lambda p: p.get_kind_display()),
    (gettext_lazy("Product"), lambda p: p.product),
    (gettext_lazy("Quantity"), lambda p: str(p.quantity)),
    (gettext_lazy("Term"), lambda p: p.term),
    (gettext_lazy("Billing plan"), lambda p: p.billing_plan),
    (gettext_lazy("Commitment"), lambda p: "" if p.commitment is None else str(p.commitment)),
    (gettext_lazy("Currency"), lambda p: p.currency_code),
    (gettext_lazy("Bought by"), lambda p: p.buyer),
    (gettext_lazy("Partner Center order"), lambda p: p.partner_center_order_id or ""),
    (gettext_lazy("Azure order"), lambda p: p.azure_order_id or ""),
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(queryset) -> Iterator[str]:
    writer = csv.writer(_Echo(), quoting=QUOTING)
    yield "\ufeff" + writer.writerow([str(header) for header, _value in EXPORT_COLUMNS])
    for purchase in queryset.iterator(chunk_size=2000):
        yield writer.writerow([csv_cell(value(purchase)) for _header, value in EXPORT_COLUMNS])


@require_GET
def customer_purchases_export(request: HttpRequest) -> HttpResponse:
    if not can_view_purchases(request.user):
        raise PermissionDenied
    form = PurchaseFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "purchases/customer_purchases.html", {"form": form, "rows": []}, status=400)
    queryset = form.filter(selectors.purchases()) if form.is_bound else selectors.purchases()
    filename = f"customer-purchases-{timezone.now():%Y%m%d-%H%M%S}.csv"
    return StreamingHttpResponse(_csv_rows(queryset), content_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The agent's own page: "Tell me when a customer buys"."""
    preference = NotificationPreference.objects.filter(agent=request.user).first()
    initial = {"notify_purchases": bool(preference and preference.notify_purchases)}
    form = NotificationPreferenceForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.set_notification_preference(agent=request.user,
                                             notify_purchases=form.cleaned_data["notify_purchases"])
        messages.success(request, _("Your notification choice is saved."))
        return redirect("purchases:profile")
    return render(request, "purchases/profile.html", {"form": form})


@require_POST
def purchase_limit(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_object_or_404(Customer, tenant_id=tenant_id)
    form = PurchaseLimitForm(request.POST)
    origin = Origin.from_request(request)
    if not form.is_valid():
        if not can_manage_purchase_settings(request.user):
            services.set_purchase_limit(actor=request.user, customer=customer, amount=None,
                                        turn_off_at_limit=False, origin=origin)  # refused and logged
        for error in form.errors.values():
            messages.error(request, " ".join(error))
        return redirect("customers:account", tenant_id=customer.tenant_id)
    try:
        changed = services.set_purchase_limit(
            actor=request.user, customer=customer, amount=form.cleaned_data["amount"],
            turn_off_at_limit=form.cleaned_data["turn_off_at_limit"], origin=origin)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if changed:
            messages.success(request, _("The self-purchase limit is saved."))
    return redirect("customers:account", tenant_id=customer.tenant_id)


@require_POST
def cost_visibility(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    customer = get_object_or_404(Customer, tenant_id=tenant_id)
    form = CostVisibilityForm(request.POST)
    allowed = form.cleaned_data["view_charges"] if form.is_valid() else False
    if not form.is_valid() and can_manage_purchase_settings(request.user):
        messages.error(request, _("Choose whether the customer may see its Azure usage costs."))
        return redirect("customers:account", tenant_id=customer.tenant_id)
    if services.set_cost_visibility(actor=request.user, customer=customer, allowed=allowed,
                                    origin=Origin.from_request(request)):
        messages.success(request, _("Cost visibility is saved; it reaches Azure within minutes."))
    return redirect("customers:account", tenant_id=customer.tenant_id)
