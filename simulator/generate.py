"""A large synthetic partner for benchmarks: thousands of customers, fast."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
AZURE_PLAN = "DZH318Z0BPS6:0001:DZH318Z0BML6"
LICENSE_OFFERS = [("CFQ7TTC0LH18:0001", "Microsoft 365 Business Basic"),
                  ("CFQ7TTC0LDPB:0001", "Microsoft 365 Business Standard"),
                  ("CFQ7TTC0LFLX:0001", "Microsoft 365 E3"),
                  ("CFQ7TTC0LHSF:0001", "Dynamics 365 Business Central Essentials")]
WORDS = ["Contoso", "Fabrikam", "Northwind", "Adatum", "Litware", "Tailspin", "Woodgrove", "Proseware",
         "Wingtip", "Alpine", "Blue Yonder", "Coho", "Lucerne", "Margie", "Trey", "Wide World"]
KINDS = ["Traders", "Logistics", "Health", "Bank", "Foods", "Studio", "Energy", "Partners"]
AUDIT_OPERATIONS = [("create_order", "order"), ("update_subscription", "subscription"),
                    ("create_customer_user", "customer_user"), ("update_customer_user_licenses", "license"),
                    ("create_self_serve_policy", "self_serve_policy"), ("add_customer", "customer")]


def generate(customers: int = 1000, subscriptionsPerCustomer: int = 3, seed: int = 1,  # noqa: N803
             auditRecords: int = 0, usersPerCustomer: int = 2) -> dict:  # noqa: N803 - the JSON names
    """Each customer: an Azure plan (one or two Azure subscriptions; the partner's AdminAgents group as
    Owner, and on most a customer user as Owner) and license subscriptions up to subscriptionsPerCustomer;
    some plans suspended, some customers with a self-serve policy. Same seed, same partner."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets

    def guid() -> str:   # a version-4 UUID from the seeded generator (faster than uuid.UUID)
        h = f"{rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    partner_id = guid()
    admin_agents = guid()
    staff = [{"oid": guid(), "userPrincipalName": f"{role.lower()}@partner.example", "displayName": name,
              "roles": [role], "groups": [admin_agents] if role == "AdminAgent" else [], "mfa": True}
             for role, name in (("AdminAgent", "Ada Admin"), ("SalesAgent", "Sam Sales"),
                                ("HelpdeskAgent", "Hal Helpdesk"), ("Operator", "Olu Operator"))]
    partner = {"tenantId": partner_id, "name": "Synthetic CSP Partner", "domain": "partner.onmicrosoft.com",
               "appId": guid(), "appSecret": f"generated-secret-{seed}", "staff": staff,
               "groups": [{"id": admin_agents, "displayName": "AdminAgents"}]}
    base = datetime(2025, 1, 1, tzinfo=UTC)
    result = []
    for number in range(1, customers + 1):
        tid = guid()
        domain = f"customer{number:05d}.onmicrosoft.com"
        users = [{"id": guid(), "userPrincipalName": f"user{u}@{domain}",
                  "displayName": f"User {u} of {number}"} for u in range(1, usersPerCustomer + 1)]
        group = {"id": guid(), "displayName": "Cloud administrators"}
        created = (base + timedelta(days=rng.randrange(600))).strftime("%Y-%m-%dT%H:%M:%SZ")
        azure_subscriptions = []
        for index in range(1 + (rng.random() < 0.2)):
            assignments = [{"name": guid(), "principalId": admin_agents, "principalType": "ForeignGroup",
                            "roleDefinitionId": OWNER}]
            if index == 0 and rng.random() < 0.75:
                assignments.append({"name": guid(), "principalId": users[0]["id"], "principalType": "User",
                                    "roleDefinitionId": OWNER})
            if rng.random() < 0.3:
                assignments.append({"name": guid(), "principalId": group["id"], "principalType": "Group",
                                    "roleDefinitionId": READER})
            azure_subscriptions.append({"id": guid(), "friendlyName": "Production" if index == 0 else "Test",
                                        "status": "active", "roleAssignments": assignments})
        subscriptions = [{"id": guid(), "offerId": AZURE_PLAN, "offerName": "Azure plan",
                          "friendlyName": "Azure plan",
                          "status": "suspended" if rng.random() < 0.05 else "active",
                          "quantity": 1, "billingType": "usage", "creationDate": created,
                          "azureSubscriptions": azure_subscriptions}]
        for _ in range(subscriptionsPerCustomer - 1):
            offer, name = rng.choice(LICENSE_OFFERS)
            subscriptions.append({"id": guid(), "offerId": offer, "offerName": name, "friendlyName": name,
                                  "status": "active", "quantity": rng.randrange(1, 50),
                                  "billingType": "license",
                                  "creationDate": created, "termDuration": "P1Y"})
        policy = {"permissions": ["AzureReservedInstances"]} if rng.random() < 0.1 else None
        result.append({"tenantId": tid, "companyName": f"{rng.choice(WORDS)} {rng.choice(KINDS)} {number}",
                       "domain": domain, "relationship": "reseller", "users": users, "groups": [group],
                       "servicePrincipals": [], "subscriptions": subscriptions, "selfServePolicy": policy})
    now = datetime.now(UTC).replace(tzinfo=None)
    records = []
    for _ in range(auditRecords):
        customer = rng.choice(result) if result else None
        operation, resource_type = rng.choice(AUDIT_OPERATIONS)
        when = now - timedelta(seconds=rng.randrange(89 * 24 * 3600))
        records.append({
            "id": guid(), "partnerId": partner_id, "customerId": customer["tenantId"] if customer else None,
            "customerName": customer["companyName"] if customer else None,
            "userPrincipalName": customer["users"][0]["userPrincipalName"] if customer and
            operation == "create_order" else staff[0]["userPrincipalName"],
            "applicationId": partner["appId"], "resourceType": resource_type,
            "resourceOldValue": None, "resourceNewValue": "{}", "operationType": operation,
            "originalCorrelationId": guid(), "operationDate": when.isoformat(timespec="microseconds") + "Z",
            "operationStatus": "succeeded", "customizedData": [], "sessionId": guid(),
            "attributes": {"objectType": "AuditRecord"}})
    records.sort(key=lambda r: r["operationDate"])
    return {"partner": partner, "customers": result, "auditRecords": records}
