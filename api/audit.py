"""/v1/auditrecords: the activity log in Partner Center's AuditRecord shape."""

import datetime as dt
import json

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from activitylog.forms import UNPAIRED_SURROGATE, is_unicode
from activitylog.models import Action, ActivityLogEntry
from activitylog.selectors import customer_named

from .errors import bad_request
from .http import json_time
from .selfserve import parse_uuid

DEFAULT_DAYS = 30
DEFAULT_SIZE, MAX_SIZE = 100, 500
FIELDS = {"companyname": "CompanyName", "customerid": "CustomerId", "resourcetype": "ResourceType"}
OPERATORS = {"CompanyName": {"substring", "equals"}, "CustomerId": {"equals"}, "ResourceType": {"equals"}}
# Partner Center names its self-serve policy operations this way; other actions keep our codes.
OPERATION_TYPES = {
    Action.CREATE_PURCHASE_PERMISSION: "create_self_serve_policy",
    Action.DELETE_PURCHASE_PERMISSION: "delete_self_serve_policy",
}


# Partner Center's filter, as the Activity log page's own lookups where they mean the same (the
# customer-name substring then takes the page's fast path by tenant ids on PostgreSQL).
FILTERS = {
    ("CompanyName", "substring"): customer_named,
    ("CompanyName", "equals"): lambda value: Q(customer_name__iexact=value),
    ("CustomerId", "equals"): lambda value: Q(customer_tenant_id=parse_uuid(value)),
    ("ResourceType", "equals"): lambda value: Q(resource_type__iexact=value),
}


def _moment(raw: str, name: str, *, end: bool) -> dt.datetime:
    """yyyy-mm-dd (a whole day, UTC) or an ISO 8601 date-time."""
    try:
        day = parse_date(raw)
        moment = None if day else parse_datetime(raw)
    except ValueError:
        day = moment = None
    if day is not None:
        return dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=dt.UTC)
    if moment is not None:
        try:
            return moment.astimezone(dt.UTC) if timezone.is_aware(moment) else moment.replace(tzinfo=dt.UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+05:00 is before the year 1 in UTC
            pass
    raise bad_request("invalid_date", _("%(name)s must be a date (yyyy-mm-dd) or an ISO 8601 date-time.")
                      % {"name": name})


def _filter(raw: str) -> dict:
    try:
        given = json.loads(raw)
    except (ValueError, RecursionError):
        given = None
    if (not isinstance(given, dict) or not all(isinstance(given.get(k), str) for k in ("Field", "Value"))
            or "\x00" in given["Value"]):
        raise bad_request("invalid_filter", _(
            'filter must be URL-encoded JSON {"Field": "CompanyName" | "CustomerId" | "ResourceType", '
            '"Value": "...", "Operator": "substring" | "equals"}.'))
    if not is_unicode(given["Value"]):  # e.g. "\ud800", which JSON may carry and no database can search for
        raise bad_request("invalid_filter", str(UNPAIRED_SURROGATE))
    field = FIELDS.get(given["Field"].lower())
    operator = given.get("Operator", "equals")
    if field is None or not isinstance(operator, str) or operator.lower() not in OPERATORS[field]:
        raise bad_request("invalid_filter", _(
            "Filter on CompanyName (substring or equals), CustomerId (equals) or ResourceType (equals)."))
    if field == "CustomerId" and parse_uuid(given["Value"]) is None:
        raise bad_request("invalid_filter", _("A CustomerId filter needs a tenant id (a UUID)."))
    return {"field": field, "value": given["Value"], "operator": operator.lower()}


def parse_query(request: HttpRequest) -> dict:
    """The first page's query, frozen (the end defaults to now) so that later pages see the same window."""
    now = timezone.now()
    start_raw, end_raw = request.GET.get("startDate"), request.GET.get("endDate")
    start = _moment(start_raw, "startDate", end=False) if start_raw else now - dt.timedelta(days=DEFAULT_DAYS)
    end = _moment(end_raw, "endDate", end=True) if end_raw else now
    if start > end:
        raise bad_request("invalid_date", _("startDate must be on or before endDate."))
    raw_filter = request.GET.get("filter")
    return {"start": start.isoformat(), "end": end.isoformat(),
            "filter": _filter(raw_filter) if raw_filter else None}


def entries_for(query: dict):
    entries = ActivityLogEntry.objects.filter(
        occurred_at__gte=dt.datetime.fromisoformat(query["start"]),
        occurred_at__lte=dt.datetime.fromisoformat(query["end"]),
    )
    if (given := query["filter"]) is not None:
        entries = entries.filter(FILTERS[given["field"], given["operator"]](given["value"]))
    return entries


def _json_text(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def audit_record(entry: ActivityLogEntry) -> dict:
    data = {
        "action": entry.action,
        "actionName": str(entry.get_action_display()),
        "source": entry.source,
        "requestId": entry.request_id,
        "correlationId": entry.correlation_id,
        "clientIp": entry.client_ip or "",
        "resourceId": entry.resource_id,
        "failureReason": entry.failure_reason,
    }
    customized = [{"key": key, "value": value} for key, value in data.items() if value]
    # An imported Partner Center record: its own customizedData and application, and its id and date there.
    record = entry.source_record if isinstance(entry.source_record, dict) else {}
    if record:
        originals = [pair for pair in record.get("customizedData") or [] if isinstance(pair, dict)]
        named = (("partnerCenterRecordId", "id"), ("partnerCenterOperationDate", "operationDate"))
        customized = originals + [{"key": key, "value": str(record[name])} for key, name in named
                                  if record.get(name)] + customized
    return {
        "partnerId": settings.PARTNER_TENANT_ID,
        "customerId": str(entry.customer_tenant_id) if entry.customer_tenant_id else None,
        "customerName": entry.customer_name,
        "userPrincipalName": entry.actor_email,
        "applicationId": str(record.get("applicationId") or ""),
        "resourceType": entry.resource_type,
        "resourceOldValue": _json_text(entry.old_value),
        "resourceNewValue": _json_text(entry.new_value),
        "operationType": OPERATION_TYPES.get(entry.action, entry.action),
        "operationDate": json_time(entry.occurred_at),
        "operationStatus": entry.status,
        "customizedData": customized,
        "attributes": {"objectType": "AuditRecord"},
    }
