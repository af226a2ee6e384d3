"""The partner's help with what a customer bought (issue 13): change scope, rename, renew, refund, exchange.

Each operation is one role-checked service (Admin agents only; a refusal is logged as Failed). A service
never calls Azure inside its transaction: it records a PartnerOperation (a quote, or a change waiting to be
sent) and hands it to the outbox, whose worker sends it (`apply`), follows Azure's long-running answer to
the end and only then (`settled`) changes the mirror and writes the operation's one activity log entry,
in Azure's words, with the quote (or the values before) as the old value and Azure's result as the new one.

Refunds: Microsoft's allowance is USD 50,000 of cancelled commitment per customer in a rolling 12 months,
exchanges not counted. The portal takes the larger of Microsoft's `policyResult.consumedRefundsTotal` and
its own record of returns, adds the returns it has sent that Azure has not finished, and refuses up front a
return that would cross the limit. The check runs under the customer's row lock, so two returns at once
cannot both pass it.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activitylog.models import Action, ResourceType, Source, Status
from activitylog.services import Origin, audited, record
from customers.models import AzureSubscription, Customer
from customers.services import lock_customer
from microsoft.client import (
    CredentialsRefused,
    MalformedResponse,
    MicrosoftClient,
    MicrosoftError,
    Stats,
    ThrottledError,
    UnavailableError,
    new_session,
)
from microsoft.credentials import mark_needs_reconnecting
from microsoft.reservations import Operation, Reservations, reservation_id
from microsoft.tokens import Tokens
from outbox.models import OutboxChange
from outbox.services import enqueue
from outbox.worker import Applied, Blocked, PollLater, Refused, Retry, register_handler, remember
from portal.models import Agent

from .models import Reservation, SavingsPlan
from .operation_models import PartnerOperation
from .operation_policies import CLOSED_STATES, MANAGE_REFUSED, REFUND_LIMIT_USD, can_manage_benefits

logger = logging.getLogger(__name__)
Kind, State = PartnerOperation.Kind, PartnerOperation.State
ACTIONS = {
    Kind.UPDATE_RESERVATION: Action.UPDATE_RESERVATION,
    Kind.RETURN_RESERVATION: Action.RETURN_RESERVATION,
    Kind.EXCHANGE_RESERVATION: Action.EXCHANGE_RESERVATION,
    Kind.UPDATE_SAVINGS_PLAN: Action.UPDATE_SAVINGS_PLAN,
}
SCOPES = ("Single", "ResourceGroup", "Shared", "ManagementGroup")
RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,90}$")
MANAGEMENT_GROUP = re.compile(r"^[-\w._()]{1,90}$")
TERMS = ("P1Y", "P3Y", "P5Y")
MANAGEMENT_GROUP_ID = "/providers/Microsoft.Management/managementGroups/{}"


def quote_lifetime() -> timedelta:
    """How long the portal trusts a quote's session. Microsoft does not document it: kept short."""
    return timedelta(seconds=settings.PARTNER_QUOTE_LIFETIME_SECONDS)


class QuoteExpired(ValidationError):
    """The quote is too old to confirm: the page asks Microsoft for a fresh one."""


# --------------------------------------------------------------------------------------- helpers
def benefits_client(customer: Customer) -> Reservations:
    stats = Stats()
    session = new_session(stats)
    return Reservations(
        MicrosoftClient(tokens=Tokens(session=session), stats=stats, session=session), str(customer.tenant_id)
    )


def _require_admin(actor: Agent) -> None:
    if not can_manage_benefits(actor):
        raise PermissionDenied(MANAGE_REFUSED)


def refuse_unless_admin(
    *, actor: Agent, origin: Origin, customer: Customer, kind: str, resource_id: str = ""
) -> None:
    """The role check for a forged POST whose data did not validate: refused and logged as the service."""
    with audited(
        actor=actor,
        origin=origin,
        customer=customer,
        action=ACTIONS[kind],
        resource_type=_resource_type(kind),
        resource_id=resource_id,
    ):
        _require_admin(actor)


def _resource_type(kind: str) -> str:
    return ResourceType.SAVINGS_PLAN if kind == Kind.UPDATE_SAVINGS_PLAN else ResourceType.RESERVATION


def _origin_json(origin: Origin) -> dict:
    return {
        "source": origin.source,
        "request_id": origin.request_id,
        "correlation_id": origin.correlation_id,
        "client_ip": origin.client_ip,
    }


def _microsoft_refusal(exc: MicrosoftError) -> ValidationError:
    return ValidationError(
        _("Microsoft refused it: %(reason)s"), code="microsoft", params={"reason": exc.message}
    )


def _money(data) -> Decimal | None:
    try:
        return Decimal(str(data["amount"]))
    except (KeyError, TypeError, ArithmeticError, ValueError):
        return None


def _usd(quote_money: dict | None) -> Decimal:
    return _money(quote_money) or Decimal(0)


def reservation_values(reservation: Reservation) -> dict:
    return {
        "name": reservation.display_name,
        "scope": reservation.scope,
        "applied_scopes": reservation.applied_scopes,
        "renew": reservation.renew,
        "quantity": reservation.quantity,
        "state": reservation.provisioning_state,
    }


def plan_values(plan: SavingsPlan) -> dict:
    return {
        "name": plan.display_name,
        "scope": plan.scope,
        "applied_scope": plan.applied_scope,
        "renew": plan.renew,
        "state": plan.provisioning_state,
    }


def azure_subscriptions(customer: Customer):
    return AzureSubscription.objects.filter(subscription__customer=customer).order_by("friendly_name", "id")


def pending_operations(*, reservation: Reservation | None = None, savings_plan: SavingsPlan | None = None):
    found = PartnerOperation.objects.filter(state__in=PartnerOperation.PENDING)
    return found.filter(reservation=reservation) if reservation else found.filter(savings_plan=savings_plan)


# --------------------------------------------------------------------------------------- allowance
@dataclass(frozen=True)
class Allowance:
    """The customer's refund allowance: Microsoft's figure, the portal's own record, what is left."""

    limit: Decimal
    microsoft_used: Decimal | None  # policyResult.consumedRefundsTotal of the newest quote
    portal_used: Decimal  # returns the portal sent that Azure finished, rolling 12 months
    portal_pending: Decimal  # returns sent and not finished yet

    @property
    def used(self) -> Decimal:
        return max(self.microsoft_used or Decimal(0), self.portal_used) + self.portal_pending

    @property
    def left(self) -> Decimal:
        return max(Decimal(0), self.limit - self.used)

    def allows(self, amount: Decimal) -> bool:
        return self.used + amount <= self.limit


def allowance(customer: Customer, *, microsoft_used: Decimal | None = None) -> Allowance:
    since = timezone.now() - timedelta(days=365)
    returns = PartnerOperation.objects.filter(
        customer=customer, kind=Kind.RETURN_RESERVATION, created_at__gte=since
    )
    done = returns.filter(state=State.SUCCEEDED).aggregate(total=Sum("refund_usd"))["total"] or Decimal(0)
    pending = returns.filter(state__in=PartnerOperation.PENDING).aggregate(total=Sum("refund_usd"))[
        "total"
    ] or Decimal(0)
    if microsoft_used is None:
        newest = (
            PartnerOperation.objects.filter(customer=customer, kind=Kind.RETURN_RESERVATION)
            .exclude(quote={})
            .order_by("-quoted_at", "-id")
            .first()
        )
        if newest is not None:
            microsoft_used = _money(newest.quote.get("consumed"))
    return Allowance(
        limit=REFUND_LIMIT_USD, microsoft_used=microsoft_used, portal_used=done, portal_pending=pending
    )


# ------------------------------------------------------------------------------- scope and names
@dataclass(frozen=True)
class Scope:
    kind: str  # Single, ResourceGroup, Shared, ManagementGroup
    subscription: str = ""  # an Azure subscription id of the customer
    resource_group: str = ""
    management_group: str = ""

    def properties(self, customer: Customer) -> dict:
        if self.kind == "Shared":
            return {"appliedScopeType": "Shared"}
        if self.kind == "ManagementGroup":
            return {
                "appliedScopeType": "ManagementGroup",
                "appliedScopeProperties": {
                    "tenantId": str(customer.tenant_id),
                    "managementGroupId": MANAGEMENT_GROUP_ID.format(self.management_group),
                },
            }
        scope = {"subscriptionId": f"/subscriptions/{self.subscription}"}
        if self.kind == "ResourceGroup":
            scope = {
                "resourceGroupId": f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            }
        return {"appliedScopeType": "Single", "appliedScopeProperties": scope}


def _customers_subscription(customer: Customer, value: str) -> bool:
    try:
        subscription = uuid.UUID(str(value))
    except ValueError:
        return False
    return azure_subscriptions(customer).filter(azure_subscription_id=subscription).exists()


def _check_scope(customer: Customer, scope: Scope) -> None:
    if scope.kind not in SCOPES:
        raise ValidationError(_("Choose a scope."), code="scope")
    if scope.kind in ("Single", "ResourceGroup") and not _customers_subscription(
        customer, scope.subscription
    ):
        raise ValidationError(_("Choose one of this customer's Azure subscriptions."), code="subscription")
    if scope.kind == "ResourceGroup" and not RESOURCE_GROUP.match(scope.resource_group or ""):
        raise ValidationError(
            _("Enter the resource group's name (letters, digits, - _ . ( ), up to 90)."),
            code="resource_group",
        )
    if scope.kind == "ManagementGroup" and not MANAGEMENT_GROUP.match(scope.management_group or ""):
        raise ValidationError(
            _("Enter the management group's id (letters, digits, - _ . ( ), up to 90)."),
            code="management_group",
        )


def _check_name(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    if not name or len(name) > 64:
        raise ValidationError(_("A name has 1 to 64 characters."), code="name")
    return name


def _refuse_if_busy(
    *, reservation: Reservation | None = None, savings_plan: SavingsPlan | None = None
) -> None:
    if pending_operations(reservation=reservation, savings_plan=savings_plan).exists():
        raise ValidationError(_("Another change is in progress at Azure; wait for its outcome."), code="busy")


def _enqueue(operation: PartnerOperation, *, actor: Agent, origin: Origin) -> None:
    """Hand the change to the outbox, in the service's transaction."""
    enqueue(
        kind=OUTBOX_KIND,
        customer=operation.customer,
        desired={"operation": operation.pk, "kind": operation.kind},
        origin=origin,
        actor=actor,
        subject=str(operation.pk),
    )


def update_reservation(
    *,
    actor: Agent,
    reservation: Reservation,
    origin: Origin,
    scope: Scope | None = None,
    name: str | None = None,
    renew: bool | None = None,
    renew_now: bool = False,
) -> PartnerOperation | None:
    """Change a reservation's scope, name or auto-renew at Azure (PATCH): Update Reservation. `renew_now`
    turns auto-renew on with the renewal's purchase (the same product, term and quantity). None when the
    change asks for what already is."""
    customer = reservation.order.customer
    with audited(
        actor=actor,
        origin=origin,
        customer=customer,
        action=Action.UPDATE_RESERVATION,
        resource_type=ResourceType.RESERVATION,
        resource_id=reservation.reservation_id,
        new_value={"scope": scope and scope.kind, "name": name, "renew": renew or renew_now},
    ):
        _require_admin(actor)
        locked = lock_customer(customer)
        current = Reservation.objects.select_related("order").get(pk=reservation.pk)
        if current.provisioning_state in CLOSED_STATES:
            raise ValidationError(_("This reservation is no longer active."), code="closed")
        properties: dict = {}
        if scope is not None:
            _check_scope(locked, scope)
            properties.update(scope.properties(locked))
        name = _check_name(name)
        if name is not None and name != current.display_name:
            properties["name"] = name
        if renew_now:
            properties["renew"] = True
            properties["renewProperties"] = {"purchaseProperties": _renewal_purchase(current, locked)}
        elif renew is not None and renew != current.renew:
            properties["renew"] = renew
        if not properties:
            return None
        _refuse_if_busy(reservation=current)
        operation = PartnerOperation.objects.create(
            customer=locked,
            kind=Kind.UPDATE_RESERVATION,
            reservation=current,
            request=properties,
            before=reservation_values(current),
            requested_by=actor,
            origin=_origin_json(origin),
        )
        _enqueue(operation, actor=actor, origin=origin)
        return operation


def _billing_scope(customer: Customer) -> str:
    first = azure_subscriptions(customer).first()
    return f"/subscriptions/{first.azure_subscription_id}" if first else ""


def _renewal_purchase(reservation: Reservation, customer: Customer) -> dict:
    return {
        "sku": {"name": reservation.sku},
        "location": reservation.location,
        "properties": {
            "reservedResourceType": reservation.resource_type or "VirtualMachines",
            "billingScopeId": _billing_scope(customer),
            "term": reservation.order.term or "P1Y",
            "billingPlan": reservation.order.billing_plan or "Upfront",
            "quantity": reservation.quantity,
            "displayName": reservation.display_name,
            "appliedScopeType": "Shared",
            "renew": True,
        },
    }


def update_savings_plan(
    *,
    actor: Agent,
    plan: SavingsPlan,
    origin: Origin,
    scope: Scope | None = None,
    name: str | None = None,
    renew: bool | None = None,
) -> PartnerOperation | None:
    """Change a savings plan's scope, name or auto-renew (PATCH): Update Savings Plan. A savings plan can
    never be cancelled, exchanged or refunded: there is no service for that."""
    customer = plan.order.customer
    with audited(
        actor=actor,
        origin=origin,
        customer=customer,
        action=Action.UPDATE_SAVINGS_PLAN,
        resource_type=ResourceType.SAVINGS_PLAN,
        resource_id=plan.plan_id,
        new_value={"scope": scope and scope.kind, "name": name, "renew": renew},
    ):
        _require_admin(actor)
        locked = lock_customer(customer)
        current = SavingsPlan.objects.select_related("order").get(pk=plan.pk)
        if current.provisioning_state in CLOSED_STATES:
            raise ValidationError(_("This savings plan is no longer active."), code="closed")
        properties: dict = {}
        if scope is not None:
            _check_scope(locked, scope)
            properties.update(scope.properties(locked))
        name = _check_name(name)
        if name is not None and name != current.display_name:
            properties["displayName"] = name
        if renew is not None and renew != current.renew:
            properties["renew"] = renew
        if not properties:
            return None
        _refuse_if_busy(savings_plan=current)
        operation = PartnerOperation.objects.create(
            customer=locked,
            kind=Kind.UPDATE_SAVINGS_PLAN,
            savings_plan=current,
            request=properties,
            before=plan_values(current),
            requested_by=actor,
            origin=_origin_json(origin),
        )
        _enqueue(operation, actor=actor, origin=origin)
        return operation


# ------------------------------------------------------------------------------------------ refund
def quote_refund(
    *,
    actor: Agent,
    reservation: Reservation,
    quantity: int,
    origin: Origin,
    client: Reservations | None = None,
) -> PartnerOperation:
    """Ask Microsoft what returning `quantity` of the reservation would refund (calculateRefund). Nothing
    changes at Microsoft; the quote is kept (never sent) for the agent to confirm."""
    customer = reservation.order.customer
    entry = {
        "action": Action.RETURN_RESERVATION,
        "resource_type": ResourceType.RESERVATION,
        "resource_id": reservation.reservation_id,
        "new_value": {"quantity": quantity},
    }
    with audited(actor=actor, origin=origin, customer=customer, **entry):
        _require_admin(actor)
        if reservation.provisioning_state in CLOSED_STATES:
            raise ValidationError(_("This reservation is no longer active."), code="closed")
        if not 1 <= quantity <= reservation.quantity:
            raise ValidationError(
                _("Return between 1 and %(most)s."), code="quantity", params={"most": reservation.quantity}
            )
    client = client or benefits_client(customer)
    try:
        quote = client.calculate_refund(
            reservation.order.order_id, reservation.reservation_id, quantity=quantity
        )
    except MicrosoftError as exc:
        with audited(actor=actor, origin=origin, customer=customer, **entry):
            raise _microsoft_refusal(exc) from exc
    with transaction.atomic():
        return PartnerOperation.objects.create(
            customer=customer,
            kind=Kind.RETURN_RESERVATION,
            reservation=reservation,
            state=State.QUOTED,
            quoted_at=timezone.now(),
            refund_usd=quote.refund.amount,
            request={"sessionId": quote.session_id, "quantity": quantity},
            quote={
                "sessionId": quote.session_id,
                "quantity": quantity,
                "refund": quote.refund.as_json(),
                "consumed": quote.consumed.as_json() if quote.consumed else None,
                "limit": quote.limit.as_json() if quote.limit else None,
                "policyErrors": [{"code": e.code, "message": e.message} for e in quote.policy_errors],
            },
            requested_by=actor,
            origin=_origin_json(origin),
        )


def refund_refusal(operation: PartnerOperation, allowance_now: Allowance) -> ValidationError | None:
    """Why a quoted return cannot be sent, or None: Microsoft's policy errors, then the allowance."""
    errors = operation.quote.get("policyErrors") or []
    if errors:
        return ValidationError(
            _("Microsoft will not refund this reservation: %(reason)s"),
            code="policy",
            params={"reason": " ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)},
        )
    amount = operation.refund_usd or Decimal(0)
    if not allowance_now.allows(amount):
        return ValidationError(
            _(
                "This refund of USD %(amount)s would exceed the customer's allowance: USD %(used)s of USD "
                "%(limit)s used in the last 12 months, USD %(left)s left."
            ),
            code="refund_limit",
            params={
                "amount": amount,
                "used": allowance_now.used,
                "limit": allowance_now.limit,
                "left": allowance_now.left,
            },
        )
    return None


def confirm_refund(
    *, actor: Agent, operation: PartnerOperation, reason: str, origin: Origin
) -> PartnerOperation:
    """Send the quoted return (return, with the quote's session): Return Reservation. An expired quote is
    refused with QuoteExpired (the page asks for a fresh one); a return over the allowance is refused."""
    customer = operation.customer
    with audited(
        actor=actor,
        origin=origin,
        customer=customer,
        action=Action.RETURN_RESERVATION,
        resource_type=ResourceType.RESERVATION,
        resource_id=operation.reservation.reservation_id if operation.reservation else "",
        old_value=operation.quote,
        new_value={"reason": reason},
    ):
        _require_admin(actor)
        locked = lock_customer(customer)
        current = _quoted(operation, Kind.RETURN_RESERVATION)
        refusal = refund_refusal(
            current, allowance(locked, microsoft_used=_money(current.quote.get("consumed")))
        )
        if refusal is not None:
            raise refusal
        _refuse_if_busy(reservation=current.reservation)
        current.state, current.requested_by = State.WAITING, actor
        current.request = {
            **current.request,
            "returnReason": (reason or "").strip()[:200] or "Customer request",
        }
        current.origin = _origin_json(origin)
        current.save(update_fields=["state", "requested_by", "request", "origin"])
        _enqueue(current, actor=actor, origin=origin)
        return current


def _quoted(operation: PartnerOperation, kind: str) -> PartnerOperation:
    current = PartnerOperation.objects.select_for_update(no_key=True, of=("self",)).get(pk=operation.pk)
    if current.kind != kind or current.state != State.QUOTED:
        raise ValidationError(_("This quote was already used; ask for a new one."), code="used")
    if current.quoted_at is None or current.quoted_at + quote_lifetime() < timezone.now():
        raise QuoteExpired(_("The quote has expired; here is a fresh one from Microsoft."), code="expired")
    return current


# ---------------------------------------------------------------------------------------- exchange
@dataclass(frozen=True)
class Purchase:
    """What to buy in an exchange: another reservation, or a savings plan."""

    kind: str  # reservation | savings_plan
    term: str
    sku: str = ""
    location: str = ""
    resource_type: str = "VirtualMachines"
    quantity: int = 1
    billing_plan: str = "Upfront"
    hourly_commitment: Decimal | None = None
    name: str = ""

    def request(self, customer: Customer) -> tuple[list, list]:
        if self.term not in TERMS:
            raise ValidationError(_("Choose a term."), code="term")
        billing_scope = _billing_scope(customer)
        if self.kind == "savings_plan":
            if self.term == "P5Y" or not self.hourly_commitment or self.hourly_commitment <= 0:
                raise ValidationError(
                    _("A savings plan needs an hourly commitment and a 1- or 3-year term."), code="commitment"
                )
            return [], [
                {
                    "sku": {"name": "Compute_Savings_Plan"},
                    "properties": {
                        "displayName": self.name or "Savings plan",
                        "billingScopeId": billing_scope,
                        "term": self.term,
                        "billingPlan": "P1M",
                        "appliedScopeType": "Shared",
                        "commitment": {
                            "grain": "Hourly",
                            "currencyCode": "USD",
                            "amount": float(self.hourly_commitment),
                        },
                    },
                }
            ]
        if not self.sku.strip() or not self.location.strip() or self.quantity < 1:
            raise ValidationError(
                _("A reservation needs a product (SKU), a region and a quantity."), code="sku"
            )
        return [
            {
                "sku": {"name": self.sku.strip()},
                "location": self.location.strip(),
                "properties": {
                    "reservedResourceType": self.resource_type,
                    "billingScopeId": billing_scope,
                    "term": self.term,
                    "billingPlan": self.billing_plan,
                    "quantity": self.quantity,
                    "displayName": self.name or self.sku.strip(),
                    "appliedScopeType": "Shared",
                    "renew": False,
                },
            }
        ], []


def quote_exchange(
    *,
    actor: Agent,
    reservation: Reservation,
    quantity: int,
    purchase: Purchase,
    origin: Origin,
    client: Reservations | None = None,
) -> PartnerOperation:
    """Ask Microsoft what exchanging the reservation for `purchase` would cost (calculateExchange): the net
    payable, refunds, purchases and Microsoft's policy result (eligibility is Microsoft's, never ours)."""
    customer = reservation.order.customer
    entry = {
        "action": Action.EXCHANGE_RESERVATION,
        "resource_type": ResourceType.RESERVATION,
        "resource_id": reservation.reservation_id,
        "new_value": {"quantity": quantity, "buy": purchase.kind},
    }
    with audited(actor=actor, origin=origin, customer=customer, **entry):
        _require_admin(actor)
        if reservation.provisioning_state in CLOSED_STATES:
            raise ValidationError(_("This reservation is no longer active."), code="closed")
        if not 1 <= quantity <= reservation.quantity:
            raise ValidationError(
                _("Exchange between 1 and %(most)s."), code="quantity", params={"most": reservation.quantity}
            )
        reservations_to_buy, plans_to_buy = purchase.request(customer)
    client = client or benefits_client(customer)
    to_exchange = [
        {
            "reservationId": reservation_id(reservation.order.order_id, reservation.reservation_id),
            "quantity": quantity,
        }
    ]
    try:
        quote = client.calculate_exchange(
            to_exchange=to_exchange,
            reservations_to_purchase=reservations_to_buy,
            savings_plans_to_purchase=plans_to_buy,
        )
    except MicrosoftError as exc:
        with audited(actor=actor, origin=origin, customer=customer, **entry):
            raise _microsoft_refusal(exc) from exc
    with transaction.atomic():
        return PartnerOperation.objects.create(
            customer=customer,
            kind=Kind.EXCHANGE_RESERVATION,
            reservation=reservation,
            state=State.QUOTED,
            quoted_at=timezone.now(),
            request={"sessionId": quote.session_id},
            quote={
                "sessionId": quote.session_id,
                "quantity": quantity,
                "buy": purchase.kind,
                "netPayable": quote.net_payable.as_json(),
                "refundsTotal": quote.refunds_total.as_json(),
                "purchasesTotal": quote.purchases_total.as_json(),
                "reservationsToPurchase": reservations_to_buy,
                "savingsPlansToPurchase": plans_to_buy,
                "policyErrors": [{"code": e.code, "message": e.message} for e in quote.policy_errors],
            },
            requested_by=actor,
            origin=_origin_json(origin),
        )


def confirm_exchange(*, actor: Agent, operation: PartnerOperation, origin: Origin) -> PartnerOperation:
    """Send the quoted exchange (exchange, with the quote's session): Exchange Reservation. Not counted
    against the refund allowance."""
    customer = operation.customer
    with audited(
        actor=actor,
        origin=origin,
        customer=customer,
        action=Action.EXCHANGE_RESERVATION,
        resource_type=ResourceType.RESERVATION,
        resource_id=operation.reservation.reservation_id if operation.reservation else "",
        old_value=operation.quote,
    ):
        _require_admin(actor)
        lock_customer(customer)
        current = _quoted(operation, Kind.EXCHANGE_RESERVATION)
        errors = current.quote.get("policyErrors") or []
        if errors:
            raise ValidationError(
                _("Microsoft will not make this exchange: %(reason)s"),
                code="policy",
                params={"reason": " ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)},
            )
        _refuse_if_busy(reservation=current.reservation)
        current.state, current.requested_by = State.WAITING, actor
        current.origin = _origin_json(origin)
        current.save(update_fields=["state", "requested_by", "origin"])
        _enqueue(current, actor=actor, origin=origin)
        return current


# ------------------------------------------------------------------------------------------ worker
# i11's outbox sends the change and follows it: its worker calls apply() outside any transaction (send, or
# ask once how a long-running operation stands: PollLater), then settled() in the outcome's transaction.
OUTBOX_KIND = "azure.partner_operation"


def _operation_for(change: OutboxChange) -> PartnerOperation:
    return PartnerOperation.objects.select_related(
        "reservation__order", "savings_plan__order", "customer", "requested_by"
    ).get(pk=change.desired["operation"])


def apply(change: OutboxChange) -> Applied | PollLater:
    operation = _operation_for(change)
    client = benefits_client(operation.customer)
    try:
        if operation.state == State.WAITING:
            answer = _send(client, operation)
        elif operation.state == State.IN_PROGRESS:
            answer = client.poll(Operation(status="InProgress", poll_url=operation.poll_url))
        else:
            return Applied({"status": operation.state})
        if not answer.done:
            poll_url = answer.poll_url or operation.poll_url
            PartnerOperation.objects.filter(pk=operation.pk).update(
                state=State.IN_PROGRESS, poll_url=poll_url
            )
            remember(change, pollUrl=poll_url)
            return PollLater(after=answer.retry_after, progress={"pollUrl": poll_url})
        if not answer.succeeded:
            raise Refused(f"Azure: {answer.error_message}", code=answer.error_code)
        try:
            fresh = _read_back(client, operation)
        except MicrosoftError as exc:  # done at Azure; the next sync brings the mirror
            logger.warning("Azure did %s, but reading it back failed: %s", operation.kind, exc.message)
            fresh = None
        return Applied(
            {"status": answer.status, "answer": _answer_properties(answer, operation), "fresh": fresh}
        )
    except CredentialsRefused as exc:
        mark_needs_reconnecting(str(exc))
        raise Blocked(str(exc), code=exc.code, request_id=exc.request_id, status=exc.status) from None
    except ThrottledError as exc:
        raise Retry(
            str(exc),
            code=exc.code or "429",
            request_id=exc.request_id,
            status=429,
            after=getattr(exc, "retry_after", None),
        ) from None
    except (UnavailableError, MalformedResponse) as exc:
        # Worth another try: PATCH is idempotent, and a session's return or exchange answers its first answer.
        raise Retry(str(exc), code=exc.code, request_id=exc.request_id, status=exc.status) from None
    except MicrosoftError as exc:
        kind = Retry if exc.status in (None, 401, 408) or (exc.status or 0) >= 500 else Refused
        raise kind(str(exc), code=exc.code, request_id=exc.request_id, status=exc.status) from None
    finally:
        client.client.tokens.save_rotated()
        client.client.close()


def _send(client: Reservations, operation: PartnerOperation) -> Operation:
    request = operation.request
    if operation.kind == Kind.UPDATE_RESERVATION:
        return client.update_reservation(
            operation.reservation.order.order_id, operation.reservation.reservation_id, request
        )
    if operation.kind == Kind.UPDATE_SAVINGS_PLAN:
        return client.update_savings_plan(
            operation.savings_plan.order.order_id, operation.savings_plan.plan_id, request
        )
    if operation.kind == Kind.RETURN_RESERVATION:
        return client.return_reservation(
            operation.reservation.order.order_id,
            operation.reservation.reservation_id,
            quantity=request["quantity"],
            session_id=request["sessionId"],
            reason=request.get("returnReason", ""),
        )
    return client.exchange(session_id=request["sessionId"])


def settled(change: OutboxChange) -> None:
    """Azure said how it ended (the customer's row is locked): the row, the mirror and the one log entry."""
    operation = PartnerOperation.objects.select_for_update(no_key=True, of=("self",)).get(
        pk=change.desired["operation"]
    )
    operation = _operation_for(change)
    applied = change.state == OutboxChange.State.APPLIED
    operation.state = State.SUCCEEDED if applied else State.FAILED
    operation.finished_at = timezone.now()
    operation.error_code = "" if applied else change.error_code[:100]
    operation.error_message = "" if applied else change.error_message[:1000]
    operation.result = (
        {"status": "Succeeded" if applied else "Failed", "properties": change.result.get("answer") or {}}
        if applied
        else {"status": "Failed", "error": {"code": change.error_code, "message": change.error_message}}
    )
    operation.save(update_fields=["state", "finished_at", "error_code", "error_message", "result"])
    fresh = change.result.get("fresh") if applied else None
    if fresh:
        _mirror(operation, fresh)
    origin = Origin(
        source=operation.origin.get("source") or Source.SYSTEM,
        request_id=operation.origin.get("request_id") or str(change.ms_request_id),
        correlation_id=operation.origin.get("correlation_id") or change.correlation_id,
        client_ip=operation.origin.get("client_ip"),
    )
    record(
        action=ACTIONS[operation.kind],
        actor=operation.requested_by,
        origin=origin,
        customer=operation.customer,
        resource_type=_resource_type(operation.kind),
        resource_id=_target_id(operation),
        old_value=operation.quote or operation.before,
        new_value=operation.result,
        status=Status.SUCCEEDED if applied else Status.FAILED,
        failure_reason="" if applied else f"{change.error_message} (code {change.error_code})"[:2000],
    )


def register() -> None:
    register_handler(OUTBOX_KIND, apply, settled=settled)


def _target_id(operation: PartnerOperation) -> str:
    return operation.savings_plan.plan_id if operation.savings_plan else operation.reservation.reservation_id


def _answer_properties(answer: Operation, operation: PartnerOperation) -> dict:
    if operation.kind in (Kind.UPDATE_RESERVATION, Kind.UPDATE_SAVINGS_PLAN):
        return operation.request
    properties = answer.result.get("properties") if isinstance(answer.result, dict) else None
    return properties or {}


def _read_back(client: Reservations, operation: PartnerOperation) -> dict:
    if operation.savings_plan is not None:
        plan = operation.savings_plan
        return client.savings_plan(plan.order.order_id, plan.plan_id)
    reservation = operation.reservation
    return client.reservation(reservation.order.order_id, reservation.reservation_id)


def _mirror(operation: PartnerOperation, data: dict) -> None:
    """The mirror row as Azure now holds it (read back after Azure confirmed)."""
    row = operation.savings_plan or operation.reservation
    if row is not None:
        props = data.get("properties") or {}
        # As the sync (purchases/sync.py) reads them, so that neither flips what the other wrote.
        scope = props.get("appliedScopeType") or props.get("userFriendlyAppliedScopeType") or row.scope
        scope_properties = props.get("appliedScopeProperties") or {}
        row.display_name = props.get("displayName", row.display_name) or row.display_name
        row.scope = scope
        row.renew = bool(props.get("renew", row.renew))
        row.provisioning_state = (
            props.get("provisioningState") or props.get("displayProvisioningState") or row.provisioning_state
        )
        if isinstance(row, Reservation):
            applied = [
                value
                for value in (
                    scope_properties.get("resourceGroupId"),
                    scope_properties.get("managementGroupId"),
                )
                if value
            ]
            row.applied_scopes = applied or props.get("appliedScopes") or []
            if isinstance(props.get("quantity"), int):
                row.quantity = props["quantity"]
            row.save(
                update_fields=[
                    "display_name",
                    "scope",
                    "renew",
                    "provisioning_state",
                    "applied_scopes",
                    "quantity",
                ]
            )
        else:
            row.applied_scope = (
                scope_properties.get("resourceGroupId")
                or scope_properties.get("managementGroupId")
                or scope_properties.get("subscriptionId")
                or ""
            )
            row.save(update_fields=["display_name", "scope", "renew", "provisioning_state", "applied_scope"])
