"""Pages of the partner's operations: a reservation's and a savings plan's page, refund and exchange
quotes."""

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from activitylog.services import Origin

from . import operations
from .models import Reservation, SavingsPlan
from .operation_forms import (
    ConfirmForm,
    ConfirmRefundForm,
    ExchangeForm,
    NameForm,
    QuantityForm,
    RenewForm,
    ScopeForm,
)
from .operation_models import PartnerOperation
from .operation_policies import can_manage_benefits

Kind = PartnerOperation.Kind


def _reservation(tenant_id: UUID, pk: int) -> Reservation:
    return get_object_or_404(
        Reservation.objects.select_related("order__customer"), pk=pk, order__customer__tenant_id=tenant_id
    )


def _plan(tenant_id: UUID, pk: int) -> SavingsPlan:
    return get_object_or_404(
        SavingsPlan.objects.select_related("order__customer"), pk=pk, order__customer__tenant_id=tenant_id
    )


def _operation(reservation: Reservation, pk, kind: str) -> PartnerOperation:
    return get_object_or_404(PartnerOperation, pk=pk, reservation=reservation, kind=kind)


def _refuse_forged(request: HttpRequest, customer, kind: str, resource_id: str) -> None:
    """A read-only agent's POST is refused and logged as Failed, whatever it holds."""
    if not can_manage_benefits(request.user):
        operations.refuse_unless_admin(
            actor=request.user,
            origin=Origin.from_request(request),
            customer=customer,
            kind=kind,
            resource_id=resource_id,
        )
        raise PermissionDenied


def _report(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _queued(request: HttpRequest, operation) -> None:
    if operation is None:
        messages.info(request, _("Nothing to change."))
    else:
        messages.success(request, _("Sent to Azure. The outcome appears here when Azure confirms it."))


def _history(**target):
    return PartnerOperation.objects.filter(**target).exclude(state=PartnerOperation.State.QUOTED)[:10]


# -------------------------------------------------------------------------------------- reservation
@require_GET
def reservation_detail(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    reservation = _reservation(tenant_id, pk)
    customer = reservation.order.customer
    subscriptions = operations.azure_subscriptions(customer)
    return render(
        request,
        "purchases/operations/reservation.html",
        {
            "customer": customer,
            "section": "reservations",
            "reservation": reservation,
            "can_manage": can_manage_benefits(request.user),
            "pending": operations.pending_operations(reservation=reservation).first(),
            "history": _history(reservation=reservation),
            "allowance": operations.allowance(customer),
            "scope_form": ScopeForm(subscriptions=subscriptions, initial={"scope": "Shared"}),
            "name_form": NameForm(initial={"name": reservation.display_name}),
            "quantity_form": QuantityForm(initial={"quantity": reservation.quantity}),
        },
    )


def _post_update(request: HttpRequest, *, customer, target, kind: str, form, build) -> HttpResponse:
    _refuse_forged(request, customer, kind, getattr(target, "reservation_id", getattr(target, "plan_id", "")))
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    else:
        try:
            _queued(request, build(form))
        except ValidationError as exc:
            _report(request, exc)
    name = "benefits:reservation" if isinstance(target, Reservation) else "benefits:savings_plan"
    return redirect(reverse(name, args=[customer.tenant_id, target.pk]))


def _update_reservation(request, reservation, **changes):
    return operations.update_reservation(
        actor=request.user, reservation=reservation, origin=Origin.from_request(request), **changes
    )


@require_POST
def reservation_scope(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    reservation = _reservation(tenant_id, pk)
    customer = reservation.order.customer
    form = ScopeForm(request.POST, subscriptions=operations.azure_subscriptions(customer))
    return _post_update(
        request,
        customer=customer,
        target=reservation,
        kind=Kind.UPDATE_RESERVATION,
        form=form,
        build=lambda f: _update_reservation(request, reservation, scope=f.scope_value()),
    )


@require_POST
def reservation_name(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    reservation = _reservation(tenant_id, pk)
    return _post_update(
        request,
        customer=reservation.order.customer,
        target=reservation,
        kind=Kind.UPDATE_RESERVATION,
        form=NameForm(request.POST),
        build=lambda f: _update_reservation(request, reservation, name=f.cleaned_data["name"]),
    )


@require_POST
def reservation_renew(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    reservation = _reservation(tenant_id, pk)

    def build(form):
        choice = form.cleaned_data["renew"]
        if choice == "now":
            return _update_reservation(request, reservation, renew_now=True)
        return _update_reservation(request, reservation, renew=choice == "on")

    return _post_update(
        request,
        customer=reservation.order.customer,
        target=reservation,
        kind=Kind.UPDATE_RESERVATION,
        form=RenewForm(request.POST),
        build=build,
    )


# ------------------------------------------------------------------------------------------- refund
@require_POST
def refund_quote_new(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    reservation = _reservation(tenant_id, pk)
    customer = reservation.order.customer
    _refuse_forged(request, customer, Kind.RETURN_RESERVATION, reservation.reservation_id)
    form = QuantityForm(request.POST)
    back = reverse("benefits:reservation", args=[tenant_id, pk])
    if not form.is_valid():
        messages.error(request, _("Enter a quantity of at least 1."))
        return redirect(back)
    try:
        operation = operations.quote_refund(
            actor=request.user,
            reservation=reservation,
            quantity=form.cleaned_data["quantity"],
            origin=Origin.from_request(request),
        )
    except ValidationError as exc:
        _report(request, exc)
        return redirect(back)
    return redirect(reverse("benefits:refund_quote", args=[tenant_id, pk, operation.pk]))


@require_GET
def refund_quote(request: HttpRequest, tenant_id: UUID, pk: int, operation_id: int) -> HttpResponse:
    reservation = _reservation(tenant_id, pk)
    operation = _operation(reservation, operation_id, Kind.RETURN_RESERVATION)
    customer = reservation.order.customer
    allowance = operations.allowance(
        customer, microsoft_used=operations._money(operation.quote.get("consumed"))
    )
    refusal = (
        operations.refund_refusal(operation, allowance)
        if operation.state == PartnerOperation.State.QUOTED
        else None
    )
    return render(
        request,
        "purchases/operations/refund_quote.html",
        {
            "customer": customer,
            "section": "reservations",
            "reservation": reservation,
            "operation": operation,
            "allowance": allowance,
            "refusal": refusal.messages if refusal else [],
            "refund": operations._money(operation.quote.get("refund")),
            "can_manage": can_manage_benefits(request.user),
            "form": ConfirmRefundForm(initial={"operation": operation.pk}),
        },
    )


@require_POST
def refund_confirm(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    reservation = _reservation(tenant_id, pk)
    customer = reservation.order.customer
    _refuse_forged(request, customer, Kind.RETURN_RESERVATION, reservation.reservation_id)
    form = ConfirmRefundForm(request.POST)
    back = reverse("benefits:reservation", args=[tenant_id, pk])
    if not form.is_valid():
        messages.error(request, _("Ask for a quote first."))
        return redirect(back)
    operation = _operation(reservation, form.cleaned_data["operation"], Kind.RETURN_RESERVATION)
    origin = Origin.from_request(request)
    try:
        operations.confirm_refund(
            actor=request.user, operation=operation, reason=form.cleaned_data["reason"], origin=origin
        )
    except operations.QuoteExpired as exc:
        _report(request, exc)
        try:
            fresh = operations.quote_refund(
                actor=request.user,
                reservation=reservation,
                quantity=operation.quote.get("quantity") or 1,
                origin=origin,
            )
        except ValidationError as again:
            _report(request, again)
            return redirect(back)
        return redirect(reverse("benefits:refund_quote", args=[tenant_id, pk, fresh.pk]))
    except ValidationError as exc:
        _report(request, exc)
        return redirect(reverse("benefits:refund_quote", args=[tenant_id, pk, operation.pk]))
    messages.success(
        request, _("The return was sent to Azure. The outcome appears here when Azure confirms it.")
    )
    return redirect(back)


# ----------------------------------------------------------------------------------------- exchange
@require_http_methods(["GET", "POST"])
def exchange_new(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    reservation = _reservation(tenant_id, pk)
    customer = reservation.order.customer
    if request.method == "POST":
        _refuse_forged(request, customer, Kind.EXCHANGE_RESERVATION, reservation.reservation_id)
    elif not can_manage_benefits(request.user):
        raise PermissionDenied
    form = ExchangeForm(
        request.POST if request.method == "POST" else None,
        initial={
            "quantity": reservation.quantity,
            "term": reservation.order.term or "P1Y",
            "buy": "savings_plan",
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            operation = operations.quote_exchange(
                actor=request.user,
                reservation=reservation,
                quantity=form.cleaned_data["quantity"],
                purchase=form.purchase(),
                origin=Origin.from_request(request),
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            return redirect(reverse("benefits:exchange_quote", args=[tenant_id, pk, operation.pk]))
    return render(
        request,
        "purchases/operations/exchange.html",
        {"customer": customer, "section": "reservations", "reservation": reservation, "form": form},
    )


@require_GET
def exchange_quote(request: HttpRequest, tenant_id: UUID, pk: int, operation_id: int) -> HttpResponse:
    reservation = _reservation(tenant_id, pk)
    operation = _operation(reservation, operation_id, Kind.EXCHANGE_RESERVATION)
    quote = operation.quote
    return render(
        request,
        "purchases/operations/exchange_quote.html",
        {
            "customer": reservation.order.customer,
            "section": "reservations",
            "reservation": reservation,
            "operation": operation,
            "policy_errors": quote.get("policyErrors") or [],
            "net_payable": operations._money(quote.get("netPayable")),
            "refunds_total": operations._money(quote.get("refundsTotal")),
            "purchases_total": operations._money(quote.get("purchasesTotal")),
            "can_manage": can_manage_benefits(request.user),
            "form": ConfirmForm(initial={"operation": operation.pk}),
        },
    )


@require_POST
def exchange_confirm(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    reservation = _reservation(tenant_id, pk)
    customer = reservation.order.customer
    _refuse_forged(request, customer, Kind.EXCHANGE_RESERVATION, reservation.reservation_id)
    form = ConfirmForm(request.POST)
    back = reverse("benefits:reservation", args=[tenant_id, pk])
    if not form.is_valid():
        messages.error(request, _("Ask for a quote first."))
        return redirect(back)
    operation = _operation(reservation, form.cleaned_data["operation"], Kind.EXCHANGE_RESERVATION)
    try:
        operations.confirm_exchange(
            actor=request.user, operation=operation, origin=Origin.from_request(request)
        )
    except operations.QuoteExpired as exc:
        _report(request, exc)
        return redirect(reverse("benefits:exchange_new", args=[tenant_id, pk]))
    except ValidationError as exc:
        _report(request, exc)
        return redirect(reverse("benefits:exchange_quote", args=[tenant_id, pk, operation.pk]))
    messages.success(
        request, _("The exchange was sent to Azure. The outcome appears here when Azure confirms it.")
    )
    return redirect(back)


# ------------------------------------------------------------------------------------- savings plan
@require_GET
def savings_plan_detail(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    plan = _plan(tenant_id, pk)
    customer = plan.order.customer
    return render(
        request,
        "purchases/operations/savings_plan.html",
        {
            "customer": customer,
            "section": "savings_plans",
            "plan": plan,
            "can_manage": can_manage_benefits(request.user),
            "pending": operations.pending_operations(savings_plan=plan).first(),
            "history": _history(savings_plan=plan),
            "scope_form": ScopeForm(
                subscriptions=operations.azure_subscriptions(customer), initial={"scope": "Shared"}
            ),
            "name_form": NameForm(initial={"name": plan.display_name}),
        },
    )


def _update_plan(request, plan, **changes):
    return operations.update_savings_plan(
        actor=request.user, plan=plan, origin=Origin.from_request(request), **changes
    )


@require_POST
def savings_plan_scope(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    plan = _plan(tenant_id, pk)
    customer = plan.order.customer
    form = ScopeForm(request.POST, subscriptions=operations.azure_subscriptions(customer))
    return _post_update(
        request,
        customer=customer,
        target=plan,
        kind=Kind.UPDATE_SAVINGS_PLAN,
        form=form,
        build=lambda f: _update_plan(request, plan, scope=f.scope_value()),
    )


@require_POST
def savings_plan_name(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    plan = _plan(tenant_id, pk)
    return _post_update(
        request,
        customer=plan.order.customer,
        target=plan,
        kind=Kind.UPDATE_SAVINGS_PLAN,
        form=NameForm(request.POST),
        build=lambda f: _update_plan(request, plan, name=f.cleaned_data["name"]),
    )


@require_POST
def savings_plan_renew(request: HttpRequest, tenant_id: UUID, pk: int) -> HttpResponse:
    plan = _plan(tenant_id, pk)

    def build(form):
        if form.cleaned_data["renew"] == "now":
            raise ValidationError(_("Turn auto-renew on: a savings plan renews when it ends."), code="renew")
        return _update_plan(request, plan, renew=form.cleaned_data["renew"] == "on")

    return _post_update(
        request,
        customer=plan.order.customer,
        target=plan,
        kind=Kind.UPDATE_SAVINGS_PLAN,
        form=RenewForm(request.POST),
        build=build,
    )
