"""How the activity log names this app's objects in words (see activitylog.objects)."""

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from activitylog.objects import describes, name_fields, name_values

from .models import Customer, RoleAssignment, Subscription
from .services import CUSTOMER_DETAILS


@describes("customer")
def _customer(resource_id: str, value: dict) -> str:
    return _("%(name)s (%(domain)s)") % {"name": value["company_name"], "domain": value["domain"]}


@describes("subscription")
def _subscription(resource_id: str, value: dict) -> str:
    return value.get("friendly_name") or resource_id


@describes("customer_user")
def _customer_user(resource_id: str, value: dict) -> str:
    return _("%(name)s (%(upn)s)") % {"name": value["display_name"], "upn": value["user_principal_name"]}


@describes("role_assignment")
def _role_assignment(resource_id: str, value: dict) -> str:
    # Entries written before the names were kept name the user and the subscription by their ids.
    return _("%(role)s for %(user)s, on %(subscription)s") % {
        "role": RoleAssignment.Role(value["role"]).label,
        "user": value.get("display_name") or value["user_principal_name"],
        "subscription": value.get("friendly_name") or value["subscription_id"],
    }


name_fields(
    status=_("Status"), friendly_name=_("Friendly name"), offer=_("Offer"), role=_("Role"),
    user_principal_name=_("Sign-in name"), display_name=_("Display name"),
    subscription_id=_("Subscription ID"),
    # A new customer's details, by the names its form gives them.
    **{name: capfirst(Customer._meta.get_field(name).verbose_name)
       for name in ("company_name", "domain", *CUSTOMER_DETAILS)},
)
name_values(
    status=lambda code: Subscription.Status(code).label,
    offer=lambda code: Subscription.Offer(code).label,
    role=lambda code: RoleAssignment.Role(code).label,
)
