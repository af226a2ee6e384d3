from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from activitylog.services import Origin
from customers.views import account_context, get_customer_account, posted

from .forms import PurchasePermissionsForm
from .services import set_purchase_permissions


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    """The Account page with its Customer Permissions box open for editing."""
    customer = get_customer_account(tenant_id)
    context = account_context(request, customer)
    form = PurchasePermissionsForm(posted(request),
                                   states=context["permission_states"])
    if request.method == "POST" and form.is_valid():
        try:
            changed = set_purchase_permissions(
                actor=request.user, customer=customer, allowed=form.allowed(),
                origin=Origin.from_request(request),
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            if changed:
                messages.success(request, _("Customer permissions saved for %(customer)s.")
                                 % {"customer": customer})
            else:
                messages.info(request, _("Nothing changed: the permissions were already set that way."))
            return redirect("customers:account", customer.tenant_id)
    if not context["can_change_permissions"]:
        raise PermissionDenied
    return render(request, "customers/account.html", {**context, "permissions_form": form},
                  status=400 if form.errors else 200)
