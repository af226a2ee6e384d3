"""The readiness steps' forms (permissions/steps.py acts on them through Microsoft)."""

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from customers.forms import CustomerUserForm
from customers.models import AzureSubscription, Customer, RoleAssignment, Subscription

from .steps import ROLE_DEFINITIONS


class AzurePlanOrderForm(forms.Form):
    friendly_name = forms.CharField(label=_("Friendly name"), max_length=100, initial=_("Azure plan"))


class RoleRequestForm(forms.Form):
    azure_subscription = forms.ModelChoiceField(label=_("Azure subscription"), empty_label=None,
                                                queryset=AzureSubscription.objects.none())
    user_principal_name = forms.EmailField(
        label=_("Customer user's sign-in name"), max_length=254,
        help_text=_("Microsoft Graph finds the user in the customer's directory by this name."))
    role = forms.ChoiceField(label=_("Role"), initial=RoleAssignment.Role.OWNER, choices=[
        (role.value, role.label) for role in RoleAssignment.Role if role in ROLE_DEFINITIONS])

    def __init__(self, *args, subscription: Subscription, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["azure_subscription"].queryset = subscription.azure_subscriptions.filter(status="active")
        users = list(subscription.customer.users.values_list("user_principal_name", flat=True)[:200])
        if users and not self.is_bound:
            self.fields["user_principal_name"].initial = users[0]


class CustomerUserRequestForm(CustomerUserForm):
    first_name = forms.CharField(label=_("First name"), max_length=64, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=64, required=False)
    usage_location = forms.CharField(
        label=_("Usage location"), max_length=2, min_length=2,
        validators=[RegexValidator(r"^[A-Za-z]{2}$", _("Enter a two-letter country code, such as ID."))],
        help_text=_("Two-letter country code where the user uses Microsoft's services."))

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["usage_location"].initial = customer.country or ""
