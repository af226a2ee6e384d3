import re

import factory
from factory.django import DjangoModelFactory

from customers.models import Customer, CustomerUser, RoleAssignment, Subscription
from permissions.models import PurchasePermission, Resource
from portal.models import Agent

PASSWORD = "correct horse battery staple"


class AgentFactory(DjangoModelFactory):
    class Meta:
        model = Agent
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"agent{n}@partner.example")
    full_name = factory.Faker("name")
    role = Agent.Role.ADMIN_AGENT
    password = factory.django.Password(PASSWORD)


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    company_name = factory.Sequence(lambda n: f"Contoso {n}")
    domain = factory.Sequence(lambda n: f"contoso{n}.onmicrosoft.com")
    city = "Jakarta"
    country = "ID"
    contact_name = factory.Faker("name")
    contact_email = factory.Sequence(lambda n: f"it{n}@contoso.example")


class CustomerUserFactory(DjangoModelFactory):
    class Meta:
        model = CustomerUser

    customer = factory.SubFactory(CustomerFactory)
    user_principal_name = factory.LazyAttributeSequence(
        lambda o, n: f"user{n}@{o.customer.domain}"
    )
    display_name = factory.Faker("name")


class SubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = Subscription

    customer = factory.SubFactory(CustomerFactory)
    offer = Subscription.Offer.AZURE_PLAN
    friendly_name = "Azure plan"


class RoleAssignmentFactory(DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    subscription = factory.SubFactory(SubscriptionFactory)
    customer_user = factory.SubFactory(
        CustomerUserFactory, customer=factory.SelfAttribute("..subscription.customer")
    )
    role = RoleAssignment.Role.OWNER


def ready_customer(**kwargs) -> Customer:
    """A customer with an active Azure plan and an Owner on it."""
    assignment = RoleAssignmentFactory(subscription__customer=CustomerFactory(**kwargs))
    return assignment.subscription.customer


class PurchasePermissionFactory(DjangoModelFactory):
    class Meta:
        model = PurchasePermission

    customer = factory.SubFactory(CustomerFactory)
    resource = Resource.AZURE_RESERVATIONS
    granted_by = factory.SubFactory(AgentFactory)


def post_confirming(client, url: str, data: dict, **kwargs):
    """POST the Customer Permissions form as an agent does: when the answer is the liability confirmation
    step (issue 12), confirm it with the token it carries."""
    response = client.post(url, data, **kwargs)
    found = re.search(r'name="confirmation" value="([^"]+)"', response.content.decode())
    if found:
        response = client.post(url, {**data, "confirmation": found.group(1)}, **kwargs)
    return response
