"""Build simulator scenarios (SIMULATOR-CONTRACT.md, PUT /_simulator/state) the way Microsoft would hold
them: used by seed_demo to fill the simulator and by the tests. Never used against Microsoft."""

import uuid
from dataclasses import dataclass, field

from customers.models import (  # noqa: F401 - re-exported for scenario builders
    AZURE_GLOBAL_OFFER,
    CONTRIBUTOR_ROLE_DEFINITION,
    OWNER_ROLE_DEFINITION,
    READER_ROLE_DEFINITION,
)

AZURE_PLAN_OFFER = "DZH318Z0BPS6:0001:DZH318Z0BML6"
MICROSOFT_365_OFFER = "CFQ7TTC0LDPB:0001"
# The partner's AdminAgents group, seen in customer tenants as a ForeignGroup Owner (AOBO).
ADMIN_AGENTS_GROUP = "a1b2c3d4-0000-4000-8000-00000000a9e7"


def guid(namespace: str, *parts) -> str:
    """A stable GUID, so a scenario built twice is the same scenario."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join([namespace, *map(str, parts)])))


@dataclass
class Partner:
    tenant_id: str
    app_id: str
    app_secret: str
    name: str = "Contoso Cloud Partner"
    staff: list = field(default_factory=list)

    def document(self) -> dict:
        return {"tenantId": self.tenant_id, "name": self.name, "appId": self.app_id,
                "appSecret": self.app_secret, "adminAgentsGroupId": ADMIN_AGENTS_GROUP,
                "staff": self.staff or [{
                    "oid": guid(self.tenant_id, "admin"), "userPrincipalName": "admin@partner.example",
                    "displayName": "Partner Admin", "roles": ["AdminAgent"], "groups": [], "mfa": True}]}


class CustomerBuilder:
    def __init__(self, name: str, *, domain: str | None = None, tenant_id: str | None = None,
                 relationship: str = "reseller"):
        self.tenant_id = tenant_id or guid("customer", name)
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:40] or "customer"
        self.doc = {"tenantId": self.tenant_id, "companyName": name,
                    "domain": domain or f"{slug}.onmicrosoft.com", "relationship": relationship,
                    "users": [], "groups": [], "servicePrincipals": [], "subscriptions": []}

    def user(self, display_name: str, upn: str | None = None) -> str:
        oid = guid(self.tenant_id, "user", display_name)
        local = "".join(ch for ch in display_name.lower() if ch.isalnum()) or "user"
        self.doc["users"].append({"id": oid, "displayName": display_name,
                                  "userPrincipalName": upn or f"{local}@{self.doc['domain']}"})
        return oid

    def group(self, display_name: str) -> str:
        oid = guid(self.tenant_id, "group", display_name)
        self.doc["groups"].append({"id": oid, "displayName": display_name})
        return oid

    def service_principal(self, display_name: str) -> str:
        oid = guid(self.tenant_id, "sp", display_name)
        self.doc["servicePrincipals"].append({"id": oid, "displayName": display_name})
        return oid

    def subscription(self, *, offer_id: str = AZURE_PLAN_OFFER, name: str = "Azure plan",
                     status: str = "active", offer_name: str | None = None, quantity: int = 1) -> dict:
        index = len(self.doc["subscriptions"])
        subscription = {"id": guid(self.tenant_id, "subscription", index), "offerId": offer_id,
                        "offerName": offer_name or name, "friendlyName": name, "status": status,
                        "quantity": quantity,
                        "billingType": "license" if offer_id == MICROSOFT_365_OFFER else "usage",
                        "creationDate": "2026-01-15T08:00:00Z", "azureSubscriptions": []}
        if offer_id == AZURE_GLOBAL_OFFER:
            subscription["entitlementId"] = subscription["id"]
        self.doc["subscriptions"].append(subscription)
        return subscription

    def azure_subscription(self, subscription: dict, *, name: str = "Microsoft Azure",
                           status: str = "active", partner_owner: bool = True) -> dict:
        index = len(subscription["azureSubscriptions"])
        azure = {"id": subscription["id"] if subscription["offerId"] == AZURE_GLOBAL_OFFER and index == 0
                 else guid(subscription["id"], "azure", index),
                 "friendlyName": name, "status": status, "roleAssignments": []}
        subscription["azureSubscriptions"].append(azure)
        if partner_owner:
            self.assign(azure, ADMIN_AGENTS_GROUP, "ForeignGroup")
        return azure

    def assign(self, azure: dict, principal_id: str, principal_type: str = "User",
               role_definition_id: str = OWNER_ROLE_DEFINITION) -> dict:
        assignment = {"name": guid(azure["id"], "assignment", principal_id, role_definition_id),
                      "principalId": principal_id, "principalType": principal_type,
                      "roleDefinitionId": role_definition_id}
        azure["roleAssignments"].append(assignment)
        return assignment

    def reader(self, azure: dict, principal_id: str) -> dict:
        return self.assign(azure, principal_id, "User", READER_ROLE_DEFINITION)

    def self_serve(self, *permissions: str) -> None:
        self.doc["selfServePolicy"] = {"permissions": list(permissions)}


def scenario(partner: Partner, customers: list[CustomerBuilder]) -> dict:
    return {"partner": partner.document(), "customers": [customer.doc for customer in customers]}
