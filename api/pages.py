"""The portal's pages about the API: an agent's own tokens, and the reference."""

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from activitylog.services import Origin
from customers.views import posted

from .forms import ApiTokenForm
from .models import ApiToken
from .openapi import document, reference_operations
from .services import issue_token, revoke_token

SHOWN_ONCE_IN_SESSION = "api_new_token"


@never_cache
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """Every role manages its own tokens. A new token's secret is shown once, on the page the creation
    redirects to (post-redirect-get: reloading never creates a second token or shows it again)."""
    form = ApiTokenForm(posted(request))
    if request.method == "POST" and form.is_valid():
        _token, secret = issue_token(actor=request.user, owner=request.user,
                                     name=form.cleaned_data["name"], expires_at=form.expires_at(),
                                     origin=Origin.from_request(request))
        request.session[SHOWN_ONCE_IN_SESSION] = secret
        return redirect("api:tokens")
    return render(request, "api/tokens.html", {
        "form": form, "new_token": request.session.pop(SHOWN_ONCE_IN_SESSION, None), "nav": "api",
        "tokens": ApiToken.objects.filter(owner=request.user),
    }, status=400 if form.errors else 200)


@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Someone else's token is refused by the service (403), and the attempt logged as Failed."""
    token = get_object_or_404(ApiToken, pk=token_id)
    if revoke_token(actor=request.user, token=token, origin=Origin.from_request(request)):
        messages.success(request, _("Token “%(name)s” revoked: it no longer works.") % {"name": token.name})
    return redirect("api:tokens")


@require_GET
def reference(request: HttpRequest) -> HttpResponse:
    doc = document(request)
    schemas = [(name, json.dumps(schema, indent=2, ensure_ascii=False))
               for name, schema in doc["components"]["schemas"].items()]
    return render(request, "api/reference.html", {
        "doc": doc, "operations": reference_operations(doc), "schemas": schemas, "nav": "api",
    })
