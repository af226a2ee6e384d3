"""Partner Center's SelfServePolicy: ids, etags, and the request body, checked field by field."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from customers.models import Customer
from permissions.models import PURCHASE, Resource, policy_permissions
from permissions.selectors import PermissionSet, permission_set

from .errors import bad_request, policy_id_invalid

ENTITY_TYPE = "customer"
GRANTOR_TYPE = "billToPartner"
OBJECT_TYPE = "SelfServePolicy"


def parse_uuid(value) -> uuid.UUID | None:
    """A UUID in any case, or None. Only the canonical 36-character form is accepted."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def partner_tenant_id() -> uuid.UUID:
    return uuid.UUID(settings.PARTNER_TENANT_ID)


def policy_id(customer: Customer) -> str:
    return f"{partner_tenant_id()}_{customer.tenant_id}"


def customer_tenant_from_policy_id(value: str) -> uuid.UUID:
    """The customer's tenant id from "{partnerTenantId}_{customerTenantId}"; 600040 otherwise."""
    partner, sep, customer = value.partition("_")
    partner_id, customer_id = parse_uuid(partner), parse_uuid(customer)
    if not sep or partner_id is None or customer_id is None or partner_id != partner_tenant_id():
        raise policy_id_invalid()
    return customer_id


@dataclass(frozen=True)
class PolicyState:
    """A customer's permissions as Partner Center's SelfServePolicy."""

    customer: Customer
    permissions: PermissionSet

    @classmethod
    def of(cls, customer: Customer) -> "PolicyState":
        return cls(customer, permission_set(customer))

    @property
    def exists(self) -> bool:
        return self.permissions.exists

    @property
    def resources(self) -> set[str]:
        return self.permissions.resources

    @property
    def etag(self) -> str:
        """Changes whenever a permission is created or removed, so an old etag is stale."""
        return self.permissions.version

    def as_json(self) -> dict:
        return {
            "id": policy_id(self.customer),
            "selfServeEntity": {"selfServeEntityType": ENTITY_TYPE, "tenantID": str(self.customer.tenant_id)},
            "grantor": {"grantorType": GRANTOR_TYPE, "tenantID": str(partner_tenant_id())},
            "permissions": policy_permissions(self.resources),
            "attributes": {"etag": self.etag, "objectType": OBJECT_TYPE},
        }


def _object(body: dict, key: str) -> dict:
    value = body.get(key)
    if not isinstance(value, dict):
        raise bad_request("invalid_field", _("'%(field)s' must be an object.") % {"field": key})
    return value


def _expect(value, expected: str, field: str) -> None:
    if value != expected:
        raise bad_request("invalid_field", _("'%(field)s' must be \"%(expected)s\".")
                          % {"field": field, "expected": expected})


def parse_permissions(body: dict) -> set[str]:
    """The resources a body's "permissions" list allows; every entry must be known and unique."""
    permissions = body.get("permissions")
    if not isinstance(permissions, list):
        raise bad_request("invalid_field", _("'permissions' must be a list of {resource, action}."))
    wanted: set[str] = set()
    for index, permission in enumerate(permissions):
        where = {"index": index}
        if not isinstance(permission, dict):
            raise bad_request("invalid_permission",
                              _("permissions[%(index)s] must be an object {resource, action}.") % where)
        resource, action = permission.get("resource"), permission.get("action")
        if resource not in Resource.values:
            raise bad_request(
                "unknown_resource",
                _("permissions[%(index)s].resource must be one of: %(choices)s.")
                % {**where, "choices": ", ".join(Resource.values)},
            )
        if action != PURCHASE:
            raise bad_request("unknown_action",
                              _("permissions[%(index)s].action must be \"Purchase\".") % where)
        if resource in wanted:
            raise bad_request("duplicate_permission",
                              _("permissions lists %(resource)s twice.") % {"resource": resource})
        wanted.add(resource)
    return wanted


def parse_new_policy(body: dict) -> tuple[uuid.UUID, set[str]]:
    """(customer tenant id, resources) from a POST body."""
    entity = _object(body, "selfServeEntity")
    _expect(entity.get("selfServeEntityType"), ENTITY_TYPE, "selfServeEntity.selfServeEntityType")
    tenant = parse_uuid(entity.get("tenantID"))
    if tenant is None:
        raise bad_request("invalid_field", _("'selfServeEntity.tenantID' must be the customer's tenant id "
                                             "(a UUID)."))
    grantor = _object(body, "grantor")
    _expect(grantor.get("grantorType"), GRANTOR_TYPE, "grantor.grantorType")
    if parse_uuid(grantor.get("tenantID")) != partner_tenant_id():
        raise bad_request("invalid_field", _("'grantor.tenantID' must be this partner's tenant id, %(id)s.")
                          % {"id": partner_tenant_id()})
    wanted = parse_permissions(body)
    if not wanted:
        raise bad_request("invalid_field", _("A new policy needs at least one permission."))
    return tenant, wanted
