from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
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

