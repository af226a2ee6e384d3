from django.http import HttpRequest

from .policies import can_view_connection


def microsoft(request: HttpRequest) -> dict:
    """Whether the top bar offers the Microsoft connection page (base.html)."""
    user = getattr(request, "user", None)
    return {"show_microsoft": user is not None and user.is_authenticated and can_view_connection(user)}
