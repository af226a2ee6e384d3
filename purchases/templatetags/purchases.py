"""The Account page's purchase cards (self-purchase limit, cost visibility), drawn by purchases/ for the
permissions app's page, which may not import it: {% load purchases %}{% purchase_cards customer %}."""

from django import template

from purchases.forms import CostVisibilityForm, PurchaseLimitForm
from purchases.limits import spend
from purchases.models import BillingPolicy, PurchaseLimit
from purchases.policies import can_manage_purchase_settings

register = template.Library()


@register.inclusion_tag("purchases/account_cards.html", takes_context=True)
def purchase_cards(context, customer):
    request = context["request"]
    limit = PurchaseLimit.objects.filter(customer=customer).first()
    policy = BillingPolicy.objects.filter(customer=customer).first()
    spent = spend(customer)
    allowed = bool(policy and policy.view_charges == BillingPolicy.ViewCharges.ALLOWED)
    return {
        "request": request, "customer": customer, "limit": limit, "spent": spent,
        "percent": int(spent * 100 / limit.amount) if limit and limit.amount else None,
        "can_manage": can_manage_purchase_settings(request.user),
        "limit_form": PurchaseLimitForm(initial={
            "amount": limit.amount if limit else None,
            "turn_off_at_limit": bool(limit and limit.turn_off_at_limit)}),
        "cost_form": CostVisibilityForm(initial={"view_charges": "Allowed" if allowed else "NotAllowed"}),
        "cost_allowed": allowed, "cost_policy": policy,
    }
