import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import Action, ActivityLogQuerySet, Source, Status

# api/views.py reads pages of the log with these; they live in selectors.py.
from .selectors import cursor_for, keyset_filter  # noqa: F401

DEFAULT_DAYS = 30


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):  # noqa: A002 - Django's name
        # A date box always sends and shows ISO dates, whatever the language's own date format.
        super().__init__(attrs, format)


class ActivityLogFilterForm(forms.Form):
    """The auditor's filters; every field narrows the result, all of them together."""

    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput)
    customer = forms.CharField(
        label=_("Customer"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("Name or Microsoft ID")}),
    )
    action = forms.ChoiceField(label=_("Action"), required=False,
                               choices=[("", _("All actions")), *Action.choices])
    performed_by = forms.CharField(
        label=_("Performed by"), required=False, max_length=254,
        widget=forms.TextInput(attrs={"placeholder": _("E-mail address")}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *Status.choices])
    source = forms.ChoiceField(label=_("Source"), required=False,
                               choices=[("", _("Any source")), *Source.choices])

    def __init__(self, data=None, **kwargs):
        today = timezone.now().date()
        data = data.copy() if data is not None else {}
        # An empty box means the default window, so that a bare /activity-log/ is the last 30 days.
        if not data.get("date_from"):
            data["date_from"] = (today - dt.timedelta(days=DEFAULT_DAYS)).isoformat()
        if not data.get("date_to"):
            data["date_to"] = today.isoformat()
        super().__init__(data, **kwargs)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date must be on or after the start date."))
        return cleaned

    def filter(self, entries: ActivityLogQuerySet) -> ActivityLogQuerySet:
        return selectors.filtered(entries, **self.cleaned_data)

    def query_string(self) -> str:
        """The filters as given, to carry into paging and export links."""
        return self.data.urlencode() if hasattr(self.data, "urlencode") else ""
