"""The readiness steps, acted on Microsoft (issue 11 step 7): grant or remove an Azure role, buy an Azure
plan, add a customer user.

Each is one role-checked service with its activity-log entry, as before; instead of writing the mirror
row, it queues the change for Microsoft (the outbox) in the same transaction. The worker sends it
(microsoft/steps.py) and the mirror changes when Microsoft confirms. Until then the step is pending; a
refusal from Microsoft is shown with its reason. The customers' own row-writing services stay for seed
data and tests: no form calls them.
"""

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from activitylog.models import Action, ResourceType
from activitylog.services import Origin, audited
from customers.models import (
    AZURE_PLAN_PRODUCT,
    AzureSubscription,
    Customer,
    CustomerUser,
    RoleAssignment,
    Subscription,
)
from customers.policies import MANAGE_CUSTOMERS_REFUSED, can_manage_customers
from customers.services import lock_customer
from outbox.models import OutboxChange
from outbox.services import change_key, enqueue
from portal.models import Agent

# The outbox kinds (microsoft/steps.py registers their handlers).
ROLE_ASSIGNMENT_CHANGE = "azure.role_assignment"
AZURE_PLAN_ORDER = "partnercenter.azure_plan_order"
CUSTOMER_USER_CHANGE = "partnercenter.customer_user"
STEP_KINDS = (ROLE_ASSIGNMENT_CHANGE, AZURE_PLAN_ORDER, CUSTOMER_USER_CHANGE)

# Azure's role definitions by id (MICROSOFT.md §2), for the roles the form offers.
ROLE_DEFINITIONS = {role: guid for guid, role in RoleAssignment.ROLE_DEFINITIONS.items()}

WAITING_ALREADY = _("The same change is already waiting for Microsoft.")


def _require_admin(actor: Agent) -> None:
    if not can_manage_customers(actor):
        raise PermissionDenied(MANAGE_CUSTOMERS_REFUSED)


def _waiting(kind: str, customer: Customer, subject: str) -> bool:
    return OutboxChange.objects.filter(key=change_key(kind, customer, subject),
                                       state=OutboxChange.State.WAITING).exists()


# --- Grant / remove a role on an Azure subscription (Azure Resource Manager) ---------------------------

def grant_subject(azure: AzureSubscription, upn: str, role: str) -> str:
    return f"grant:{azure.azure_subscription_id}:{upn.lower()}:{role}"


def request_role(
    *, actor: Agent, azure_subscription: AzureSubscription, user_principal_name: str, origin: Origin,
    role: str = RoleAssignment.Role.OWNER,
) -> OutboxChange:
    """Ask Azure to give a customer user (found by sign-in name in Microsoft Graph) a role on one of the
    customer's Azure subscriptions. Logged as Create Role Assignment; the mirror row comes when Azure
    confirms."""
    role = RoleAssignment.Role(role)
    upn = user_principal_name.strip().lower()
    customer = azure_subscription.subscription.customer
    value = {"role": role, "user_principal_name": upn,
             "azure_subscription_id": str(azure_subscription.azure_subscription_id),
             "azure_subscription_name": azure_subscription.friendly_name}
    with audited(actor=actor, origin=origin, customer=customer, action=Action.CREATE_ROLE_ASSIGNMENT,
                 resource_type=ResourceType.ROLE_ASSIGNMENT,
                 resource_id=f"{azure_subscription.azure_subscription_id}/{upn}/{role}",
                 new_value=value) as audit:
        _require_admin(actor)
        if role not in ROLE_DEFINITIONS:
            raise ValidationError(_("Choose Owner, Contributor or Reader."), code="unknown_role")
        locked = lock_customer(customer)
        azure = AzureSubscription.objects.select_related("subscription").get(pk=azure_subscription.pk)
        if azure.subscription.customer_id != locked.pk:
            raise ValidationError(_("That Azure subscription belongs to another customer."),
                                  code="other_customer")
        if not azure.is_active or not azure.subscription.is_active:
            raise ValidationError(_("Roles can only be granted on an active Azure subscription."),
                                  code="not_active")
        if RoleAssignment.objects.filter(azure_subscription=azure, role=role,
                                         principal_sign_in_name__iexact=upn).exists():
            raise ValidationError(_("%(user)s already has the %(role)s role on %(subscription)s."),
                                  code="duplicate_role", params={"user": upn, "role": role.label,
                                                                  "subscription": str(azure)})
        subject = grant_subject(azure, upn, role)
        if _waiting(ROLE_ASSIGNMENT_CHANGE, locked, subject):
            raise ValidationError(WAITING_ALREADY, code="waiting")
        change = enqueue(kind=ROLE_ASSIGNMENT_CHANGE, customer=locked, origin=origin, actor=actor,
                         subject=subject, desired={
                             "operation": "create", **value, "role_definition_id": ROLE_DEFINITIONS[role],
                             # The assignment's name (a GUID) is chosen here, once: every attempt PUTs
                             # the same one, so a repeat finds its own assignment.
                             "assignment_name": str(uuid.uuid4())})
        audit.succeeded(customer=locked)
        return change


def request_role_removal(*, actor: Agent, assignment: RoleAssignment, origin: Origin) -> OutboxChange:
    """Ask Azure to delete a role assignment it holds (a mirror row). Logged as Delete Role Assignment;
    the mirror row goes when Azure confirms."""
    customer = assignment.subscription.customer
    azure = assignment.azure_subscription
    value = {"role": assignment.role, "principal_id": assignment.principal_id,
             "principal_type": assignment.principal_type, "principal_name": assignment.principal_name,
             "principal_sign_in_name": assignment.principal_sign_in_name,
             "azure_subscription_id": str(azure.azure_subscription_id) if azure else "",
             "azure_subscription_name": azure.friendly_name if azure else ""}
    with audited(actor=actor, origin=origin, customer=customer, action=Action.DELETE_ROLE_ASSIGNMENT,
                 resource_type=ResourceType.ROLE_ASSIGNMENT, resource_id=assignment.assignment_name,
                 old_value=value) as audit:
        _require_admin(actor)
        locked = lock_customer(customer)
        if azure is None or not assignment.assignment_name:
            raise ValidationError(_("This role is not one Azure holds."), code="not_azure")
        if not assignment.counts_as_customer:
            raise ValidationError(_("Only the customer's own users' and groups' roles are removed here."),
                                  code="not_customer")
        subject = f"remove:{azure.azure_subscription_id}:{assignment.assignment_name}"
        if _waiting(ROLE_ASSIGNMENT_CHANGE, locked, subject):
            raise ValidationError(WAITING_ALREADY, code="waiting")
        change = enqueue(kind=ROLE_ASSIGNMENT_CHANGE, customer=locked, origin=origin, actor=actor,
                         subject=subject, desired={"operation": "delete", **value,
                                                   "assignment_name": assignment.assignment_name})
        audit.succeeded(customer=locked)
        return change


# --- Buy an Azure plan (Partner Center: cart, then checkout) --------------------------------------------

def request_azure_plan(*, actor: Agent, customer: Customer, friendly_name: str,
                       origin: Origin) -> OutboxChange:
    """Order an Azure plan for the customer in Partner Center. Logged as Create Order; the subscription
    arrives in the mirror when Partner Center confirms the checkout."""
    friendly_name = friendly_name.strip()
    value = {"offer": Subscription.Offer.AZURE_PLAN, "friendly_name": friendly_name}
    with audited(actor=actor, origin=origin, customer=customer, action=Action.CREATE_ORDER,
                 resource_type=ResourceType.SUBSCRIPTION, new_value=value) as audit:
        _require_admin(actor)
        locked = lock_customer(customer)
        if locked.subscriptions.filter(offer_id__istartswith=AZURE_PLAN_PRODUCT).exclude(
                status__in=[Subscription.Status.CANCELLED, Subscription.Status.DELETED,
                            Subscription.Status.EXPIRED]).exists():
            raise ValidationError(_("The customer already has an Azure plan: Partner Center allows one. "
                                    "Add Azure subscriptions to it instead."), code="has_plan")
        if _waiting(AZURE_PLAN_ORDER, locked, "azure_plan"):
            raise ValidationError(WAITING_ALREADY, code="waiting")
        change = enqueue(kind=AZURE_PLAN_ORDER, customer=locked, origin=origin, actor=actor,
                         subject="azure_plan", desired=value)
        audit.succeeded(customer=locked)
        return change


# --- Add a customer user (Partner Center's customer users API) ------------------------------------------

def request_customer_user(*, actor: Agent, customer: Customer, user_principal_name: str, display_name: str,
                          first_name: str, last_name: str, usage_location: str,
                          origin: Origin) -> OutboxChange:
    """Create a user in the customer's tenant through Partner Center. Logged as Add Customer User; the
    user arrives in the mirror when Partner Center confirms."""
    upn = user_principal_name.strip().lower()
    value = {"user_principal_name": upn, "display_name": display_name.strip(),
             "first_name": first_name.strip(), "last_name": last_name.strip(),
             "usage_location": usage_location.strip().upper()}
    with audited(actor=actor, origin=origin, customer=customer, action=Action.ADD_CUSTOMER_USER,
                 resource_type=ResourceType.CUSTOMER_USER, resource_id=upn, new_value=value) as audit:
        _require_admin(actor)
        locked = lock_customer(customer)
        if CustomerUser.objects.filter(customer=locked, user_principal_name__iexact=upn).exists():
            raise ValidationError(_("%(upn)s is already a user of this customer."), code="duplicate_user",
                                  params={"upn": upn})
        if _waiting(CUSTOMER_USER_CHANGE, locked, upn):
            raise ValidationError(WAITING_ALREADY, code="waiting")
        change = enqueue(kind=CUSTOMER_USER_CHANGE, customer=locked, origin=origin, actor=actor,
                         subject=upn, desired=value)
        audit.succeeded(customer=locked)
        return change


# --- what is pending or was refused -------------------------------------------------------------------

def _recent_steps_sql() -> str:
    """Hand-written, as the Account page's other reads are (permissions/selectors.py): the ORM spent about
    a millisecond building this small statement on every page."""
    table = OutboxChange._meta.db_table
    columns = ", ".join(OutboxChange._meta.get_field(name).column for name in (
        "id", "kind", "key", "customer", "desired", "state", "created_at", "error_message", "error_code",
        "error_request_id", "blocked"))
    return (f"SELECT {columns} FROM {table} WHERE customer_id = %s AND kind IN (%s, %s, %s)"  # noqa: S608
            f" AND state IN (%s, %s, %s) ORDER BY id DESC LIMIT %s")


_RECENT_STEPS_SQL: list[str] = []


def step_changes(customer: Customer, *, limit: int = 20) -> list[OutboxChange]:
    """The customer's step changes that are waiting for Microsoft, and those Microsoft refused that no
    later change of the same thing has replaced: newest first. One query (it is on the Account page): the
    recent changes in those states and the applied ones, the replaced refusals set aside here."""
    State = OutboxChange.State
    if not _RECENT_STEPS_SQL:
        _RECENT_STEPS_SQL.append(_recent_steps_sql())
    recent = OutboxChange.objects.raw(_RECENT_STEPS_SQL[0], [
        customer.pk, *STEP_KINDS, State.WAITING, State.NOT_APPLIED, State.APPLIED, limit * 5])
    shown, applied_later = [], set()
    for change in recent:  # newest first: an applied change replaces the refusals of its key before it
        if change.state == State.APPLIED:
            applied_later.add(change.key)
        elif change.is_waiting or change.key not in applied_later:
            shown.append(change)
    return shown[:limit]


def describe(change: OutboxChange) -> str:
    """A step change in words, for the pages that show it pending or refused."""
    desired = change.desired
    names = {"role": RoleAssignment.Role(desired.get("role", RoleAssignment.Role.OTHER)).label
             if desired.get("role") in RoleAssignment.Role.values else desired.get("role", ""),
             "user": desired.get("user_principal_name") or desired.get("principal_sign_in_name")
             or desired.get("principal_name") or desired.get("principal_id", ""),
             "subscription": desired.get("azure_subscription_name")
             or desired.get("azure_subscription_id", ""),
             "name": desired.get("friendly_name", "")}
    if change.kind == ROLE_ASSIGNMENT_CHANGE and desired.get("operation") == "delete":
        return _("Remove the %(role)s role of %(user)s on %(subscription)s") % names
    if change.kind == ROLE_ASSIGNMENT_CHANGE:
        return _("Grant %(role)s to %(user)s on %(subscription)s") % names
    if change.kind == AZURE_PLAN_ORDER:
        return _("Buy an Azure plan: %(name)s") % names
    return _("Add the user %(user)s") % names
