from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Resource
from .selectors import PurchasePermissionState

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

    def asked(self) -> dict[str, bool]:
        """What a POST asks for even when it is not valid: anything but "Don't allow" asks to allow.

        Only for recording a read-only agent's forged attempt, which is refused whatever it holds.
        """
        return {resource: self.data.get(resource) != DENY for resource in Resource}
