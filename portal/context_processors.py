from django.conf import settings
from django.http import HttpRequest

# The top bar's tab for each URL namespace: every page about a customer, whichever app serves it, is
# under Customers. A view may still name its tab itself ("nav" in its context).
TABS = {"customers": "customers", "permissions": "customers", "activitylog": "activitylog", "api": "api",
        "microsoft": "microsoft"}


def portal(request: HttpRequest) -> dict:
    match = getattr(request, "resolver_match", None)
    return {
        "nav": TABS.get(match.namespaces[0], "") if match and match.namespaces else "",
        "partner_name": settings.PARTNER_NAME,
    }
