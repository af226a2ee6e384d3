from django import forms
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _

from .models import Customer, CustomerUser, RoleAssignment, Subscription
from .services import CUSTOMER_DETAILS, validate_domain


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": _("Company name, domain or Microsoft ID")}),
    )


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ("company_name", "domain", *CUSTOMER_DETAILS)

    def clean_domain(self) -> str:
        domain = self.cleaned_data["domain"].strip().lower()
        validate_domain(domain)
        return domain


class AzurePlanForm(forms.Form):
    offer = forms.ChoiceField(
        label=_("Offer"),
        choices=[(offer.value, offer.label) for offer in Subscription.AZURE_OFFERS],
        initial=Subscription.Offer.AZURE_PLAN,
    )
    friendly_name = forms.CharField(label=_("Friendly name"), max_length=100,
                                    initial=_("Azure plan"))


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


class RoleAssignmentForm(forms.Form):
    customer_user = forms.ModelChoiceField(label=_("Customer user"), queryset=CustomerUser.objects.none(),
                                           empty_label=None)
    role = forms.ChoiceField(label=_("Role"), choices=RoleAssignment.Role.choices,
                             initial=RoleAssignment.Role.OWNER)

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer_user"].queryset = customer.users.all()
