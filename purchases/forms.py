from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activitylog.forms import DateInput

from .models import Kind


class PurchaseFilterForm(forms.Form):
    customer = forms.CharField(label=_("Customer"), required=False, max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *Kind.choices])
    buyer = forms.CharField(label=_("Bought by"), required=False, max_length=254)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date must be on or before the end date."))
        return data

    def filter(self, purchases):
        data = self.cleaned_data
        if data.get("customer"):
            purchases = purchases.filter(customer__company_name__icontains=data["customer"])
        if data.get("kind"):
            purchases = purchases.filter(kind=data["kind"])
        if data.get("buyer"):
            purchases = purchases.filter(buyer__icontains=data["buyer"])
        # Days as time ranges (from the first moment of date_from to before the day after date_to), so that
        # the index on purchased_at serves them; a cast of every row to its date could not use it.
        if data.get("date_from"):
            purchases = purchases.filter(purchased_at__gte=_day_start(data["date_from"]))
        if data.get("date_to"):
            purchases = purchases.filter(purchased_at__lt=_day_start(data["date_to"] + timedelta(days=1)))
        return purchases


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class PurchaseLimitForm(forms.Form):
    amount = forms.DecimalField(label=_("Self-purchase limit (12 months)"), required=False, min_value=0,
                                max_digits=14, decimal_places=2,
                                help_text=_("Leave empty for no limit."))
    turn_off_at_limit = forms.BooleanField(label=_("Turn permissions off at the limit"), required=False)


class NotificationPreferenceForm(forms.Form):
    notify_purchases = forms.BooleanField(label=_("Tell me when a customer buys"), required=False)


class CostVisibilityForm(forms.Form):
    view_charges = forms.TypedChoiceField(
        label=_("Cost visibility"), coerce=lambda v: v == "Allowed",
        choices=[("Allowed", _("Let the customer see its Azure usage costs")),
                 ("NotAllowed", _("Don't let the customer see its Azure usage costs"))],
        widget=forms.RadioSelect)
