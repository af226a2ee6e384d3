"""The baseline: a bare Django page, signed in, showing the Account page's data plainly.

"The same data" is what the Account page shows, fetched the way a plain Django view would (the ORM, one
query per kind of thing, no hand-written SQL, no caching) and printed in a bare template: the customer, its
purchase permissions, what its readiness is judged from (its Azure plans and the customer's own Owners on
them), where its policy stands in Partner Center (the latest queued change, a drift), and the purchase
cards (limit, cost visibility, the last 12 months' spend). As the Account page gains data, so must this.
"""

from datetime import timedelta

from django.db.models import Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template import engines
from django.utils import timezone

from customers.models import Customer, RoleAssignment, Subscription
from outbox.models import OutboxChange
from permissions.models import SELF_SERVE_POLICY_CHANGE, PartnerCenterPolicy, PurchasePermission
from purchases.models import BillingPolicy, CustomerPurchase, PurchaseLimit

TEMPLATE = engines["django"].from_string(
    "<!doctype html><title>{{ customer.company_name }}</title><h1>{{ customer.company_name }}</h1>"
    "<dl><dt>Microsoft ID</dt><dd>{{ customer.tenant_id }}</dd><dt>Domain</dt>"
    "<dd>{{ customer.domain }}</dd><dt>Status</dt><dd>{{ customer.status }}</dd></dl>"
    "<ul>{% for s in subscriptions %}<li>{{ s.friendly_name }} {{ s.offer }} {{ s.status }}</li>"
    "{% endfor %}</ul>"
    "<ul>{% for r in owners %}<li>{{ r.principal_name }} {{ r.principal_sign_in_name }}</li>{% endfor %}</ul>"
    "<ul>{% for permission in permissions %}<li>{{ permission.resource }}: "
    "{{ permission.granted_by_id }} {{ permission.granted_at }}</li>{% endfor %}</ul>"
    "<p>{{ change.state }} {{ change.applied_at }} {{ change.error_message }} {{ policy.permissions }}</p>"
    "<p>{{ spent }} {{ limit.amount }} {{ limit.currency_code }} {{ billing.view_charges }}</p>"
)


MINIMAL = engines["django"].from_string(
    "<!doctype html><title>{{ customer.company_name }}</title><h1>{{ customer.company_name }}</h1>"
    "<dl><dt>Microsoft ID</dt><dd>{{ customer.tenant_id }}</dd><dt>Domain</dt>"
    "<dd>{{ customer.domain }}</dd><dt>Status</dt><dd>{{ customer.status }}</dd></dl>"
    "<ul>{% for permission in permissions %}<li>{{ permission.resource }}: "
    "{{ permission.granted_by_id }} {{ permission.granted_at }}</li>{% endfor %}</ul>"
)


def minimal_account(request, tenant_id):
    """The first round's baseline, kept for comparison: only the customer and its permissions (what the
    Account page showed then); the Account page now shows far more than this."""
    customer = get_object_or_404(Customer, tenant_id=tenant_id)
    permissions = PurchasePermission.objects.filter(customer=customer)
    return HttpResponse(MINIMAL.render({"customer": customer, "permissions": permissions}, request))


def bare_account(request, tenant_id):
    customer = get_object_or_404(Customer, tenant_id=tenant_id)
    permissions = PurchasePermission.objects.filter(customer=customer)
    subscriptions = Subscription.objects.filter(customer=customer, offer__in=Subscription.AZURE_OFFERS)
    owners = RoleAssignment.objects.filter(subscription__customer=customer, role=RoleAssignment.Role.OWNER,
                                           principal_type__in=RoleAssignment.CUSTOMER_PRINCIPALS)
    change = OutboxChange.objects.filter(customer=customer, kind=SELF_SERVE_POLICY_CHANGE) \
        .exclude(state=OutboxChange.State.SUPERSEDED).order_by("-id").first()
    policy = PartnerCenterPolicy.objects.filter(customer=customer, drift_found_at__isnull=False).first()
    limit = PurchaseLimit.objects.filter(customer=customer).first()
    billing = BillingPolicy.objects.filter(customer=customer).first()
    spent = CustomerPurchase.objects.filter(customer=customer, purchased_at__gte=timezone.now() - timedelta(
        days=365)).aggregate(total=Sum("commitment"))["total"]
    return HttpResponse(TEMPLATE.render({
        "customer": customer, "permissions": permissions, "subscriptions": subscriptions, "owners": owners,
        "change": change, "policy": policy, "limit": limit, "billing": billing, "spent": spent,
    }, request))
