from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict:
    from activitylog.policies import can_view_activity_log
    from permissions.policies import can_review_access

    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "partner_name": settings.PARTNER_NAME,
        "show_activity_log": signed_in and can_view_activity_log(user),
        "show_access_review": signed_in and can_review_access(user),
    }
