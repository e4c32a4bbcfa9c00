from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from messaging.models import QuickReply
from portal.models import STAFF_ROLES, User
from records.models import Patient


class ComposeForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=settings.ACCUEIL_MESSAGING_MAX_BODY,
    )
    attachment = forms.FileField(
        label=_("Photo or PDF (optional)"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,application/pdf"}
        ),
    )
    client_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("body") or "").strip() and not cleaned.get("attachment"):
            raise forms.ValidationError(_("Write a message (or attach a photo or a PDF)."))
        return cleaned


class NewConversationForm(ComposeForm):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    patient = forms.ModelChoiceField(
        label=_("About"),
        queryset=Patient.objects.none(),
        required=False,
        empty_label=_("No animal in particular"),
    )

    field_order = ["subject", "patient", "body", "attachment", "client_token"]

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the client's own animals are offered, and only they validate: a forged id
        # is a field error, never a link to someone else's patient.
        self.fields["patient"].queryset = Patient.objects.of_client(client).order_by("name")
        self.fields["body"].label = _("Message")


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assigned to"),
        queryset=User.objects.filter(role__in=STAFF_ROLES, is_active=True).order_by(
            "first_name", "last_name"
        ),
        required=False,
        empty_label=_("Nobody"),
    )


class QuickReplyForm(forms.ModelForm):
    class Meta:
        model = QuickReply
        fields = ["title", "body", "position"]
