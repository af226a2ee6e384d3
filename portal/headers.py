"""Response headers every page gets beyond Django's own, and the 403 that is not a traceback."""

import logging

from django.utils.cache import patch_cache_control


class PrivateCacheMiddleware:
    """`Cache-Control: private, no-store` on every signed-in page, export and API answer: each
    shows customer or agent data, which no shared cache and no browser disk may keep."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or request.path.startswith("/v1/"):
            patch_cache_control(response, private=True, no_store=True)
        return response


class NoTracebackForbidden(logging.Filter):
    """A 403 is an answer, not an error: Django logs it with the PermissionDenied's traceback,
    which says nothing and floods the log when someone probes. Keep the one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
