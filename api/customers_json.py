"""Customers in Partner Center's Customer shape, with what a script checks before it asks."""

from django.urls import reverse

from customers.models import Customer
from customers.selectors import subscriptions_with_owners
from permissions.selectors import PurchasePermissionState, partner_center_state, readiness_of

from .http import json_time

DEFAULT_SIZE, MAX_SIZE = 100, 500


def _link(customer: Customer) -> dict:
    return {"uri": reverse("api:customer", args=[customer.tenant_id]), "method": "GET", "headers": []}


def customer_summary(customer: Customer) -> dict:
    return {
        "id": str(customer.tenant_id),
        "companyProfile": {
            "tenantId": str(customer.tenant_id),
            "domain": customer.domain,
            "companyName": customer.company_name,
        },
        "relationshipToPartner": "reseller",
        "status": customer.status,
        "links": {"self": _link(customer)},
        "attributes": {"objectType": "Customer"},
    }


def customer_detail(customer: Customer) -> dict:
    """For a customer from permissions.models.customer_account() (readiness and states annotated)."""
    readiness = readiness_of(customer)
    states = PurchasePermissionState.for_customer(customer, usable=readiness.ready)
    subscriptions = subscriptions_with_owners(customer)
    pc = partner_center_state(customer)
    return {
        **customer_summary(customer),
        "readiness": {
            "ready": readiness.ready,
            "hasAzureSubscription": readiness.has_azure_subscription,
            "hasOwner": readiness.has_owner,
            "missingSteps": [str(step.missing) for step in readiness.missing_steps],
        },
        "permissions": [
            {
                "resource": state.resource.value,
                "allowed": state.allowed,
                "usable": state.allowed and not state.unusable,
                "lastChangedBy": state.last_change.actor_email if state.last_change else None,
                "lastChangedAt": json_time(state.last_change.occurred_at) if state.last_change else None,
            }
            for state in states
        ],
        # Where the self-serve policy stands in Partner Center (issue 11), as the Account page says it.
        "partnerCenter": {
            "state": pc.state or None,
            "at": json_time(pc.at) if pc.at else None,
            "reason": pc.reason or None,
            "errorCode": pc.error_code or None,
            "requestId": pc.error_request_id or None,
            "needsReconnecting": pc.blocked,
            "drift": None if pc.drift is None else {
                "permissions": list(pc.drift),
                "foundAt": json_time(pc.drift_found_at) if pc.drift_found_at else None},
        },
        "subscriptions": [
            {
                "id": str(subscription.subscription_id),
                "offerName": str(subscription.get_offer_display()),
                "offer": subscription.offer,
                "friendlyName": subscription.friendly_name,
                "quantity": subscription.quantity,
                "status": subscription.status,
                "isAzure": subscription.is_azure,
                "creationDate": json_time(subscription.created_at),
                "owners": [owner.customer_user.user_principal_name if owner.customer_user
                           else owner.principal_sign_in_name or owner.principal_name or owner.principal_id
                           for owner in subscription.owners],
            }
            for subscription in subscriptions
        ],
    }
