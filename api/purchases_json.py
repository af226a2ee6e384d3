"""A customer's orders, Azure reservations and savings plans, as the portal mirrors them (issue 12 item 9).

- Orders are Partner Center's Order resource (GET /v1/customers/{id}/orders), plus `placedBy` (the
  create_order audit record's user, when known).
- Reservations: Partner Center shows them only as reserved-instance entitlements, without scope, renewal or
  dates, so the portal answers Azure's Reservation resource (Microsoft.Capacity, api-version 2022-11-01): its
  `id`, `name`, `sku`, `location` and the `properties` the portal reads, plus `reservationOrder` and
  `boughtBy`.
- Savings plans are never in Partner Center: the portal's own shape, after Azure's SavingsPlan resource
  (Microsoft.BillingBenefits): `properties.commitment` {grain Hourly, currencyCode, amount} and the rest.
Every list is a Partner Center collection with seek paging (MS-ContinuationToken), newest first.
"""

from purchases.models import Order, Reservation, SavingsPlan

from .http import json_time

DEFAULT_SIZE, MAX_SIZE = 100, 500


def _amount(value) -> float | None:
    return None if value is None else float(value)


def order_json(order: Order) -> dict:
    return {
        "id": order.order_id,
        "referenceCustomerId": str(order.customer.tenant_id),
        "billingCycle": order.billing_cycle,
        "transactionType": order.transaction_type,
        "currencyCode": order.currency_code,
        "creationDate": json_time(order.created_at),
        "status": order.status,
        "client": {"name": order.client_name} if order.client_name else None,
        "placedBy": order.placed_by or None,
        "lineItems": [line for line in order.line_items if isinstance(line, dict)],
        "attributes": {"objectType": "Order"},
    }


def reservation_json(reservation: Reservation) -> dict:
    order = reservation.order
    path = (f"/providers/Microsoft.Capacity/reservationOrders/{order.order_id}"
            f"/reservations/{reservation.reservation_id}")
    return {
        "id": path,
        "name": f"{order.order_id}/{reservation.reservation_id}",
        "type": "Microsoft.Capacity/reservationOrders/reservations",
        "sku": {"name": reservation.sku},
        "location": reservation.location,
        "properties": {
            "displayName": reservation.display_name,
            "reservedResourceType": reservation.resource_type,
            "quantity": reservation.quantity,
            "appliedScopeType": reservation.scope,
            "appliedScopes": [scope for scope in reservation.applied_scopes if isinstance(scope, str)],
            "term": order.term,
            "billingPlan": order.billing_plan,
            "effectiveDateTime": json_time(reservation.effective_at),
            "expiryDateTime": json_time(reservation.expires_at),
            "renew": reservation.renew,
            "provisioningState": reservation.provisioning_state,
        },
        "reservationOrder": {
            "id": f"/providers/Microsoft.Capacity/reservationOrders/{order.order_id}",
            "displayName": order.display_name,
            "purchaseDateTime": json_time(order.purchased_at),
            "total": {"amount": _amount(order.amount), "currencyCode": order.currency_code} if
            order.amount is not None else None,
        },
        "boughtBy": order.created_by or None,
    }


def savings_plan_json(plan: SavingsPlan) -> dict:
    order = plan.order
    order_path = f"/providers/Microsoft.BillingBenefits/savingsPlanOrders/{order.order_id}"
    return {
        "id": f"{order_path}/savingsPlans/{plan.plan_id}",
        "name": plan.plan_id,
        "type": "Microsoft.BillingBenefits/savingsPlanOrders/savingsPlans",
        "properties": {
            "displayName": plan.display_name,
            "commitment": {"grain": "Hourly", "currencyCode": plan.currency_code,
                           "amount": float(plan.hourly_commitment)},
            "appliedScopeType": plan.scope,
            "appliedScope": plan.applied_scope or None,
            "term": order.term,
            "billingPlan": order.billing_plan,
            "effectiveDateTime": json_time(plan.effective_at),
            "expiryDateTime": json_time(plan.expires_at),
            "purchaseDateTime": json_time(order.purchased_at),
            "renew": plan.renew,
            "provisioningState": plan.provisioning_state,
        },
        "savingsPlanOrder": {"id": order_path},
        "boughtBy": order.created_by or None,
    }
