from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST

from customers.models import Customer
from outbox.models import OutboxChange
from permissions.models import SELF_SERVE_POLICY_CHANGE, PartnerCenterPolicy

from . import tasks
from .audit_import import audit_import_context
from .models import Connection, SyncError, SyncRun
from .policies import can_sync_now, can_view_connection
from .sync import KINDS

RECENT_ERRORS = 20


@require_GET
def connection(request: HttpRequest) -> HttpResponse:
    if not can_view_connection(request.user):
        raise PermissionDenied
    state = Connection.get()
    last_run = SyncRun.objects.first()
    kinds = [(kind, (last_run.counts.get(kind) if last_run else None) or {}) for kind in KINDS]
    return render(request, "microsoft/connection.html", {
        "nav": "microsoft",
        "mode": settings.MICROSOFT_CLOUD,
        "partner_tenant_id": settings.PARTNER_TENANT_ID,
        "app_id": settings.MICROSOFT_APP_ID,
        "has_refresh_token": state.has_refresh_token or bool(settings.MICROSOFT_REFRESH_TOKEN),
        "state": state,
        "last_run": last_run,
        "kinds": kinds,
        "errors": SyncError.objects.select_related("run")[:RECENT_ERRORS],
        "can_sync": can_sync_now(request.user),
        "sync_pending": _sync_pending(),
        **_outbox_context(),
        **audit_import_context(),
    })


RECENT_CHANGES = 50
KIND_LABELS = {SELF_SERVE_POLICY_CHANGE: _lazy("Self-serve policy")}


def _outbox_context() -> dict:
    """Issue 11: what the portal decided and Microsoft has not applied (yet), and drift."""
    changes = list(OutboxChange.objects.filter(
        state__in=[OutboxChange.State.WAITING, OutboxChange.State.NOT_APPLIED]).select_related(
        "customer").order_by("-id")[:RECENT_CHANGES])
    for change in changes:
        change.kind_label = KIND_LABELS.get(change.kind, change.kind)
    drifted = PartnerCenterPolicy.objects.filter(drift_found_at__isnull=False).select_related("customer")
    return {"outbox_changes": changes, "drifted": list(drifted[:RECENT_CHANGES]),
            "outbox_waiting": any(change.state == OutboxChange.State.WAITING for change in changes)}


def _sync_pending() -> bool:
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=tasks.sync_microsoft.module_path,
                                       status=TaskResultStatus.READY,
                                       args_kwargs__kwargs__scheduled__isnull=True).exists()


@require_POST
def sync_now(request: HttpRequest) -> HttpResponse:
    if not can_sync_now(request.user):
        raise PermissionDenied
    tenant = request.POST.get("customer", "").strip()
    customer = None
    if tenant:
        try:
            customer = get_object_or_404(Customer, tenant_id=UUID(tenant))
        except ValueError:
            customer = None
    tasks.sync_now(customer=str(customer.tenant_id) if customer else None)
    if customer:
        messages.success(request, _("A Microsoft sync of %(name)s is on its way; the page shows its "
                                    "result once the worker has run it.") % {"name": customer.company_name})
    else:
        messages.success(request, _("A Microsoft sync is on its way; this page shows its result once the "
                                    "worker has run it."))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure()):
        return redirect(back)
    return redirect("microsoft:connection")
