"""The Account page's purchase cards (self-purchase limit, cost visibility), drawn by purchases/ for the
permissions app's page, which may not import it: {% load purchases %}{% purchase_cards customer %}.

One query (purchases.selectors.account_cards); the two small forms are written out in the template rather
than rendered through Django's widget templates, which cost more than the rest of the cards together."""

from django import template

from purchases.forms import CostVisibilityForm, PurchaseLimitForm
from purchases.policies import can_manage_purchase_settings
from purchases.selectors import account_cards

register = template.Library()

LIMIT_FIELDS = PurchaseLimitForm.base_fields
COST_FIELD = CostVisibilityForm.base_fields["view_charges"]


@register.inclusion_tag("purchases/account_cards.html", takes_context=True)
def purchase_cards(context, customer):
    request = context["request"]
    cards = account_cards(customer)
    amount, spent = cards["amount"], cards["spent"]
    return {
        **cards, "request": request, "customer": customer,
        "has_limit": amount is not None,
        "percent": int(spent * 100 / amount) if amount else None,
        "can_manage": can_manage_purchase_settings(request.user),
        "amount_field": LIMIT_FIELDS["amount"], "turn_off_field": LIMIT_FIELDS["turn_off_at_limit"],
        "cost_field": COST_FIELD,
        "cost_choices": [(value, label, (value == "Allowed") == cards["cost_allowed"])
                         for value, label in COST_FIELD.choices],
    }


@register.inclusion_tag("purchases/connection_notifications.html")
def purchase_notifications(limit: int = 20):
    """The connection page's "Purchase notifications" card (microsoft/ may not import purchases/):
    every recent notification and each delivery's result."""
    from django.conf import settings

    from purchases.selectors import delivery_counts, recent_notifications

    return {"notifications": recent_notifications(limit), "counts": delivery_counts(),
            "webhook_set": bool(settings.PURCHASE_WEBHOOK_URL), "notify_emails": settings.NOTIFY_EMAILS}
