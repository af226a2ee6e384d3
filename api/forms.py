import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

MAX_DAYS = 3650
DEFAULT_DAYS = 90


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("For example: nightly permissions script")}),
        help_text=_("What the token is for, so that you recognise it later."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"), required=False, min_value=1, max_value=MAX_DAYS,
        initial=DEFAULT_DAYS,
        # A text box styled like the others; the field still accepts only whole numbers.
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=format_lazy(_("From 1 to {max} days."), max=MAX_DAYS),
    )
    never_expires = forms.BooleanField(
        label=_("The token never expires"), required=False,
        help_text=_("Only for a script that you look after: it works until you revoke it."),
    )

    def clean(self):
        cleaned = super().clean()
        # What the page shows is what it does: an empty box is not a silent "never".
        if not cleaned.get("never_expires") and cleaned.get("expires_in_days") is None \
                and "expires_in_days" not in self.errors:
            self.add_error("expires_in_days", _("Enter a number of days, or choose that the token "
                                                "never expires."))
        return cleaned

    def expires_at(self) -> dt.datetime | None:
        if self.cleaned_data["never_expires"]:
            return None
        return timezone.now() + dt.timedelta(days=self.cleaned_data["expires_in_days"])
