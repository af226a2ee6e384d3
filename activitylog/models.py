from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router, transaction
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from . import chain


class Action(models.TextChoices):
    """What happened, as a stable code and the name a partner knows from Partner Center."""

    CREATE_PURCHASE_PERMISSION = (
        "create_customer_purchase_permissions",
        _("Create Customer Purchase Permissions"),
    )
    DELETE_PURCHASE_PERMISSION = (
        "delete_customer_purchase_permissions",
        _("Delete Customer Purchase Permissions"),
    )
    REVIEW_PURCHASE_PERMISSION = (
        "review_customer_purchase_permissions",
        _("Review Customer Purchase Permissions"),
    )
    ADD_CUSTOMER = "add_customer", _("Add Customer")
    UPDATE_CUSTOMER = "update_customer", _("Update Customer")
    ADD_SUBSCRIPTION = "add_subscription", _("Add Subscription")
    ADD_AZURE_SUBSCRIPTION = "add_azure_subscription", _("Add Azure Subscription")
    UPDATE_AZURE_SUBSCRIPTION = "update_azure_subscription", _("Update Azure Subscription")
    CREATE_ORDER = "create_order", _("Create Order")
    UPDATE_SUBSCRIPTION = "update_subscription", _("Update Subscription")
    ADD_CUSTOMER_USER = "add_customer_user", _("Add Customer User")
    CREATE_ROLE_ASSIGNMENT = "create_role_assignment", _("Create Role Assignment")
    UPDATE_ROLE_ASSIGNMENT = "update_role_assignment", _("Update Role Assignment")
    DELETE_ROLE_ASSIGNMENT = "delete_role_assignment", _("Delete Role Assignment")
    PURGE_ACTIVITY_LOG = "purge_activity_log", _("Purge Activity Log")
    CREATE_API_TOKEN = "create_api_token", _("Create API Token")
    REVOKE_API_TOKEN = "revoke_api_token", _("Revoke API Token")
    ADD_AGENT = "add_agent", _("Add Agent")
    UPDATE_AGENT_ROLE = "update_agent_role", _("Update Agent Role")
    DEACTIVATE_AGENT = "deactivate_agent", _("Deactivate Agent")
    REACTIVATE_AGENT = "reactivate_agent", _("Reactivate Agent")
    RESET_AGENT_MFA = "reset_agent_mfa", _("Reset Agent Two-Step Sign-In")
    CHANGE_PASSWORD = "change_password", _("Change Password")
    SIGN_IN = "sign_in", _("Sign In")
    # Issue 11 (i11): what the portal applied in Partner Center, drift found there, the outbox's retries.
    CREATE_SELF_SERVE_POLICY = "create_self_serve_policy", _("Create Self-Serve Policy")
    UPDATE_SELF_SERVE_POLICY = "update_self_serve_policy", _("Update Self-Serve Policy")
    DELETE_SELF_SERVE_POLICY = "delete_self_serve_policy", _("Delete Self-Serve Policy")
    SELF_SERVE_POLICY_DRIFT = "self_serve_policy_drift", _("Self-Serve Policy Drift")
    RETRY_MICROSOFT_CHANGE = "retry_microsoft_change", _("Retry Change in Microsoft")
    APPLY_PORTAL_SETTING = "apply_portal_self_serve_policy", _("Apply Portal's Self-Serve Policy")
    # --- issue 12 (purchases/) ---
    CUSTOMER_PURCHASE = "customer_purchase", _("Customer Purchase")
    UPDATE_CUSTOMER_BILLING_POLICY = "update_customer_billing_policy", _("Update Customer Billing Policy")
    UPDATE_PURCHASE_LIMIT = "update_customer_purchase_limit", _("Update Customer Purchase Limit")
    # issue 13: the partner's operations on what a customer bought (Azure's own words)
    UPDATE_RESERVATION = "update_reservation", _("Update Reservation")
    RETURN_RESERVATION = "return_reservation", _("Return Reservation")
    EXCHANGE_RESERVATION = "exchange_reservation", _("Exchange Reservation")
    UPDATE_SAVINGS_PLAN = "update_savings_plan", _("Update Savings Plan")


class Status(models.TextChoices):
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    # Partner Center's other operationStatus values, on its imported audit records (MICROSOFT.md §4.3).
    IN_PROGRESS = "progress", _("In progress")
    DECLINED = "decline", _("Declined")


class Source(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    SYSTEM = "system", _("System")
    # Brought in from Partner Center, Azure or Microsoft Graph by the Microsoft sync.
    MICROSOFT = "microsoft", _("Microsoft")
    # Partner Center's own activity log (audit records), imported as it was (microsoft/audit_import.py).
    PARTNER_CENTER = "partner_center", _("Partner Center")


_LABELS: dict[tuple[type, str], dict[str, str]] = {}


def label_of(choices: type[models.TextChoices], code: str) -> str:
    """A choice's display name in the active language, from a table built once per language.

    Django's get_FOO_display() hashes every lazy label of the field's choices on each call, which made
    the choice names the larger part of rendering a 50-row log page.
    """
    key = (choices, get_language() or "")
    table = _LABELS.get(key)
    if table is None:
        table = _LABELS[key] = {value: str(label) for value, label in choices.choices}
    return table.get(code, code)


class ResourceType(models.TextChoices):
    """What an entry is about: a stable code, and its name on the Activity log page."""

    CUSTOMER = "customer", _("Customer")
    SUBSCRIPTION = "subscription", _("Subscription")
    CUSTOMER_USER = "customer_user", _("Customer user")
    ROLE_ASSIGNMENT = "role_assignment", _("Role assignment")
    AZURE_SUBSCRIPTION = "azure_subscription", _("Azure subscription")
    SELF_SERVE_POLICY = "self_serve_policy", _("Customer purchase permission")
    API_TOKEN = "api_token", _("API token")
    ACTIVITY_LOG = "activity_log", _("Activity log")
    AGENT = "agent", _("Agent")
    SIGN_IN = "sign_in", _("Sign-in")
    # --- issue 12 (purchases/) ---
    CUSTOMER_PURCHASE = "customer_purchase", _("Customer purchase")
    BILLING_POLICY = "billing_policy", _("Customer billing policy")
    PURCHASE_LIMIT = "purchase_limit", _("Self-purchase limit")
    # issue 13
    RESERVATION = "reservation", _("Azure reservation")
    SAVINGS_PLAN = "savings_plan", _("Azure savings plan")


class AppendOnlyError(Exception):
    """Raised on any attempt to rewrite or remove history."""


class ActivityLogQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        """Many entries at once, each linked into the chain like one written by record()."""
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            chain.chain(objs, self.db)
            return super().bulk_create(objs, *args, **kwargs)

    def update(self, **kwargs):
        raise AppendOnlyError("Activity log entries cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Activity log entries cannot be deleted.")

    def newest_first(self):
        return self.order_by("-occurred_at", "-id")


class ActivityLogEntry(models.Model):
    """One thing the portal did, or refused to do. Written once, never changed."""

    # Stamped when the entry is written, under the log's lock (see chain.py), unless given.
    occurred_at = models.DateTimeField(_("date-time (UTC)"))
    action = models.CharField(_("action"), max_length=64, choices=Action.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    # The reason in English, for audit, the CSV export and the API; failure_messages keeps the same
    # messages language-neutral (see services.refusal_messages), so the page can show them in the
    # reader's language. Null on entries that succeeded or were written before it existed.
    failure_reason = models.TextField(_("reason"), blank=True)
    failure_messages = models.JSONField(_("reason's messages"), null=True, blank=True,
                                        encoder=DjangoJSONEncoder)

    # Who and whom are kept as text as well as links, so the entry reads the same for ever.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("performed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_email = models.CharField(_("performed by"), max_length=254)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("affected customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    customer_name = models.CharField(_("affected customer"), max_length=200, blank=True)
    customer_tenant_id = models.UUIDField(_("customer tenant id"), null=True, blank=True)

    resource_type = models.CharField(_("resource type"), max_length=64, blank=True,
                                     choices=ResourceType.choices)
    resource_id = models.CharField(_("resource id"), max_length=200, blank=True)
    old_value = models.JSONField(_("old value"), null=True, blank=True, encoder=DjangoJSONEncoder)
    new_value = models.JSONField(_("new value"), null=True, blank=True, encoder=DjangoJSONEncoder)

    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    correlation_id = models.CharField(_("correlation id"), max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(_("client IP"), null=True, blank=True)
    # What the source recorded that the fields above do not hold: an imported Partner Center audit
    # record's id, operationDate, applicationId, customizedData... Null on the portal's own entries.
    source_record = models.JSONField(_("source's record"), null=True, blank=True, encoder=DjangoJSONEncoder)

    # The hash chain (chain.py): this entry's SHA-256 over its content and the previous entry's hash.
    prev_hash = models.CharField(_("previous entry's hash"), max_length=64, editable=False)
    entry_hash = models.CharField(_("hash"), max_length=64, editable=False)
    # The id of the key whose HMAC entry_hash is (settings.ACTIVITY_LOG_KEYS); empty on entries written
    # before the key existed, whose entry_hash is a plain SHA-256.
    hmac_key_id = models.CharField(_("HMAC key id"), max_length=32, blank=True, default="", db_default="",
                                   editable=False)

    objects = ActivityLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity log entry")
        verbose_name_plural = _("activity log entries")
        ordering = ["-occurred_at", "-id"]
        # Each filter's index ends in the page order (time, id), so that a first page and a page deep
        # down by keyset both read just one page of index.
        # Customer names are searched by substring through a trigram GIN index (PostgreSQL only, migration
        # 0005); "performed by" through the distinct addresses found on activity_actor_time_idx.
        indexes = [
            models.Index(fields=["-occurred_at", "-id"], name="activity_time_idx"),
            models.Index(fields=["customer_tenant_id", "-occurred_at", "-id"],
                         name="activity_tenant_time_idx"),
            models.Index(fields=["customer", "resource_type", "-occurred_at"],
                         name="activity_customer_res_idx"),
            models.Index(fields=["action", "-occurred_at", "-id"], name="activity_action_time_idx"),
            models.Index(fields=["status", "-occurred_at", "-id"], name="activity_status_time_idx"),
            models.Index(fields=["source", "-occurred_at", "-id"], name="activity_source_time_idx"),
            models.Index(fields=["actor_email", "-occurred_at", "-id"], name="activity_actor_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.get_action_display()} ({self.actor_email})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Activity log entries cannot be changed.")
        kwargs["force_insert"] = True
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        # Without a transaction of its own, the lock would end before the insert (autocommit).
        with transaction.atomic(using=using, savepoint=False):
            chain.chain([self], using)
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Activity log entries cannot be deleted.")

    def get_action_display(self) -> str:
        return label_of(Action, self.action)

    def get_status_display(self) -> str:
        return label_of(Status, self.status)

    def get_source_display(self) -> str:
        return label_of(Source, self.source)

    @property
    def succeeded(self) -> bool:
        return self.status == Status.SUCCEEDED

    @property
    def reason(self) -> str:
        """Why the action was refused, in the active language where the messages allow it."""
        if not self.failure_messages:
            return self.failure_reason
        try:
            return " ".join(_message_text(message) for message in self.failure_messages)
        except (KeyError, TypeError, ValueError):  # a translation whose placeholders do not fit
            return self.failure_reason


def _message_text(message: dict) -> str:
    """One stored message (services.refusal_messages) in the active language."""
    if "message" not in message:
        return message["text"]
    translated = set(message.get("translate", ()))
    params = {key: gettext(value) if key in translated else value
              for key, value in message.get("params", {}).items()}
    # As ValidationError formats: only a message that has params is %-formatted.
    return gettext(message["message"]) % params if params else gettext(message["message"])


class ActivityLogAnchor(models.Model):
    """Where the chain restarts after a purge: the last purged entry's id and hash. Never changed."""

    purged_at = models.DateTimeField(_("purged at"), auto_now_add=True)
    cutoff = models.DateTimeField(_("entries before"))
    last_purged_id = models.BigIntegerField(_("last purged entry"), unique=True)
    last_purged_hash = models.CharField(_("last purged entry's hash"), max_length=64)
    purged_count = models.BigIntegerField(_("entries purged"))

    class Meta:
        verbose_name = _("activity log purge anchor")
        verbose_name_plural = _("activity log purge anchors")
        ordering = ["-last_purged_id"]

    def __str__(self) -> str:
        return f"{self.purged_count} entries up to {self.last_purged_id} ({self.last_purged_hash[:12]}…)"
