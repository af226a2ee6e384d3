import datetime as dt

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import Action, ActivityLogQuerySet, Source, Status

DEFAULT_DAYS = 30
UNPAIRED_SURROGATE = _("Enter text without unpaired surrogate characters: they are not valid Unicode.")


def is_unicode(text: str) -> bool:
    """Whether the text is valid Unicode: a lone surrogate ("\\ud800", which a JSON escape can make) is
    not, and no database can be asked about it (UTF-8 cannot encode it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_unicode(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


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
        given = QueryDict(mutable=True)
        for key, values in (data.lists() if isinstance(data, QueryDict) else (data or {}).items()):
            given.setlist(key, values if isinstance(values, list) else [values])
        # Text that is not valid Unicode is refused (clean), and shown and linked to again with its
        # surrogates replaced: the page could not even be encoded with them.
        self.not_unicode = {key for key, values in given.lists() if not all(map(is_unicode, values))}
        for key in self.not_unicode:
            given.setlist(key, [_as_unicode(value) for value in given.getlist(key)])
        self.given = given.copy()  # what was asked, before the defaults: for paging and export links
        data = given
        # An empty box means the default window, so that a bare /activity-log/ is the last 30 days.
        if not data.get("date_from"):
            data["date_from"] = (today - dt.timedelta(days=DEFAULT_DAYS)).isoformat()
        if not data.get("date_to"):
            data["date_to"] = today.isoformat()
        super().__init__(data, **kwargs)

    def clean(self):
        cleaned = super().clean()
        for name in self.not_unicode & set(self.fields):
            self.add_error(name, UNPAIRED_SURROGATE)
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date must be on or after the start date."))
        return cleaned

    def filter(self, entries: ActivityLogQuerySet) -> ActivityLogQuerySet:
        return selectors.filtered(entries, **self.cleaned_data)

    def query_string(self) -> str:
        """The filters as given, to carry into paging and export links."""
        return self.data.urlencode() if hasattr(self.data, "urlencode") else ""
