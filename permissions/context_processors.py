from django.http import HttpRequest

from .policies import can_review_access


def access_review(request: HttpRequest) -> dict:
    """Whether the top bar offers the Access review (base.html)."""
    user = getattr(request, "user", None)
    return {"show_access_review": user is not None and user.is_authenticated and can_review_access(user)}
