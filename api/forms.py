import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_DAYS = 3650


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("For example: nightly permissions script")}),
        help_text=_("What the token is for, so that you recognise it later."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"), required=False, min_value=1, max_value=MAX_DAYS,
        # A text box styled like the others; the field still accepts only whole numbers.
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "90"}),
        help_text=_("Leave empty for a token that does not expire."),
    )

    def expires_at(self) -> dt.datetime | None:
        days = self.cleaned_data["expires_in_days"]
        return timezone.now() + dt.timedelta(days=days) if days else None
