"""The baseline: a bare Django page, signed in, showing the Account page's data plainly."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template import engines

from customers.models import Customer
from permissions.models import PurchasePermission

TEMPLATE = engines["django"].from_string(
    "<!doctype html><title>{{ customer.company_name }}</title><h1>{{ customer.company_name }}</h1>"
    "<dl><dt>Microsoft ID</dt><dd>{{ customer.tenant_id }}</dd><dt>Domain</dt>"
    "<dd>{{ customer.domain }}</dd><dt>Status</dt><dd>{{ customer.status }}</dd></dl>"
    "<ul>{% for permission in permissions %}<li>{{ permission.resource }}: "
    "{{ permission.granted_by_id }} {{ permission.granted_at }}</li>{% endfor %}</ul>"
)


def bare_account(request, tenant_id):
    customer = get_object_or_404(Customer, tenant_id=tenant_id)
    permissions = PurchasePermission.objects.filter(customer=customer)
    return HttpResponse(TEMPLATE.render({"customer": customer, "permissions": permissions}, request))
