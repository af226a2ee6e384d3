"""The partner's operations on a customer's reservations and savings plans (MICROSOFT.md §5).

Microsoft.Capacity and Microsoft.BillingBenefits, api-version 2022-11-01, with a token in the customer's
tenant: PATCH a reservation or a savings plan (scope, name, renew), `calculateRefund` → `return`,
`calculateExchange` → `exchange`. A write may answer 202 with `Azure-AsyncOperation` (or `Location`) and
`Retry-After`: `Operation` carries where to ask, `poll` asks once (the worker's way: "ask again at T"),
`follow` asks until Azure says Succeeded, Failed or Cancelled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .client import AZURE_MANAGEMENT, MalformedResponse, MicrosoftClient, MicrosoftError

API_VERSION = "2022-11-01"
CAPACITY = "/providers/Microsoft.Capacity"
BENEFITS = "/providers/Microsoft.BillingBenefits"
FINISHED = {"Succeeded", "Failed", "Cancelled", "Canceled"}
DEFAULT_RETRY_AFTER = 5.0


def reservation_id(order_id: str, reservation: str) -> str:
    return f"/providers/microsoft.capacity/reservationOrders/{order_id}/reservations/{reservation}"


@dataclass(frozen=True)
class Money:
    currency: str
    amount: Decimal

    @classmethod
    def parse(cls, data, *, where: str) -> Money:
        if not isinstance(data, dict):
            raise MalformedResponse(f"Azure's {where} lacks its amount.")
        try:
            return cls(currency=str(data.get("currencyCode") or ""), amount=Decimal(str(data.get("amount"))))
        except InvalidOperation as exc:
            raise MalformedResponse(f"Azure's {where} is not a number: {data.get('amount')!r}.") from exc

    def as_json(self) -> dict:
        return {"currencyCode": self.currency, "amount": str(self.amount)}


@dataclass(frozen=True)
class PolicyError:
    code: str
    message: str


@dataclass(frozen=True)
class RefundQuote:
    session_id: str
    quantity: int
    refund: Money
    consumed: Money | None  # policyResult.consumedRefundsTotal
    limit: Money | None  # policyResult.maxRefundLimit (USD 50,000)
    policy_errors: list[PolicyError]
    raw: dict

    @property
    def remaining(self) -> Decimal | None:
        if self.consumed is None or self.limit is None:
            return None
        return max(Decimal(0), self.limit.amount - self.consumed.amount)


@dataclass(frozen=True)
class ExchangeQuote:
    session_id: str
    net_payable: Money
    refunds_total: Money
    purchases_total: Money
    policy_errors: list[PolicyError]
    raw: dict


@dataclass
class Operation:
    """Where a write stands: done (with Azure's final answer) or in progress (with where to ask)."""

    status: str  # InProgress, Succeeded, Failed, Cancelled (Azure's words)
    result: dict = field(default_factory=dict)
    poll_url: str = ""
    retry_after: float = DEFAULT_RETRY_AFTER
    error_code: str = ""
    error_message: str = ""

    @property
    def done(self) -> bool:
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status == "Succeeded"

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "pollUrl": self.poll_url,
            "errorCode": self.error_code,
            "errorMessage": self.error_message,
        }


def _policy_errors(data: dict) -> list[PolicyError]:
    errors = ((data.get("policyResult") or {}).get("properties") or {}).get("policyErrors") or []
    return [
        PolicyError(code=str(e.get("code") or ""), message=str(e.get("message") or ""))
        for e in errors
        if isinstance(e, dict)
    ]


class Reservations:
    """The calls, for one customer tenant."""

    def __init__(
        self, client: MicrosoftClient, tenant_id: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.client, self.tenant_id, self._sleep = client, tenant_id, sleep

    def _call(self, method: str, path_or_url: str, *, body: dict | None = None):
        url = path_or_url
        if "://" not in url:
            url = f"{self.client.management_url}{path_or_url}?api-version={API_VERSION}"
        else:
            url = self.client._same_host(url, self.client.management_url)
        return self.client.request(
            method,
            url,
            json_body=body,
            full=True,
            token=lambda: self.client.tokens.customer(self.tenant_id, AZURE_MANAGEMENT),
            pace=lambda: self.client._arm_buckets.take(self.tenant_id),
        )

    # -- reads --

    def reservation(self, order_id: str, reservation: str) -> dict:
        return self._call("GET", f"{CAPACITY}/reservationOrders/{order_id}/reservations/{reservation}").data

    def savings_plan(self, order_id: str, plan_id: str) -> dict:
        return self._call("GET", f"{BENEFITS}/savingsPlanOrders/{order_id}/savingsPlans/{plan_id}").data

    # -- writes that may be long-running --

    def _operation(self, answer) -> Operation:
        if answer.status != 202:
            return Operation(status="Succeeded", result=answer.data)
        url = answer.headers.get("Azure-AsyncOperation") or answer.headers.get("Location") or ""
        if not url:
            raise MalformedResponse("Azure answered 202 without Azure-AsyncOperation or Location.")
        return Operation(
            status="InProgress", result=answer.data, poll_url=url, retry_after=_retry_after(answer.headers)
        )

    def update_reservation(self, order_id: str, reservation: str, properties: dict) -> Operation:
        return self._operation(
            self._call(
                "PATCH",
                f"{CAPACITY}/reservationOrders/{order_id}/reservations/{reservation}",
                body={"properties": properties},
            )
        )

    def update_savings_plan(self, order_id: str, plan_id: str, properties: dict) -> Operation:
        return self._operation(
            self._call(
                "PATCH",
                f"{BENEFITS}/savingsPlanOrders/{order_id}/savingsPlans/{plan_id}",
                body={"properties": properties},
            )
        )

    def calculate_refund(self, order_id: str, reservation: str, *, quantity: int) -> RefundQuote:
        data = self._call(
            "POST",
            f"{CAPACITY}/reservationOrders/{order_id}/calculateRefund",
            body={
                "properties": {
                    "scope": "Reservation",
                    "reservationToReturn": {
                        "reservationId": reservation_id(order_id, reservation),
                        "quantity": quantity,
                    },
                }
            },
        ).data
        props = data.get("properties") or {}
        if not props.get("sessionId"):
            raise MalformedResponse("Azure's refund quote lacks its sessionId.")
        policy = (props.get("policyResult") or {}).get("properties") or {}
        return RefundQuote(
            session_id=props["sessionId"],
            quantity=int(props.get("quantity") or quantity),
            refund=Money.parse(
                props.get("billingRefundAmount") or props.get("pricingRefundAmount"), where="refund amount"
            ),
            consumed=(
                Money.parse(policy["consumedRefundsTotal"], where="refunds used")
                if policy.get("consumedRefundsTotal")
                else None
            ),
            limit=(
                Money.parse(policy["maxRefundLimit"], where="refund limit")
                if policy.get("maxRefundLimit")
                else None
            ),
            policy_errors=_policy_errors(props),
            raw=data,
        )

    def return_reservation(
        self, order_id: str, reservation: str, *, quantity: int, session_id: str, reason: str
    ) -> Operation:
        return self._operation(
            self._call(
                "POST",
                f"{CAPACITY}/reservationOrders/{order_id}/return",
                body={
                    "properties": {
                        "sessionId": session_id,
                        "scope": "Reservation",
                        "returnReason": reason,
                        "reservationToReturn": {
                            "reservationId": reservation_id(order_id, reservation),
                            "quantity": quantity,
                        },
                    }
                },
            )
        )

    def calculate_exchange(
        self,
        *,
        to_exchange: list[dict],
        reservations_to_purchase: list[dict],
        savings_plans_to_purchase: list[dict],
    ) -> ExchangeQuote:
        answer = self._call(
            "POST",
            f"{CAPACITY}/calculateExchange",
            body={
                "properties": {
                    "reservationsToExchange": to_exchange,
                    "reservationsToPurchase": reservations_to_purchase,
                    "savingsPlansToPurchase": savings_plans_to_purchase,
                }
            },
        )
        data = answer.data
        if answer.status == 202:  # Microsoft allows the quote itself to be long-running
            operation = self.follow(self._operation(answer))
            if not operation.succeeded:
                raise MicrosoftError(
                    f"Azure could not calculate the exchange: {operation.error_message}",
                    code=operation.error_code,
                )
            data = operation.result
        props = data.get("properties") or {}
        if not props.get("sessionId"):
            raise MalformedResponse("Azure's exchange quote lacks its sessionId.")
        return ExchangeQuote(
            session_id=props["sessionId"],
            net_payable=Money.parse(props.get("netPayable"), where="net payable"),
            refunds_total=Money.parse(props.get("refundsTotal"), where="refunds total"),
            purchases_total=Money.parse(props.get("purchasesTotal"), where="purchases total"),
            policy_errors=_policy_errors(props),
            raw=data,
        )

    def exchange(self, *, session_id: str) -> Operation:
        return self._operation(
            self._call("POST", f"{CAPACITY}/exchange", body={"properties": {"sessionId": session_id}})
        )

    # -- long-running operations --

    def poll(self, operation: Operation) -> Operation:
        """Ask Azure once where an operation stands."""
        if operation.done:
            return operation
        answer = self._call("GET", operation.poll_url)
        data = answer.data
        status = str(data.get("status") or ("InProgress" if answer.status == 202 else "Succeeded"))
        error = data.get("error") or {}
        return Operation(
            status=status,
            result=data,
            poll_url=operation.poll_url,
            retry_after=_retry_after(answer.headers),
            error_code=str(error.get("code") or ""),
            error_message=str(error.get("message") or ""),
        )

    def follow(self, operation: Operation, *, max_polls: int = 120) -> Operation:
        """Poll until the operation is finished, waiting Retry-After between asks (bounded)."""
        for _ in range(max_polls):
            if operation.done:
                return operation
            self._sleep(operation.retry_after)
            operation = self.poll(operation)
        if not operation.done:
            raise MicrosoftError(
                "Azure's operation did not finish in time; it may still finish.",
                code="OperationTimedOut",
                url=operation.poll_url,
            )
        return operation


def _retry_after(headers) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After")))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
