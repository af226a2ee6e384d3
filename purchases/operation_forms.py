"""The forms of the partner's operations (issue 13)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .operations import TERMS, Purchase, Scope

SCOPE_CHOICES = [
    ("Shared", _("Shared: every subscription the partner bought for this customer")),
    ("Single", _("Single subscription")),
    ("ResourceGroup", _("Resource group")),
    ("ManagementGroup", _("Management group")),
]
TERM_CHOICES = [("P1Y", _("1 year")), ("P3Y", _("3 years")), ("P5Y", _("5 years"))]


class ScopeForm(forms.Form):
    scope = forms.ChoiceField(label=_("Scope"), choices=SCOPE_CHOICES, widget=forms.RadioSelect)
    subscription = forms.ChoiceField(label=_("Azure subscription"), required=False)
    resource_group = forms.CharField(label=_("Resource group"), required=False, max_length=90)
    management_group = forms.CharField(label=_("Management group id"), required=False, max_length=90)

    def __init__(self, *args, subscriptions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscription"].choices = [("", "—")] + [
            (str(s.azure_subscription_id), f"{s} ({s.azure_subscription_id})") for s in subscriptions
        ]

    def scope_value(self) -> Scope:
        data = self.cleaned_data
        return Scope(
            kind=data["scope"],
            subscription=data.get("subscription") or "",
            resource_group=(data.get("resource_group") or "").strip(),
            management_group=(data.get("management_group") or "").strip(),
        )


class NameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)


class RenewForm(forms.Form):
    renew = forms.ChoiceField(
        choices=[("on", _("Turn auto-renew on")), ("off", _("Turn auto-renew off")), ("now", _("Renew"))]
    )


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)


class ConfirmRefundForm(forms.Form):
    operation = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason (sent to Microsoft)"), max_length=200, required=False)


class ConfirmForm(forms.Form):
    operation = forms.IntegerField(widget=forms.HiddenInput)


class ExchangeForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity to exchange"), min_value=1, initial=1)
    buy = forms.ChoiceField(
        label=_("Exchange for"),
        widget=forms.RadioSelect,
        choices=[("reservation", _("Another reservation")), ("savings_plan", _("A savings plan"))],
    )
    term = forms.ChoiceField(label=_("Term"), choices=TERM_CHOICES)
    sku = forms.CharField(label=_("Product (SKU)"), required=False, max_length=100)
    location = forms.CharField(label=_("Region"), required=False, max_length=64)
    resource_type = forms.CharField(
        label=_("Resource type"), required=False, max_length=64, initial="VirtualMachines"
    )
    new_quantity = forms.IntegerField(label=_("Quantity to buy"), min_value=1, initial=1, required=False)
    billing_plan = forms.ChoiceField(
        label=_("Billing"), choices=[("Upfront", _("Upfront")), ("Monthly", _("Monthly"))], required=False
    )
    hourly_commitment = forms.DecimalField(
        label=_("Hourly commitment (USD)"), required=False, min_value=0, max_digits=12, decimal_places=4
    )
    name = forms.CharField(label=_("Name"), required=False, max_length=64)

    def purchase(self) -> Purchase:
        data = self.cleaned_data
        assert data["term"] in TERMS
        return Purchase(
            kind=data["buy"],
            term=data["term"],
            sku=data.get("sku") or "",
            location=data.get("location") or "",
            resource_type=(data.get("resource_type") or "VirtualMachines").strip(),
            quantity=data.get("new_quantity") or 1,
            billing_plan=data.get("billing_plan") or "Upfront",
            hourly_commitment=data.get("hourly_commitment"),
            name=(data.get("name") or "").strip(),
        )
