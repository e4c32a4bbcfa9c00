from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from api.models import Channel, Scope, parse_networks
from portal.lib.widgets import IsoDateInput


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the integration"),
        max_length=100,
        help_text=_("Who uses it, e.g. “Phone assistant”: every call is logged under it."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("What it may do"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )
    channel = forms.ChoiceField(
        label=_("Booking rules"), choices=Channel.choices, initial=Channel.PHONE
    )
    allowed_networks = forms.CharField(
        label=_("Allowed IP addresses (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One address or network per line, e.g. 203.0.113.0/24. Empty: any."),
    )
    expires_on = forms.DateField(
        label=_("Expires on (optional)"),
        required=False,
        widget=IsoDateInput(),
    )
    rate_per_minute = forms.IntegerField(label=_("Calls per minute"), min_value=1, max_value=10000)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rate_per_minute"].initial = settings.ACCUEIL_API_RATE_PER_MINUTE

    def clean_allowed_networks(self) -> list[str]:
        return parse_networks(self.cleaned_data["allowed_networks"])
