from django import forms
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _

from .models import Subscription


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": _("Company name, domain or Microsoft ID")}),
    )


class ConfirmForm(forms.Form):
    """Set by the confirmation step's button; a POST without it only shows that step."""

    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class SubscriptionStatusForm(ConfirmForm):
    status = forms.ChoiceField(
        choices=[(Subscription.Status.ACTIVE, _("Reactivate")),
                 (Subscription.Status.SUSPENDED, _("Suspend"))]
    )


class CustomerUserForm(forms.Form):
    user_principal_name = forms.CharField(
        label=_("Sign-in name"), max_length=254,
        validators=[EmailValidator(message=_("Enter a sign-in name such as alex@contoso.com."))],
    )
    display_name = forms.CharField(label=_("Display name"), max_length=150)
