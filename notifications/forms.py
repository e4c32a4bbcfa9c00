"""Forms: a client's preferences, the outbox filters, a clinic's template, a campaign."""

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from notifications.messages import MEDICAL_FIELDS, check_template
from notifications.models import Campaign, Channel, Kind, Status, Topic


class PhoneCodeForm(forms.Form):
    """The 6 digits a client received by text message."""

    code = forms.CharField(
        label=_("Code received by text message"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9 ]{6,7}",
                "maxlength": "7",
                "size": "8",
            }
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if len(code) != 6 or not code.isdigit():
            raise forms.ValidationError(_("Type the 6 digits of the code."))
        return code


class PreferencesForm(forms.Form):
    """One checkbox per topic and channel, plus the two consents. Marketing starts unticked."""

    marketing_opt_in = forms.BooleanField(
        label=_("Send me the clinic's news and prevention campaigns by e-mail"), required=False
    )
    service_opt_out = forms.BooleanField(
        label=_("Send me no reminders or notices at all (appointment confirmations still go)"),
        required=False,
    )

    def __init__(self, *args, preference, **kwargs) -> None:
        initial = {
            "marketing_opt_in": preference.marketing_opt_in,
            "service_opt_out": preference.service_opt_out,
        }
        for topic in Topic:
            for channel in Channel:
                initial[f"{topic}_{channel}"] = channel in preference.channels_for(topic)
        super().__init__(*args, initial=initial, **kwargs)
        self.topics = []
        for topic in Topic:
            names = []
            for channel in Channel:
                name = f"{topic}_{channel}"
                self.fields[name] = forms.BooleanField(label=channel.label, required=False)
                names.append(name)
            self.topics.append((topic.label, [self[name] for name in names]))

    def channels(self) -> dict[str, list[str]]:
        return {
            topic: [channel for channel in Channel if self.cleaned_data[f"{topic}_{channel}"]]
            for topic in Topic
        }


def _choices(choices, label) -> list[tuple[str, str]]:
    return [("", label), *choices]


class OutboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=_choices(Status.choices, _("Any status"))
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=_choices(Channel.choices, _("Any channel"))
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=_choices(Kind.choices, _("Any kind"))
    )
    q = forms.CharField(label=_("Client or recipient"), required=False, max_length=100)

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        for name in ("status", "channel", "kind"):
            if data[name]:
                queryset = queryset.filter(**{name: data[name]})
        for word in data["q"].split():
            queryset = queryset.filter(
                Q(client__last_name__icontains=word)
                | Q(client__first_name__icontains=word)
                | Q(recipient__icontains=word)
            )
        return queryset


class TemplateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), required=False, max_length=200)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args, channel: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channel = channel
        if channel == Channel.SMS:
            del self.fields["subject"]
            self.fields["body"].widget.attrs["rows"] = 4

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"]
        error = check_template(subject)
        if error:
            raise forms.ValidationError(error)
        if self.channel == Channel.EMAIL and not subject.strip():
            raise forms.ValidationError(_("An e-mail needs a subject."))
        return subject

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        error = check_template(body)
        if error:
            raise forms.ValidationError(error)
        if self.channel == Channel.SMS:
            used = sorted(name for name in MEDICAL_FIELDS if name in body)
            if used:
                raise forms.ValidationError(
                    _("A text message carries no medical detail: remove %(fields)s.")
                    % {"fields": ", ".join(used)}
                )
        return body


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["title", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}


LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]
