from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict:
    from activitylog.policies import can_view_activity_log

    from .policies import can_manage_agents

    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "partner_name": settings.PARTNER_NAME,
        "show_activity_log": signed_in and can_view_activity_log(user),
        "show_agents": signed_in and can_manage_agents(user),
        "password_sign_in": settings.PASSWORD_SIGN_IN,
    }
