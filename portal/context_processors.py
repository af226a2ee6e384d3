from django.conf import settings
from django.http import HttpRequest

# The top bar's tab for each URL namespace: every page about a customer, whichever app serves it, is
# under Customers. A view may still name its tab itself ("nav" in its context).
TABS = {"customers": "customers", "permissions": "access_review", "activitylog": "activitylog", "api": "api"}


def portal(request: HttpRequest) -> dict:
    from activitylog.policies import can_view_activity_log
    from permissions.policies import can_review_access

    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    match = getattr(request, "resolver_match", None)
    return {
        "nav": TABS.get(match.namespaces[0], "") if match and match.namespaces else "",
        "partner_name": settings.PARTNER_NAME,
        "show_activity_log": signed_in and can_view_activity_log(user),
        "show_access_review": signed_in and can_review_access(user),
    }
