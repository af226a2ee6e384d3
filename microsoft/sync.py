"""The Microsoft sync: Partner Center's customers and subscriptions, Azure's Owners, mirrored here.

Fetching is network only and runs in MICROSOFT_SYNC_PARALLELISM threads (fetch_customer builds a
Snapshot); writing runs in the calling thread, one transaction per customer with its activity log
entries (apply_snapshot). A sync that finds nothing new writes nothing. One sync runs at a time
(SyncLock); a killed one leaves every customer it finished complete, and the next run, which redoes the
comparison for every customer, resumes from there safely.
"""

import logging
import os
import socket
import time
import uuid
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from activitylog.models import Action, ActivityLogEntry, ResourceType, Source
from activitylog.services import Origin, entry
from customers.models import AzureSubscription, Customer, RoleAssignment, Subscription
from outbox.models import OutboxChange
from permissions.models import (
    SELF_SERVE_POLICY_CHANGE,
    PartnerCenterPolicy,
    PurchasePermission,
    Resource,
    policy_permissions,
)

from .client import (
    CredentialsRefused,
    MalformedResponse,
    MicrosoftClient,
    MicrosoftError,
    Stats,
    new_session,
    require,
)
from .credentials import mark_needs_reconnecting
from .models import Connection, SyncError, SyncRun
from .tokens import Tokens

logger = logging.getLogger(__name__)

PARTNER_CENTER_PERFORMER = "Microsoft Partner Center"
AZURE_PERFORMER = "Microsoft Azure"
KINDS = ("customers", "subscriptions", "azure_subscriptions", "role_assignments")
# Another machine's lock is taken over when it has shown no sign of life for this long.
STALE_AFTER = timedelta(minutes=10)
HEARTBEAT_EVERY = 15.0
DELETED = "deleted"


# --- what Microsoft says about one customer -------------------------------------------------------

@dataclass
class AssignmentData:
    name: str
    role_definition_id: str
    principal_id: str
    principal_type: str
    principal_name: str = ""
    principal_sign_in_name: str = ""

    def value(self, azure: AzureSubscription) -> dict:
        """As the log keeps it: with the Azure subscription's name, so that the entry reads in words."""
        return {"role": RoleAssignment.role_of(self.role_definition_id),
                "role_definition_id": self.role_definition_id, "principal_id": self.principal_id,
                "principal_type": self.principal_type, "principal_name": self.principal_name,
                "principal_sign_in_name": self.principal_sign_in_name,
                "azure_subscription_id": str(azure.azure_subscription_id),
                "azure_subscription_name": azure.friendly_name}


@dataclass
class AzureData:
    id: uuid.UUID
    friendly_name: str
    status: str
    assignments: list[AssignmentData] = field(default_factory=list)


@dataclass
class SubscriptionData:
    id: uuid.UUID
    offer_id: str
    offer_name: str
    friendly_name: str
    quantity: int
    status: str
    azure: list[AzureData] = field(default_factory=list)

    @property
    def offer(self) -> Subscription.Offer:
        return Subscription.offer_of(self.offer_id)


@dataclass
class Snapshot:
    tenant_id: uuid.UUID
    company_name: str
    domain: str
    relationship: str
    subscriptions: list[SubscriptionData] = field(default_factory=list)
    # Partner Center's self-serve permissions, read on first connection only (None: not read).
    self_serve: list[str] | None = None

    def profile(self) -> dict:
        """The customer's own fields, as the Customer row and the log keep them."""
        return {"company_name": self.company_name, "domain": self.domain, "relationship": self.relationship}


def _guid(value, *, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise MalformedResponse(f"Microsoft's {what} {value!r} is not a GUID.") from None


def _text(item: dict, key: str, limit: int, default: str = "") -> str:
    value = item.get(key)
    return str(value)[:limit] if value is not None else default


def _status(item: dict, *, where: str) -> str:
    """Microsoft's status text as it comes, lower case; a value added later is kept as it is."""
    return str(require(item, "status", where=where)).strip().lower()[:32]


def parse_customer(item: dict) -> Snapshot:
    profile = item.get("companyProfile")
    where = f"customer {item.get('id', '?')}"
    if not isinstance(profile, dict):
        raise MalformedResponse(f"Microsoft's answer for {where} lacks the field companyProfile.")
    tenant = _guid(profile.get("tenantId") or require(item, "id", where=where), what="tenant id")
    return Snapshot(
        tenant_id=tenant,
        company_name=str(require(profile, "companyName", where=where))[:200],
        domain=str(require(profile, "domain", where=where)).strip().lower()[:253],
        relationship=_text(item, "relationshipToPartner", 32).lower(),
    )


def fetch_customer(client: MicrosoftClient, item: dict, *, read_self_serve: bool = False) -> Snapshot:
    """Everything Microsoft knows about one customer that the portal mirrors (network only)."""
    snapshot = parse_customer(item)
    tenant = str(snapshot.tenant_id)
    for raw in client.subscriptions(tenant):
        where = f"subscription {raw.get('id', '?')}"
        subscription = SubscriptionData(
            id=_guid(require(raw, "id", where=where), what="subscription id"),
            offer_id=str(require(raw, "offerId", where=where))[:100],
            offer_name=_text(raw, "offerName", 200),
            friendly_name=_text(raw, "friendlyName", 200) or _text(raw, "offerName", 200),
            quantity=_quantity(raw.get("quantity")),
            status=_status(raw, where=where),
        )
        if subscription.offer == Subscription.Offer.AZURE_PLAN:
            for entitlement in client.azure_entitlements(tenant, str(subscription.id)):
                where = f"Azure entitlement {entitlement.get('id', '?')}"
                subscription.azure.append(AzureData(
                    id=_guid(require(entitlement, "id", where=where), what="Azure subscription id"),
                    friendly_name=_text(entitlement, "friendlyName", 200),
                    status=_status(entitlement, where=where)))
        elif subscription.offer == Subscription.Offer.AZURE_GLOBAL:
            # The legacy Azure offer is one Azure subscription: entitlementId, else its own id.
            azure_id = raw.get("entitlementId") or subscription.id
            subscription.azure.append(AzureData(
                id=_guid(azure_id, what="Azure subscription id"),
                friendly_name=subscription.friendly_name, status=subscription.status))
        snapshot.subscriptions.append(subscription)
    principals: dict[str, list[AssignmentData]] = {}
    for subscription in snapshot.subscriptions:
        for azure in subscription.azure:
            if azure.status == DELETED:
                continue
            for raw in client.role_assignments(tenant, str(azure.id)):
                properties = raw.get("properties")
                where = f"role assignment {raw.get('name', '?')}"
                if not isinstance(properties, dict):
                    raise MalformedResponse(f"Microsoft's answer for {where} lacks the field properties.")
                assignment = AssignmentData(
                    name=str(require(raw, "name", where=where))[:64],
                    role_definition_id=str(require(properties, "roleDefinitionId", where=where)
                                           ).rsplit("/", 1)[-1].lower()[:64],
                    principal_id=str(require(properties, "principalId", where=where))[:64],
                    principal_type=str(properties.get("principalType") or "")[:32],
                )
                azure.assignments.append(assignment)
                if assignment.principal_type != RoleAssignment.PrincipalType.FOREIGN_GROUP:
                    principals.setdefault(assignment.principal_id, []).append(assignment)
    if principals:
        for found in client.directory_objects(tenant, sorted(principals)):
            for assignment in principals.get(str(found.get("id")), ()):
                assignment.principal_name = _text(found, "displayName", 256)
                assignment.principal_sign_in_name = _text(found, "userPrincipalName", 254).lower()
    if read_self_serve:
        snapshot.self_serve = sorted({
            permission.get("resource") for policy in client.self_serve_policies(tenant)
            for permission in policy.get("permissions") or []
            if isinstance(permission, dict) and permission.get("resource") in Resource.values
            and str(permission.get("action", "")).lower() == "purchase"})
    return snapshot


def _quantity(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 1


# --- what the portal holds already, for a batch of customers (MICROSOFT_SYNC_BATCH) ------------------


def _subscription_key(subscription_id, offer, offer_id, offer_name, friendly_name, quantity, status):
    return (subscription_id, str(offer), offer_id, offer_name, friendly_name, quantity, status)


class Held:
    """The mirror rows of a batch of customers, read in five queries, to tell which ones changed."""

    def __init__(self):
        self.customers, self.subscriptions, self.azure, self.assignments = {}, {}, {}, {}
        self.policies = {}  # tenant -> Partner Center's permissions as last read (PartnerCenterPolicy)

    @classmethod
    def load(cls, tenant_ids: list[uuid.UUID]) -> "Held":
        held = cls()
        if not tenant_ids:
            return held
        by_pk = {}
        for pk, tenant, name, domain, relationship, synced_at in Customer.objects.filter(
                tenant_id__in=tenant_ids).values_list("pk", "tenant_id", "company_name", "domain",
                                                      "relationship", "synced_at"):
            by_pk[pk] = tenant
            held.customers[tenant] = (name, domain, relationship, synced_at is not None)
        for customer_id, permissions in PartnerCenterPolicy.objects.filter(
                customer_id__in=by_pk).values_list("customer_id", "permissions"):
            held.policies[by_pk[customer_id]] = permissions
        for row in Subscription.objects.filter(customer_id__in=by_pk).values_list(
                "customer_id", "subscription_id", "offer", "offer_id", "offer_name", "friendly_name",
                "quantity", "status"):
            held.subscriptions.setdefault(by_pk[row[0]], set()).add(_subscription_key(*row[1:]))
        for row in AzureSubscription.objects.filter(subscription__customer_id__in=by_pk).values_list(
                "subscription__customer_id", "azure_subscription_id", "subscription__subscription_id",
                "friendly_name", "status"):
            held.azure.setdefault(by_pk[row[0]], set()).add(row[1:])
        for row in RoleAssignment.objects.filter(
                subscription__customer_id__in=by_pk, azure_subscription__isnull=False).values_list(
                "subscription__customer_id", "azure_subscription__azure_subscription_id", "assignment_name",
                "subscription__subscription_id", "role", "role_definition_id", "principal_id",
                "principal_type", "principal_name", "principal_sign_in_name"):
            held.assignments.setdefault(by_pk[row[0]], set()).add(row[1:])
        return held

    def new(self, snapshot: Snapshot) -> bool:
        """A customer the portal does not hold at all (not even typed in here)."""
        return snapshot.tenant_id not in self.customers

    def unchanged(self, snapshot: Snapshot) -> bool:
        """True when writing the snapshot would change nothing (apply_snapshot would write no row)."""
        tenant = snapshot.tenant_id
        profile = (snapshot.company_name, snapshot.domain, snapshot.relationship, True)
        if self.customers.get(tenant) != profile:  # new, changed, or typed in here and never synced
            return False
        if snapshot.self_serve is not None and resources_in_order(snapshot.self_serve) != \
                self.policies.get(tenant):
            return False  # Partner Center's policy changed since the portal last read it: drift?
        subscriptions = self.subscriptions.get(tenant, set())
        azure_held = self.azure.get(tenant, set())
        assignments_held = self.assignments.get(tenant, set())
        wanted_assignments, fetched_azure = set(), set()
        for data in snapshot.subscriptions:
            if _subscription_key(data.id, data.offer, data.offer_id, data.offer_name, data.friendly_name,
                                 data.quantity, data.status) not in subscriptions:
                return False
            for azure in data.azure:
                if (azure.id, data.id, azure.friendly_name, azure.status) not in azure_held:
                    return False
                if azure.status != DELETED:
                    fetched_azure.add(azure.id)
                for a in azure.assignments:
                    wanted_assignments.add((azure.id, a.name, data.id, str(RoleAssignment.role_of(
                        a.role_definition_id)), a.role_definition_id, a.principal_id, a.principal_type,
                        a.principal_name, a.principal_sign_in_name))
        on_fetched = {row for row in assignments_held if row[0] in fetched_azure}
        return on_fetched == wanted_assignments


# --- writing one customer -------------------------------------------------------------------------

@dataclass
class Counts:
    added: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    changed: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    removed: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    rows_written: int = 0
    customers_seen: int = 0
    errors: int = 0

    def merge(self, other: "Counts") -> None:
        for kind in KINDS:
            self.added[kind] += other.added[kind]
            self.changed[kind] += other.changed[kind]
            self.removed[kind] += other.removed[kind]
        self.rows_written += other.rows_written
        self.customers_seen += other.customers_seen
        self.errors += other.errors

    def as_dict(self) -> dict:
        return {kind: {"added": self.added[kind], "changed": self.changed[kind],
                       "removed": self.removed[kind]} for kind in KINDS} | {
            "customers_seen": self.customers_seen, "errors": self.errors,
            "rows_written": self.rows_written}


class _Writer:
    """The changes of one customer and their log entries, written at the end of its transaction."""

    def __init__(self, *, origin: Origin, counts: Counts):
        self.origin, self.counts, self.entries = origin, counts, []

    def log(self, customer, *, action, kind, change, resource_type, resource_id, old=None, new=None,
            performer=PARTNER_CENTER_PERFORMER):
        getattr(self.counts, change)[kind] += 1
        self.entries.append(entry(action=action, actor=None, origin=self.origin, customer=customer,
                                  resource_type=resource_type, resource_id=resource_id,
                                  old_value=old, new_value=new, performer=performer))

    def finish(self, writes: int) -> None:
        if self.entries:
            ActivityLogEntry.objects.bulk_create(self.entries)
        self.counts.rows_written += writes + len(self.entries)


def _changes(instance, wanted: dict) -> tuple[dict, dict]:
    old = {key: getattr(instance, key) for key in wanted if getattr(instance, key) != wanted[key]}
    return old, {key: wanted[key] for key in old}


def apply_snapshot(snapshot: Snapshot, *, origin: Origin, counts: Counts, now=None) -> Customer:
    """Make the portal's rows for one customer say what Microsoft says; one transaction, with its log.

    New rows go in with one INSERT per table (bulk_create); only what changed is updated or deleted."""
    now = now or timezone.now()
    mine = Counts()  # added to counts once written: a customer rolled back counts for nothing
    writer, writes = _Writer(origin=origin, counts=mine), 0
    # The customer's own transaction, durable like every service's: never inside a caller's.
    with transaction.atomic(durable=True):
        customer = (Customer.objects.select_for_update(no_key=True, of=("self",))
                    .filter(tenant_id=snapshot.tenant_id).first())
        profile = snapshot.profile()
        new_customer = customer is None
        if new_customer:
            if Customer.objects.filter(domain=snapshot.domain).exists():
                raise MalformedResponse(
                    f"Another customer in the portal already uses the domain {snapshot.domain}; "
                    f"the customer with tenant id {snapshot.tenant_id} was not brought in.")
            customer = Customer.objects.create(tenant_id=snapshot.tenant_id, synced_at=now, **profile)
            writes += 1
            _log_added(customer, snapshot, writer)
            first_connection = True
        else:
            first_connection = customer.synced_at is None
            old, new = _changes(customer, profile)
            if old or first_connection:
                for key, value in new.items():
                    setattr(customer, key, value)
                customer.synced_at = customer.synced_at or now
                customer.save(update_fields=[*new, "synced_at"])
                writes += 1
            if old:
                writer.log(customer, action=Action.UPDATE_CUSTOMER, kind="customers", change="changed",
                           resource_type=ResourceType.CUSTOMER, resource_id=snapshot.tenant_id,
                           old=old, new=new)
        writes += _apply_subscriptions(customer, snapshot, writer, new_customer=new_customer)
        if snapshot.self_serve is not None and first_connection:
            writes += _adopt_self_serve(customer, snapshot.self_serve, writer, new_customer=new_customer)
            _known_policy(customer, snapshot.self_serve, now=now, drift=None, new_customer=new_customer)
            writes += 1
        elif snapshot.self_serve is not None:
            writes += _check_drift(customer, snapshot.self_serve, writer, now=now)
        writer.finish(writes)
    counts.merge(mine)
    return customer


def apply_new_customers(snapshots: list[Snapshot], *, origin: Origin, counts: Counts, now=None
                        ) -> list[Snapshot]:
    """Customers the portal has never held (a first sync brings thousands), written together: one
    transaction, one INSERT per table, their log entries chained in one go. Each customer is whole or
    absent, as with apply_snapshot; only the transaction is shared, which is most of a new customer's
    cost. Returns the snapshots left for apply_snapshot, one by one: a domain another customer uses
    (apply_snapshot says which), or all of them when the shared write fails (a customer created
    meanwhile, say), so that one customer's trouble is that customer's alone."""
    if len(snapshots) < 2 or not connection.features.can_return_rows_from_bulk_insert:
        return snapshots
    now = now or timezone.now()
    domains = [snapshot.domain for snapshot in snapshots]
    taken = set(Customer.objects.filter(domain__in=domains).values_list("domain", flat=True))
    taken |= {domain for domain, seen in Counter(domains).items() if seen > 1}
    together = [snapshot for snapshot in snapshots if snapshot.domain not in taken]
    alone = [snapshot for snapshot in snapshots if snapshot.domain in taken]
    if len(together) < 2:
        return snapshots
    batch = Counts()
    writer, inserts = _Writer(origin=origin, counts=batch), _Inserts()
    try:
        with transaction.atomic(durable=True):
            customers = Customer.objects.bulk_create([
                Customer(tenant_id=snapshot.tenant_id, synced_at=now, **snapshot.profile())
                for snapshot in together])
            permissions, policies = [], []
            for customer, snapshot in zip(customers, together, strict=True):
                _log_added(customer, snapshot, writer)
                _apply_subscriptions(customer, snapshot, writer, new_customer=True, inserts=inserts)
                if snapshot.self_serve is not None:
                    permissions += _adoption(customer, snapshot.self_serve, writer)
                    policies.append(PartnerCenterPolicy(
                        customer=customer, **_policy_values(snapshot.self_serve, now=now, drift=None)))
            written = len(customers) + inserts.save()
            for model, rows in ((PurchasePermission, permissions), (PartnerCenterPolicy, policies)):
                if rows:
                    model.objects.bulk_create(rows)
                    written += len(rows)
            writer.finish(written)
    except Exception as exc:  # noqa: BLE001 - each customer again on its own, which records its error
        logger.info("Microsoft sync: %d new customers written one by one (%s: %s)", len(together),
                    type(exc).__name__, exc)
        return snapshots
    counts.merge(batch)
    return alone


def _log_added(customer: Customer, snapshot: Snapshot, writer: "_Writer") -> None:
    writer.log(customer, action=Action.ADD_CUSTOMER, kind="customers", change="added",
               resource_type=ResourceType.CUSTOMER, resource_id=snapshot.tenant_id, new=snapshot.profile())


class _Inserts:
    """The rows one customer's sync adds, each table in one INSERT, parents before children (a child
    given an unsaved parent takes the parent's primary key when it is saved)."""

    def __init__(self):
        self.subscriptions: list[Subscription] = []
        self.azure: list[AzureSubscription] = []
        self.assignments: list[RoleAssignment] = []

    def save(self) -> int:
        """Insert what is pending (before any update that may point at a new row, and at the end)."""
        written = 0
        for model, rows in ((Subscription, self.subscriptions), (AzureSubscription, self.azure),
                            (RoleAssignment, self.assignments)):
            if rows:
                model.objects.bulk_create(rows)
                written += len(rows)
                rows.clear()
        return written


def _apply_subscriptions(customer: Customer, snapshot: Snapshot, writer: _Writer, *,
                         new_customer: bool = False, inserts: "_Inserts | None" = None) -> int:
    """The customer's subscriptions, Azure subscriptions and role assignments. With ``inserts`` (new
    customers written together, apply_new_customers), the new rows are left there for the caller."""
    writes = 0
    shared, inserts = inserts is not None, inserts or _Inserts()
    if new_customer:  # nothing to read: everything Microsoft says is new
        existing, azure_existing, assignments = {}, {}, {}
    else:
        existing = {s.subscription_id: s for s in Subscription.objects.filter(customer=customer)}
        azure_existing = {a.azure_subscription_id: a for a in
                          AzureSubscription.objects.filter(subscription__customer=customer)}
        azure_by_pk = {a.pk: a for a in azure_existing.values()}
        assignments = {}
        for assignment in RoleAssignment.objects.filter(subscription__customer=customer,
                                                        azure_subscription__isnull=False):
            azure = azure_by_pk.get(assignment.azure_subscription_id)
            if azure is not None:  # always: the same customer's; saves a query per assignment logged
                assignment.azure_subscription = azure
            assignments[(azure.azure_subscription_id if azure else assignment.azure_subscription_id,
                         assignment.assignment_name)] = assignment
    seen_assignments = set()
    for data in snapshot.subscriptions:
        wanted = {"offer": data.offer, "offer_id": data.offer_id, "offer_name": data.offer_name,
                  "friendly_name": data.friendly_name, "quantity": data.quantity, "status": data.status}
        subscription = existing.get(data.id)
        if subscription is None:
            subscription = Subscription(customer=customer, subscription_id=data.id, **wanted)
            existing[data.id] = subscription
            inserts.subscriptions.append(subscription)
            writer.log(customer, action=Action.ADD_SUBSCRIPTION, kind="subscriptions", change="added",
                       resource_type=ResourceType.SUBSCRIPTION, resource_id=data.id,
                       new={key: str(value) for key, value in wanted.items()})
        else:
            old, new = _changes(subscription, wanted)
            if old:
                for key, value in new.items():
                    setattr(subscription, key, value)
                subscription.save(update_fields=list(new))
                writes += 1
                writer.log(customer, action=Action.UPDATE_SUBSCRIPTION, kind="subscriptions",
                           change="changed", resource_type=ResourceType.SUBSCRIPTION, resource_id=data.id,
                           old={key: str(value) for key, value in old.items()},
                           new={key: str(value) for key, value in new.items()})
        for azure_data in data.azure:
            azure, more = _apply_azure(customer, subscription, azure_data, azure_existing, writer, inserts)
            writes += more
            for assignment_data in azure_data.assignments:
                key = (azure_data.id, assignment_data.name)
                seen_assignments.add(key)
                writes += _apply_assignment(customer, subscription, azure, assignment_data,
                                            assignments.get(key), writer, inserts)
    if not shared:
        writes += inserts.save()
    fetched = {a.id for data in snapshot.subscriptions for a in data.azure if a.status != DELETED}
    for key, assignment in assignments.items():
        if key not in seen_assignments and key[0] in fetched:
            assignment.delete()
            writes += 1
            writer.log(customer, action=Action.DELETE_ROLE_ASSIGNMENT, kind="role_assignments",
                       change="removed", resource_type=ResourceType.ROLE_ASSIGNMENT,
                       resource_id=assignment.assignment_name,
                       old=_assignment_value(assignment), performer=AZURE_PERFORMER)
    return writes


def _apply_azure(customer, subscription, data: AzureData, existing: dict, writer: _Writer,
                 inserts: _Inserts):
    wanted = {"friendly_name": data.friendly_name, "status": data.status}
    azure = existing.get(data.id)
    if azure is None:
        azure = AzureSubscription(subscription=subscription, azure_subscription_id=data.id, **wanted)
        existing[data.id] = azure
        inserts.azure.append(azure)
        writer.log(customer, action=Action.ADD_AZURE_SUBSCRIPTION, kind="azure_subscriptions",
                   change="added", resource_type=ResourceType.AZURE_SUBSCRIPTION, resource_id=data.id,
                   new={**wanted, "subscription_id": str(subscription.subscription_id)})
        return azure, 0  # counted when inserted
    old, new = _changes(azure, wanted)
    if azure.subscription_id != subscription.pk:
        old["subscription_id"] = str(azure.subscription.subscription_id)
        new["subscription_id"] = str(subscription.subscription_id)
        azure.subscription = subscription
    if not old:
        return azure, 0
    written = inserts.save()  # its plan may be new
    for key in wanted:
        setattr(azure, key, wanted[key])
    azure.save(update_fields=["friendly_name", "status", "subscription"])
    writer.log(customer, action=Action.UPDATE_AZURE_SUBSCRIPTION, kind="azure_subscriptions",
               change="changed", resource_type=ResourceType.AZURE_SUBSCRIPTION, resource_id=data.id,
               old=old, new=new)
    return azure, 1 + written


def _assignment_value(assignment: RoleAssignment) -> dict:
    return {"role": assignment.role, "role_definition_id": assignment.role_definition_id,
            "principal_id": assignment.principal_id, "principal_type": assignment.principal_type,
            "principal_name": assignment.principal_name,
            "principal_sign_in_name": assignment.principal_sign_in_name,
            "azure_subscription_id": str(assignment.azure_subscription.azure_subscription_id),
            "azure_subscription_name": assignment.azure_subscription.friendly_name}


def _apply_assignment(customer, subscription, azure, data: AssignmentData, assignment, writer,
                      inserts: _Inserts) -> int:
    wanted = {"role": RoleAssignment.role_of(data.role_definition_id),
              "role_definition_id": data.role_definition_id, "principal_id": data.principal_id,
              "principal_type": data.principal_type, "principal_name": data.principal_name,
              "principal_sign_in_name": data.principal_sign_in_name}
    if assignment is None:
        inserts.assignments.append(RoleAssignment(subscription=subscription, azure_subscription=azure,
                                                  assignment_name=data.name, **wanted))
        writer.log(customer, action=Action.CREATE_ROLE_ASSIGNMENT, kind="role_assignments",
                   change="added", resource_type=ResourceType.ROLE_ASSIGNMENT, resource_id=data.name,
                   new=data.value(azure), performer=AZURE_PERFORMER)
        return 0  # counted when inserted
    old, new = _changes(assignment, wanted)
    if assignment.subscription_id != subscription.pk:
        assignment.subscription = subscription
        old.setdefault("role", assignment.role)
        new.setdefault("role", wanted["role"])
    if not old:
        return 0
    written = inserts.save()  # its plan may be new
    previous = _assignment_value(assignment)
    for key, value in wanted.items():
        setattr(assignment, key, value)
    assignment.save(update_fields=[*wanted, "subscription"])
    writer.log(customer, action=Action.UPDATE_ROLE_ASSIGNMENT, kind="role_assignments", change="changed",
               resource_type=ResourceType.ROLE_ASSIGNMENT, resource_id=data.name,
               old={key: previous[key] for key in new if key in previous}, new=new,
               performer=AZURE_PERFORMER)
    return 1 + written


def _adopt_self_serve(customer: Customer, resources: list[str], writer: _Writer, *,
                      new_customer: bool = False) -> int:
    """On first connection, Partner Center's existing self-serve policy shows as allowed here."""
    have = set() if new_customer else set(
        PurchasePermission.objects.filter(customer=customer).values_list("resource", flat=True))
    adopted = _adoption(customer, resources, writer, have=have)
    if adopted:
        PurchasePermission.objects.bulk_create(adopted)
    return len(adopted)


def _adoption(customer: Customer, resources: list[str], writer: _Writer, *, have=frozenset()
              ) -> list[PurchasePermission]:
    """The permissions Partner Center has and the portal has not (unsaved), each with its log entry."""
    adopted = [PurchasePermission(customer=customer, resource=resource, granted_by=None)
               for resource in resources if resource not in have]
    for permission in adopted:
        resource = permission.resource
        writer.entries.append(entry(
            action=Action.CREATE_PURCHASE_PERMISSION, actor=None, origin=writer.origin, customer=customer,
            resource_type=ResourceType.SELF_SERVE_POLICY, resource_id=resource,
            old_value={"allowed": False}, new_value={"allowed": True},
            performer=PARTNER_CENTER_PERFORMER))
    return adopted


def _known_policy(customer: Customer, resources, *, now, drift, new_customer: bool = False) -> None:
    """Keep what Partner Center said. A customer created in this transaction has no row yet, and no one
    else can give it one before the commit: a plain INSERT."""
    values = _policy_values(resources, now=now, drift=drift)
    if new_customer:
        PartnerCenterPolicy.objects.create(customer=customer, **values)
    else:
        PartnerCenterPolicy.objects.update_or_create(customer=customer, defaults=values)


def _policy_values(resources, *, now, drift) -> dict:
    return {"permissions": resources_in_order(resources), "read_at": now, "drift_found_at": drift}


def resources_in_order(resources) -> list[str]:
    found = set(resources)
    return [r for r in Resource.values if r in found] + sorted(found - set(Resource.values))


def _check_drift(customer: Customer, resources: list[str], writer: _Writer, *, now) -> int:
    """Each sync reads every customer's policy (issue 11). A difference with nothing of ours pending is
    drift: someone used Partner Center directly. It is logged once (with both states), shown, and left
    alone until an Admin agent chooses; with a change of ours pending, the worker's push decides."""
    in_partner_center = resources_in_order(resources)
    portal = resources_in_order(PurchasePermission.objects.filter(customer=customer)
                                .values_list("resource", flat=True))
    known = PartnerCenterPolicy.objects.filter(customer=customer).first()
    pending = OutboxChange.objects.filter(kind=SELF_SERVE_POLICY_CHANGE, customer=customer,
                                          state=OutboxChange.State.WAITING).exists()
    if pending or in_partner_center == portal:
        _known_policy(customer, in_partner_center, now=now, drift=None)
        return 0
    already = (known is not None and known.drift_found_at is not None
               and known.permissions == in_partner_center)
    _known_policy(customer, in_partner_center, now=now, drift=known.drift_found_at if already else now)
    if already:
        return 1
    writer.entries.append(entry(
        action=Action.SELF_SERVE_POLICY_DRIFT, actor=None, origin=writer.origin, customer=customer,
        resource_type=ResourceType.SELF_SERVE_POLICY,
        resource_id=f"{settings.PARTNER_TENANT_ID}_{customer.tenant_id}",
        old_value={"portal": policy_permissions(portal)},
        new_value={"partnerCenter": policy_permissions(in_partner_center)},
        performer=PARTNER_CENTER_PERFORMER))
    return 1


# --- the lock ---------------------------------------------------------------------------------------

class SyncRunning(Exception):
    """Another sync holds the lock."""


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_on_this_host(holder: str) -> bool:
    host, _sep, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class SyncLock:
    """One sync at a time, across processes and machines: a compare-and-set on the connection row."""

    def __init__(self):
        self.holder = _holder()
        self._beat = 0.0

    def acquire(self) -> None:
        from django.db.models import Q

        Connection.get()
        now = timezone.now()
        current = Connection.objects.values_list("sync_holder", flat=True).get(pk=1)
        free = Q(sync_holder="") | Q(sync_heartbeat__lt=now - STALE_AFTER)
        if current and _dead_on_this_host(current):
            free |= Q(sync_holder=current)
        taken = Connection.objects.filter(free, pk=1).update(sync_holder=self.holder, sync_heartbeat=now)
        if not taken:
            raise SyncRunning("A Microsoft sync is already running; this one did not start.")
        self._beat = time.monotonic()

    def beat(self) -> None:
        if time.monotonic() - self._beat < HEARTBEAT_EVERY:
            return
        if not Connection.objects.filter(pk=1, sync_holder=self.holder).update(sync_heartbeat=timezone.now()):
            raise SyncRunning("Another process took over the Microsoft sync lock.")
        self._beat = time.monotonic()

    def release(self) -> None:
        Connection.objects.filter(pk=1, sync_holder=self.holder).update(sync_holder="", sync_heartbeat=None)


# --- one run ----------------------------------------------------------------------------------------

@dataclass
class Result:
    run: SyncRun
    counts: Counts
    stats: Stats
    seconds: float
    correlation_id: str = ""

    @property
    def outcome(self) -> str:
        return self.run.outcome


def _record_error(run: SyncRun, exc: Exception, *, tenant: str = "", name: str = "") -> None:
    details = {"message": str(exc)[:2000]}
    if isinstance(exc, MicrosoftError):
        details.update(error_code=exc.code[:100], request_id=exc.request_id[:100], status_code=exc.status,
                       url=exc.url[:500])
    SyncError.objects.create(run=run, customer_tenant_id=tenant, customer_name=name[:200], **details)


def run_sync(*, customer: str | None = None, client: MicrosoftClient | None = None) -> Result:
    """One sync now. Raises SyncRunning when another holds the lock."""
    started = time.monotonic()
    lock = SyncLock()
    lock.acquire()
    SyncRun.objects.filter(outcome=SyncRun.Outcome.RUNNING).update(
        outcome=SyncRun.Outcome.INTERRUPTED, finished_at=timezone.now())
    run = SyncRun.objects.create(started_at=timezone.now(), only_customer=customer or "")
    counts = Counts()
    stats = Stats()
    origin = Origin(source=Source.MICROSOFT, request_id=f"microsoft-sync-{run.pk}")
    try:
        if client is None:
            session = new_session(stats)
            client = MicrosoftClient(tokens=Tokens(session=session), stats=stats, session=session)
        else:
            stats = client.stats
        origin = Origin(source=Source.MICROSOFT, request_id=f"microsoft-sync-{run.pk}",
                        correlation_id=client.correlation_id)
        outcome = _run(client, run, counts, origin, lock, customer)
    except CredentialsRefused as exc:
        mark_needs_reconnecting(str(exc))
        _record_error(run, exc)
        outcome, run.message = SyncRun.Outcome.NEEDS_RECONNECTING, str(exc)
    except SyncRunning as exc:
        outcome, run.message = SyncRun.Outcome.INTERRUPTED, str(exc)
    except (MicrosoftError, DatabaseError) as exc:
        _record_error(run, exc)
        outcome, run.message = SyncRun.Outcome.FAILED, str(exc)
    except Exception as exc:
        logger.exception("Microsoft sync failed")
        _record_error(run, exc)
        outcome, run.message = SyncRun.Outcome.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        if client is not None:
            client.tokens.save_rotated()
        lock.release()
    seconds = time.monotonic() - started
    run.outcome, run.finished_at = outcome, timezone.now()
    run.counts = counts.as_dict() | {"requests": stats.requests, "throttled": stats.throttled,
                                     "retries": stats.retries, "seconds": round(seconds, 3)}
    run.save(update_fields=["outcome", "finished_at", "counts", "message"])
    return Result(run=run, counts=counts, stats=stats, seconds=seconds,
                  correlation_id=client.correlation_id if client is not None else "")


def _run(client, run, counts, origin, lock, only) -> str:
    adopt = bool(client.tokens._refresh_token)
    items = [client.customer(only)] if only else client.customers()
    parallelism = max(1, settings.MICROSOFT_SYNC_PARALLELISM)
    pending: deque[tuple[dict, Future]] = deque()

    def fail(item: dict, exc: Exception) -> None:
        counts.errors += 1
        tenant = str((item.get("companyProfile") or {}).get("tenantId") or item.get("id", ""))
        name = str((item.get("companyProfile") or {}).get("companyName") or "")
        if isinstance(exc, MicrosoftError | DatabaseError):
            logger.warning("Microsoft sync: customer %s: %s", tenant, exc)
        else:  # a shape nobody foresaw: this customer's error, the rest go on
            logger.error("Microsoft sync: customer %s", tenant, exc_info=exc)
            exc = RuntimeError(f"Unexpected {type(exc).__name__} while reading this customer: {exc}")
        _record_error(run, exc, tenant=tenant, name=name)

    def settle(batch: list[tuple[dict, Future]]) -> None:
        """A batch of fetched customers: compared with what the portal holds in a few queries, and only
        those that changed written, each in its own transaction."""
        fetched = []
        for item, future in batch:
            counts.customers_seen += 1
            try:
                fetched.append((item, future.result()))
            except CredentialsRefused:
                raise
            except Exception as exc:
                fail(item, exc)
        held = Held.load([snapshot.tenant_id for _item, snapshot in fetched])
        new = [snapshot for _item, snapshot in fetched if held.new(snapshot)]
        left = apply_new_customers(new, origin=origin, counts=counts)
        written = {id(snapshot) for snapshot in new} - {id(snapshot) for snapshot in left}
        for item, snapshot in fetched:
            if id(snapshot) in written or held.unchanged(snapshot):
                continue
            try:
                apply_snapshot(snapshot, origin=origin, counts=counts)
            except Exception as exc:
                fail(item, exc)
        lock.beat()

    batch = max(1, settings.MICROSOFT_SYNC_BATCH)
    batch_size = max(2 * parallelism, batch)
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="microsoft-sync") as pool:
        try:
            for item in items:
                # Every customer's policy, every sync (issue 11): adopted on first connection, then
                # compared for drift.
                pending.append((item, pool.submit(fetch_customer, client, item,
                                                  read_self_serve=adopt)))
                if len(pending) >= batch_size:
                    settle([pending.popleft() for _ in range(batch)])
            while pending:
                settle([pending.popleft() for _ in range(min(batch, len(pending)))])
        finally:
            for _item, future in pending:
                future.cancel()
    return SyncRun.Outcome.PARTIAL if counts.errors else SyncRun.Outcome.SUCCEEDED
