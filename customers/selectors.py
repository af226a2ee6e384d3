"""Reads for the customers' pages and the API's customer list."""

from django.db.models import Prefetch

from .models import Customer, CustomerQuerySet, RoleAssignment, SubscriptionQuerySet


def customers_found(query: str) -> CustomerQuerySet:
    """Customers by company name or domain (substring, ignoring case and accents), or by exact tenant id;
    all when empty; in the order a reader expects."""
    return Customer.objects.search(query).by_name()


def subscriptions_with_roles(customer: Customer) -> SubscriptionQuerySet:
    """The customer's subscriptions, each with its role assignments by user name (two queries)."""
    return customer.subscriptions.prefetch_related(Prefetch(
        "role_assignments",
        queryset=RoleAssignment.objects.select_related("customer_user", "azure_subscription").order_by(
            "customer_user__display_name", "principal_name", "role"),
    ))


def subscriptions_with_owners(customer: Customer) -> SubscriptionQuerySet:
    """The customer's subscriptions, each with its Owner assignments as ``owners`` (two queries)."""
    # The customer's own Owners (the partner's ForeignGroup and service principals are not the customer's).
    owners = RoleAssignment.objects.filter(
        role=RoleAssignment.Role.OWNER, principal_type__in=RoleAssignment.CUSTOMER_PRINCIPALS,
    ).select_related("customer_user")
    return customer.subscriptions.prefetch_related(Prefetch("role_assignments", queryset=owners,
                                                            to_attr="owners"))


def users_with_roles(customer: Customer):
    """The customer's users, each with the roles it holds and their subscriptions (two queries)."""
    return customer.users.prefetch_related(
        Prefetch("role_assignments", queryset=RoleAssignment.objects.select_related("subscription")))
