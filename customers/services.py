"""Writes about customers: each checks the role, locks, acts and logs in one transaction."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import DomainNameValidator
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from activitylog.models import Action, ResourceType
from activitylog.services import Origin, audited
from portal.models import Agent

from .models import Customer, CustomerUser, RoleAssignment, Subscription
from .policies import MANAGE_CUSTOMERS_REFUSED, can_manage_customers


def _require_admin(actor: Agent) -> None:
    if not can_manage_customers(actor):
        raise PermissionDenied(MANAGE_CUSTOMERS_REFUSED)


# A tenant's domain as Microsoft gives it: ASCII labels (an internationalised name in its xn-- form).
_DOMAIN = DomainNameValidator(accept_idna=False, message=_(
    "Enter a domain name such as contoso.onmicrosoft.com: letters, digits and hyphens, in labels "
    "separated by dots."), code="invalid_domain")


def validate_domain(domain: str) -> None:
    """A customer's domain must be a domain name, at least two labels."""
    _DOMAIN(domain)
    if "." not in domain:
        raise ValidationError(_DOMAIN.message, code="invalid_domain")


def lock_customer(customer: Customer) -> Customer:
    """Lock the customer's row for the rest of the transaction: every write about a customer does, first.

    FOR NO KEY UPDATE, and of the customer's row only: it serialises the writers about one customer
    (readiness cannot change under a check), yet lets a Failed entry's foreign-key check (FOR KEY
    SHARE, at its commit) through. A plain FOR UPDATE would make that check wait for a writer that is
    itself waiting for the log's lock, which the refusal holds: a deadlock.
    """
    return Customer.objects.select_for_update(no_key=True, of=("self",)).get(pk=customer.pk)


def refuse_unless_manager(
    *, actor: Agent, origin: Origin, action: Action, resource_type: ResourceType,
    customer: Customer | None = None,
) -> None:
    """The role check of every service here, for a forged POST whose data did not even validate.

    Refused as those services refuse, with a Failed entry naming what was attempted.
    """
    with audited(actor=actor, origin=origin, customer=customer, action=action, resource_type=resource_type):
        _require_admin(actor)


CUSTOMER_DETAILS = (
    "address_line", "city", "postal_code", "country",
    "contact_name", "contact_email", "contact_phone",
)


def add_customer(
    *, actor: Agent, company_name: str, domain: str, origin: Origin, **details: str
) -> Customer:
    """Create a customer account; Partner Center logs this as Add Customer."""
    unknown = set(details) - set(CUSTOMER_DETAILS)
    if unknown:
        raise TypeError(f"Unknown customer details: {', '.join(sorted(unknown))}")
    company_name, domain = company_name.strip(), domain.strip().lower()
    new_value = {"company_name": company_name, "domain": domain, **details}
    with audited(actor=actor, origin=origin, action=Action.ADD_CUSTOMER,
                 resource_type=ResourceType.CUSTOMER, new_value=new_value) as audit:
        _require_admin(actor)
        validate_domain(domain)
        # Only the customer's own insert can mean a taken domain; a failing log write must
        # not be reported as one.
        try:
            with transaction.atomic():
                customer = Customer.objects.create(company_name=company_name, domain=domain, **details)
        except IntegrityError:
            raise ValidationError(
                _("Another customer already uses the domain %(domain)s."),
                code="duplicate_domain",
                params={"domain": domain},
            ) from None
        audit.succeeded(customer=customer, resource_id=str(customer.tenant_id))
        return customer


def buy_azure_plan(
    *, actor: Agent, customer: Customer, friendly_name: str, origin: Origin,
    offer: str = Subscription.Offer.AZURE_PLAN,
) -> Subscription:
    """Buy a usage-based Azure subscription for the customer; logged as Create Order."""
    offer, friendly_name = Subscription.Offer(offer), friendly_name.strip()
    new_value = {"offer": offer, "friendly_name": friendly_name}
    with audited(actor=actor, origin=origin, customer=customer, action=Action.CREATE_ORDER,
                 resource_type=ResourceType.SUBSCRIPTION, new_value=new_value) as audit:
        _require_admin(actor)
        if offer not in Subscription.AZURE_OFFERS:
            raise ValidationError(_("Only Azure plan and Azure Global can be bought here."),
                                  code="not_azure")
        locked = lock_customer(customer)
        subscription = Subscription.objects.create(customer=locked, offer=offer, friendly_name=friendly_name)
        audit.succeeded(customer=locked, resource_id=str(subscription.subscription_id),
                        new_value={**new_value, "status": subscription.status})
        return subscription


def set_subscription_status(
    *, actor: Agent, subscription: Subscription, status: str, origin: Origin
) -> bool:
    """Suspend, reactivate or cancel a subscription. Returns whether anything changed."""
    status = Subscription.Status(status)
    with audited(actor=actor, origin=origin, customer=subscription.customer,
                 action=Action.UPDATE_SUBSCRIPTION, resource_type=ResourceType.SUBSCRIPTION,
                 resource_id=str(subscription.subscription_id),
                 new_value={"status": status, "friendly_name": subscription.friendly_name}) as audit:
        _require_admin(actor)
        locked = lock_customer(subscription.customer)
        current = Subscription.objects.get(pk=subscription.pk)
        if current.status == status:
            return False
        if current.status == Subscription.Status.CANCELLED:
            raise ValidationError(_("A cancelled subscription cannot be changed."), code="cancelled")
        old = current.status
        current.status = status
        current.save(update_fields=["status"])
        audit.succeeded(customer=locked, old_value={"status": old, "friendly_name": current.friendly_name},
                        new_value={"status": status, "friendly_name": current.friendly_name})
    subscription.status = status
    return True


def add_customer_user(
    *, actor: Agent, customer: Customer, user_principal_name: str, display_name: str,
    origin: Origin,
) -> CustomerUser:
    """Add a user to the customer's tenant."""
    upn, display_name = user_principal_name.strip().lower(), display_name.strip()
    new_value = {"user_principal_name": upn, "display_name": display_name}
    with audited(actor=actor, origin=origin, customer=customer, action=Action.ADD_CUSTOMER_USER,
                 resource_type=ResourceType.CUSTOMER_USER, resource_id=upn, new_value=new_value) as audit:
        _require_admin(actor)
        locked = lock_customer(customer)
        if CustomerUser.objects.filter(customer=locked, user_principal_name__iexact=upn).exists():
            raise ValidationError(
                _("%(upn)s is already a user of this customer."),
                code="duplicate_user",
                params={"upn": upn},
            )
        user = CustomerUser.objects.create(customer=locked, user_principal_name=upn,
                                           display_name=display_name)
        audit.succeeded(customer=locked)
        return user


def _assignment_id(assignment: RoleAssignment) -> str:
    """The log's resource id of an assignment: what it is, the same for a refused grant (which has no
    row) as for a granted or removed one, never the portal's internal number."""
    return (f"{assignment.subscription.subscription_id}/{assignment.customer_user.user_principal_name}"
            f"/{assignment.role}")


def _assignment_value(assignment: RoleAssignment) -> dict:
    """The assignment by its ids and, so that the log can name it in words for ever, by its names."""
    return {
        "role": assignment.role,
        "user_principal_name": assignment.customer_user.user_principal_name,
        "display_name": assignment.customer_user.display_name,
        "subscription_id": str(assignment.subscription.subscription_id),
        "friendly_name": assignment.subscription.friendly_name,
    }


def grant_role(
    *, actor: Agent, subscription: Subscription, customer_user: CustomerUser,
    origin: Origin, role: str = RoleAssignment.Role.OWNER,
) -> RoleAssignment:
    """Give a customer user an Azure RBAC role on one of the customer's Azure subscriptions."""
    role = RoleAssignment.Role(role)
    proposed = RoleAssignment(subscription=subscription, customer_user=customer_user, role=role)
    with audited(actor=actor, origin=origin, customer=subscription.customer,
                 action=Action.CREATE_ROLE_ASSIGNMENT, resource_type=ResourceType.ROLE_ASSIGNMENT,
                 resource_id=_assignment_id(proposed), new_value=_assignment_value(proposed)) as audit:
        _require_admin(actor)
        locked = lock_customer(subscription.customer)
        subscription = Subscription.objects.get(pk=subscription.pk)
        if customer_user.customer_id != locked.pk:
            raise ValidationError(_("That user belongs to another customer."), code="other_customer")
        if not subscription.is_azure:
            raise ValidationError(
                _("Roles can only be granted on Azure plan or Azure Global subscriptions."),
                code="not_azure",
            )
        if subscription.status == Subscription.Status.CANCELLED:
            raise ValidationError(_("The subscription is cancelled."), code="cancelled")
        if RoleAssignment.objects.filter(
            subscription=subscription, customer_user=customer_user, role=role
        ).exists():
            raise ValidationError(
                _("%(user)s already has the %(role)s role on %(subscription)s."),
                code="duplicate_role",
                params={"user": customer_user.display_name, "role": role.label,
                        "subscription": subscription.friendly_name},
            )
        assignment = RoleAssignment.objects.create(
            subscription=subscription, customer_user=customer_user, role=role
        )
        audit.succeeded(customer=locked, resource_id=_assignment_id(assignment),
                        new_value=_assignment_value(assignment))
        return assignment


def remove_role(*, actor: Agent, assignment: RoleAssignment, origin: Origin) -> bool:
    """Remove a role assignment. Returns whether anything changed (it may be gone already)."""
    customer = assignment.subscription.customer
    with audited(actor=actor, origin=origin, customer=customer, action=Action.DELETE_ROLE_ASSIGNMENT,
                 resource_type=ResourceType.ROLE_ASSIGNMENT, resource_id=_assignment_id(assignment),
                 old_value=_assignment_value(assignment)) as audit:
        _require_admin(actor)
        locked = lock_customer(customer)
        deleted, _by_model = RoleAssignment.objects.filter(pk=assignment.pk).delete()
        if not deleted:
            return False
        audit.succeeded(customer=locked)
        return True
