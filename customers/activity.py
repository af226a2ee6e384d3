"""How the activity log names this app's objects in words (see activitylog.objects)."""

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from activitylog.objects import describes, name_fields, name_values

from .models import Customer, RoleAssignment, Subscription, status_label
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
    # Typed in here: the customer user and the subscription by name (entries written before the names
    # were kept, by their ids). Synchronised from Azure: the principal as Azure and Graph name it (with
    # its type unless a user), on the Azure subscription.
    principal = (value.get("display_name") or value.get("user_principal_name") or value.get("principal_name")
                 or value.get("principal_sign_in_name") or value.get("principal_id") or resource_id)
    principal_type = value.get("principal_type")
    if principal_type and principal_type != RoleAssignment.PrincipalType.USER:
        principal = _("%(name)s (%(type)s)") % {"name": principal,
                                                 "type": _principal_type(principal_type)}
    return _("%(role)s for %(user)s, on %(subscription)s") % {
        "role": RoleAssignment.Role(value["role"]).label,
        "user": principal,
        "subscription": (value.get("friendly_name") or value.get("subscription_id")
                         or value["azure_subscription_id"]),
    }


@describes("azure_subscription")
def _azure_subscription(resource_id: str, value: dict) -> str:
    return value.get("friendly_name") or resource_id


def _principal_type(code: str) -> str:
    try:
        return RoleAssignment.PrincipalType(code).label
    except ValueError:
        return code


name_fields(
    status=_("Status"), friendly_name=_("Friendly name"), offer=_("Offer"), role=_("Role"),
    user_principal_name=_("Sign-in name"), display_name=_("Display name"),
    subscription_id=_("Subscription ID"),
    # Synchronised from Partner Center and Azure.
    relationship=_("Relationship"), azure_subscription_id=_("Azure subscription ID"),
    role_definition_id=_("Role definition ID"), principal_id=_("Principal ID"),
    principal_type=_("Principal type"), principal_name=_("Principal name"),
    principal_sign_in_name=_("Principal sign-in name"),
    # A new customer's details, by the names its form gives them.
    **{name: capfirst(Customer._meta.get_field(name).verbose_name)
       for name in ("company_name", "domain", *CUSTOMER_DETAILS)},
)
name_values(
    status=status_label,
    offer=lambda code: Subscription.Offer(code).label,
    role=lambda code: RoleAssignment.Role(code).label,
    principal_type=_principal_type,
)
