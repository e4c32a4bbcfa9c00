from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from webhooks.models import Event

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class EndpointForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("Who receives it, e.g. “Phone assistant”.")
    )
    url = forms.URLField(
        label=_("Address (URL)"),
        max_length=500,
        assume_scheme="https",
        help_text=_("An https:// address that accepts POST requests."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events to send"),
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return url
        if (
            parts.scheme == "http"
            and parts.hostname in LOCAL_HOSTS
            and settings.WEBHOOKS_ALLOW_LOCAL_HTTP
        ):
            return url
        raise forms.ValidationError(
            _("Use an https:// address: deliveries carry signed data and must be encrypted.")
        )
