from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import i18n as i18n_views
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import LANGUAGE_QUERY_PARAMETER


@login_not_required
@never_cache
@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    """The process answers; says nothing about its dependencies."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database answers and every migration is applied."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    if pending:
        return JsonResponse({"status": "unavailable", "database": "ok",
                             "pending_migrations": len(pending)}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie, then back to `next`), and a signed-in agent keeps the choice."""
    response = i18n_views.set_language(request)
    language = request.POST.get(LANGUAGE_QUERY_PARAMETER, "")
    agent = request.user
    if agent.is_authenticated and language in dict(settings.LANGUAGES) and agent.language != language:
        agent.language = language
        agent.save(update_fields=["language"])
    return response


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 403 page: what was refused, and whether the refused attempt was recorded in the log.

    Services log every refused write as Failed under the request's id; a page that is only refused
    (a read-only role opening a form) leaves no entry, and the page says nothing it cannot back up.
    """
    from activitylog.models import ActivityLogEntry, Status

    reason = exception.args[0] if getattr(exception, "args", None) and exception.args[0] else ""
    request_id = getattr(request, "request_id", "")
    recorded = bool(request_id) and ActivityLogEntry.objects.filter(
        request_id=request_id, status=Status.FAILED).exists()
    return render(request, "403.html", {"reason": reason, "recorded": recorded}, status=403)
