from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PurchasePermissionState, Resource

ALLOW, DENY = "allow", "deny"
CHOICES = [
    (ALLOW, _("Allow customer to purchase")),
    (DENY, _("Don't allow customer to purchase")),
]


class PurchasePermissionsForm(forms.Form):
    """The Customer Permissions box: one Allow / Don't allow choice per resource."""

    def __init__(self, *args, states: list[PurchasePermissionState], **kwargs):
        kwargs.setdefault(
            "initial", {state.resource: ALLOW if state.allowed else DENY for state in states}
        )
        super().__init__(*args, **kwargs)
        for resource in Resource:
            self.fields[resource] = forms.ChoiceField(
                label=resource.label, choices=CHOICES, widget=forms.RadioSelect
            )

    def allowed(self) -> dict[str, bool]:
        return {resource: self.cleaned_data[resource] == ALLOW for resource in Resource}
