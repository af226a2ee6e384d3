import datetime as dt
import uuid

from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from activitylog.forms import DateInput
from customers.forms import CustomerSearchForm

from .models import PurchasePermission, Resource
from .selectors import PurchasePermissionState, ready_customers

ALLOW, DENY = "allow", "deny"
CHOICES = [
    (ALLOW, _("Allow customer to purchase")),
    (DENY, _("Don't allow customer to purchase")),
]


class ChoiceRadios(forms.RadioSelect):
    """Radios whose unavailable choices are shown, disabled, rather than hidden."""

    def __init__(self, *args, unavailable: frozenset = frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.unavailable = unavailable

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value in self.unavailable:
            option["attrs"]["disabled"] = True
        return option


NOT_READY_TO_ALLOW = _("Allowing is unavailable until the customer is ready: see the steps above.")


class PurchasePermissionsForm(forms.Form):
    """The Customer Permissions box: one Allow / Don't allow choice per resource.

    While the customer is not ready, Allow is shown disabled, with the reason, for each permission not
    already allowed (the service still refuses a forged one); turning a permission off stays possible.
    """

    def __init__(self, *args, states: list[PurchasePermissionState], ready: bool = True, **kwargs):
        kwargs.setdefault(
            "initial", {state.resource: ALLOW if state.allowed else DENY for state in states}
        )
        super().__init__(*args, **kwargs)
        allowed = {state.resource for state in states if state.allowed}
        for resource in Resource:
            unavailable = frozenset() if ready or resource in allowed else frozenset({ALLOW})
            self.fields[resource] = forms.ChoiceField(
                label=resource.label, choices=CHOICES, widget=ChoiceRadios(unavailable=unavailable),
                help_text=NOT_READY_TO_ALLOW if unavailable else "",
            )

    def allowed(self) -> dict[str, bool]:
        return {resource: self.cleaned_data[resource] == ALLOW for resource in Resource}

    def asked(self) -> dict[str, bool]:
        """What a POST asks for even when it is not valid: anything but "Don't allow" asks to allow.

        Only for recording a read-only agent's forged attempt, which is refused whatever it holds.
        """
        return {resource: self.data.get(resource) != DENY for resource in Resource}


READY, NOT_READY = "ready", "not_ready"
READINESS_CHOICES = [("", _("Ready or not")), (READY, _("Ready")), (NOT_READY, _("Not ready"))]
ALLOWED_CHOICES = [("", _("Allowed or not")), (ALLOW, _("Allowed")), (DENY, _("Not allowed"))]


def filter_readiness(customers, readiness: str):
    """Customers annotated by with_readiness(), narrowed to the ready or the not ready ones."""
    ready = ready_customers()
    if readiness == READY:
        return customers.filter(ready)
    if readiness == NOT_READY:
        return customers.exclude(ready)
    return customers


class CustomerPermissionFilters(forms.Form):
    """The customer list's filters: readiness, and each purchase permission allowed or not."""

    readiness = forms.ChoiceField(label=_("Readiness"), required=False, choices=READINESS_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for resource in Resource:
            self.fields[resource.value] = forms.ChoiceField(label=resource.label, required=False,
                                                            choices=ALLOWED_CHOICES)

    def filter(self, customers):
        """Customers annotated by with_readiness() and with_permissions()."""
        customers = filter_readiness(customers, self.cleaned_data["readiness"])
        for resource in Resource:
            wanted = self.cleaned_data[resource.value]
            if wanted:
                customers = customers.filter(**{f"allows_{resource}": wanted == ALLOW})
        return customers


class CustomerListForm(CustomerSearchForm, CustomerPermissionFilters):
    """The customer list's search box, and its filters by readiness and by each purchase permission."""

    field_order = ["q"]

    def filters(self) -> list:
        return [field for field in self if field.name != "q"]


class AccessReviewFilterForm(forms.Form):
    """The access review's filters; every field narrows the list, all of them together."""

    permission = forms.ChoiceField(label=_("Permission"), required=False,
                                   choices=[("", _("Any permission")), *Resource.choices])
    readiness = forms.ChoiceField(label=_("Readiness"), required=False, choices=READINESS_CHOICES)
    not_reviewed_since = forms.DateField(
        label=_("Not reviewed since"), required=False, widget=DateInput,
        help_text=_("Customers never reviewed, or last reviewed before this day (UTC)."))

    def filter(self, customers):
        data = self.cleaned_data
        allowed = PurchasePermission.objects.filter(customer=OuterRef("pk"))
        if data["permission"]:
            allowed = allowed.filter(resource=data["permission"])
        customers = filter_readiness(customers.filter(Exists(allowed)), data["readiness"])
        if since := data["not_reviewed_since"]:
            start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
            customers = customers.filter(Q(access_review__isnull=True)
                                         | Q(access_review__reviewed_at__lt=start))
        return customers


class TenantIdsField(forms.Field):
    """Several tenant ids posted under one name (ticked checkboxes)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": _("That is not a customer's Microsoft ID.")}

    def to_python(self, value) -> list[uuid.UUID]:
        try:
            return [uuid.UUID(str(item)) for item in value or []]
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class MarkReviewedForm(forms.Form):
    """One customer (its row's button) or the ticked ones (the button under the list)."""

    customer = forms.UUIDField(required=False)
    selected = TenantIdsField(required=False)

    def tenant_ids(self) -> list[uuid.UUID]:
        chosen = self.cleaned_data.get("customer")
        return [chosen] if chosen else self.cleaned_data.get("selected", [])

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.tenant_ids():
            raise forms.ValidationError(_("Tick at least one customer to mark as reviewed."),
                                        code="nothing_selected")
        return cleaned
