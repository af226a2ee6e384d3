import csv
from functools import cached_property
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from activitylog.models import label_of
from activitylog.services import Origin
from customers.models import Customer
from customers.views import account_context, get_customer_account, posted
from portal.csv_export import QUOTING, Echo, cell, streamed_csv

from . import services
from .forms import AccessReviewFilterForm, MarkReviewedForm, PurchasePermissionsForm
from .models import PurchasePermission, Resource
from .policies import CHANGE_REFUSED, REVIEW_REFUSED, can_review_access, readiness_of
from .services import set_purchase_permissions


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, tenant_id: UUID) -> HttpResponse:
    """The Account page with its Customer Permissions box open for editing."""
    customer = get_customer_account(tenant_id)
    context = account_context(request, customer)
    form = PurchasePermissionsForm(posted(request), states=context["permission_states"],
                                   ready=context["readiness"].ready)
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
        raise PermissionDenied(CHANGE_REFUSED)
    return render(request, "customers/account.html", {**context, "permissions_form": form},
                  status=400 if form.errors else 200)


REVIEW_PAGE_SIZE = 50


def require_reviewer(request: HttpRequest) -> None:
    if not can_review_access(request.user):
        raise PermissionDenied(REVIEW_REFUSED)


def reviewed_customers(form: AccessReviewFilterForm):
    """Every customer with a permission allowed, as the filters narrow them, in name order."""
    customers = form.filter(Customer.objects.with_readiness())
    return (customers.select_related("access_review__reviewed_by")
            .prefetch_related(Prefetch("purchase_permissions",
                                       queryset=PurchasePermission.objects.select_related("granted_by")
                                       .order_by("resource")))
            .by_name())


class ReviewRow:
    """One customer on the access review: its allowed permissions, readiness and last review.

    The row's sentences are made here, in Python: three {% blocktranslate %} per row were most of the
    page's time.
    """

    def __init__(self, customer: Customer):
        self.customer = customer
        self.permissions = list(customer.purchase_permissions.all())
        self.readiness = readiness_of(customer)
        self.review = getattr(customer, "access_review", None)

    @cached_property
    def allowed(self) -> list[tuple[str, str]]:
        return [(label_of(Resource, permission.resource), _("since %(when)s, by %(who)s") % {
            "when": date_format(permission.granted_at, "SHORT_DATETIME_FORMAT"),
            "who": permission.granted_by.email}) for permission in self.permissions]

    @property
    def select_label(self) -> str:
        return _("Select %(name)s") % {"name": self.customer.company_name}

    @property
    def mark_label(self) -> str:
        return format_html('{}<span class="visually-hidden">: {}</span>', _("Mark reviewed"),
                           self.customer.company_name)


@require_GET
def access_review(request: HttpRequest) -> HttpResponse:
    require_reviewer(request)
    form = AccessReviewFilterForm(request.GET)
    page, rows = None, []
    if form.is_valid():
        page = Paginator(reviewed_customers(form), REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [ReviewRow(customer) for customer in page.object_list]
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "permissions/access_review.html", {
        "form": form, "page": page, "rows": rows, "page_query": params.urlencode(),
    }, status=200 if form.is_valid() else 400)


def _review_cells(row: ReviewRow) -> list:
    review = row.review
    return [
        row.customer.company_name, str(row.customer.tenant_id),
        "; ".join(f"{allowed.get_resource_display()} ({allowed.resource})" for allowed in row.permissions),
        "; ".join(allowed.granted_at.strftime("%Y-%m-%d %H:%M:%S") for allowed in row.permissions),
        "; ".join(allowed.granted_by.email for allowed in row.permissions),
        _("Ready") if row.readiness.ready else _("Not ready"),
        " ".join(str(step.missing) for step in row.readiness.missing_steps),
        review.reviewed_at.strftime("%Y-%m-%d %H:%M:%S") if review else "",
        review.reviewed_by.email if review else "",
    ]


REVIEW_COLUMNS = [
    gettext_lazy("Customer"), gettext_lazy("Microsoft ID"), gettext_lazy("Allowed permissions"),
    gettext_lazy("Allowed since (UTC)"), gettext_lazy("Allowed by"), gettext_lazy("Readiness"),
    gettext_lazy("Why not ready"), gettext_lazy("Last reviewed (UTC)"), gettext_lazy("Reviewed by"),
]


@require_GET
def access_review_export(request: HttpRequest) -> HttpResponse:
    """The filtered access review as CSV, streamed a row at a time in the reader's language."""
    require_reviewer(request)
    form = AccessReviewFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "permissions/access_review.html", {"form": form, "rows": []}, status=400)
    customers = reviewed_customers(form)

    def rows():
        writer = csv.writer(Echo(), quoting=QUOTING)
        yield "\ufeff" + writer.writerow([str(header) for header in REVIEW_COLUMNS])
        for customer in customers.iterator(chunk_size=500):
            yield writer.writerow([cell(value) for value in _review_cells(ReviewRow(customer))])

    return streamed_csv(rows(), "access-review")


@require_POST
def mark_reviewed(request: HttpRequest) -> HttpResponse:
    """Sign off one customer or the ticked ones; back to the same filtered page."""
    form = MarkReviewedForm(request.POST)
    back = reverse("permissions:access_review") + _safe_query(request.POST.get("next", ""))
    if not form.is_valid():
        require_reviewer(request)
        for error in form.errors.get("__all__", []) + form.errors.get("selected", []):
            messages.error(request, error)
        return redirect(back)
    customers = list(Customer.objects.filter(tenant_id__in=form.tenant_ids()))
    reviewed = services.mark_reviewed(actor=request.user, customers=customers,
                                      origin=Origin.from_request(request))
    messages.success(request, ngettext(
        "%(count)d customer marked as reviewed.", "%(count)d customers marked as reviewed.", len(reviewed),
    ) % {"count": len(reviewed)})
    return redirect(back)


def _safe_query(query: str) -> str:
    """Only a query string of the review's own filters goes back into the redirect."""
    params = QueryDict(query.lstrip("?")).copy()
    kept = QueryDict(mutable=True)
    for key in ("permission", "readiness", "not_reviewed_since", "page"):
        if key in params:
            kept[key] = params[key]
    return f"?{kept.urlencode()}" if kept else ""
