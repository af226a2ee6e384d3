from django.conf import settings
from django.http import HttpRequest

from .policies import can_manage_agents

# The top bar's tab for each URL namespace: every page about a customer, whichever app serves it, is
# under Customers. A view may still name its tab itself ("nav" in its context).
TABS = {"customers": "customers", "permissions": "access_review", "activitylog": "activitylog", "api": "api",
        "agents": "agents",
        "microsoft": "microsoft"}


def portal(request: HttpRequest) -> dict:
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "nav": TABS.get(match.namespaces[0], "") if match and match.namespaces else "",
        "partner_name": settings.PARTNER_NAME,
        "show_agents": signed_in and can_manage_agents(user),
        "password_sign_in": settings.PASSWORD_SIGN_IN,
    }
