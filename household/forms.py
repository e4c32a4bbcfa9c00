from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from household import services
from household.models import SHARED_ROLES
from portal.models import Client
from records.models import Guardianship


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("Their e-mail address"),
        help_text=_("They accept with their own account, or create one with this address."),
    )
    role = forms.ChoiceField(
        label=_("As"),
        choices=SHARED_ROLES,
        initial=Guardianship.Role.SITTER,
        widget=forms.RadioSelect,
        help_text=_(
            "A co-owner sees everything, reports included. A pet-sitter books, writes to the "
            "clinic and sees the care due, but not the reports."
        ),
    )
    patients = forms.ModelMultipleChoiceField(
        label=_("Which animals"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one of your animals.")},
    )

    def __init__(self, *args, inviter: Client, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.inviter = inviter
        # Only the animals this client owns: another's id is "not one of the available choices".
        self.fields["patients"].queryset = services.owned_patients(inviter)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        problems = services.check_invitation(
            inviter=self.inviter,
            email=data["email"],
            patients=data["patients"],
            now=timezone.now(),
        )
        for field, message in problems.items():
            self.add_error(field or None, message)
        return data
