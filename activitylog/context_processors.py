from django.http import HttpRequest

from .policies import can_view_activity_log


def activity_log(request: HttpRequest) -> dict:
    """Whether the top bar offers the Activity log (base.html)."""
    user = getattr(request, "user", None)
    return {"show_activity_log": user is not None and user.is_authenticated and can_view_activity_log(user)}
