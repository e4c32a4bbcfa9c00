from allauth.account.adapter import get_adapter
from django import forms
from django.utils.translation import gettext_lazy as _


class CorrectionForm(forms.Form):
    message = forms.CharField(
        label=_("What is wrong in your details?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For example: my address changed, my name is misspelt."),
    )

    def clean_message(self) -> str:
        message = self.cleaned_data["message"].strip()
        if not message:
            raise forms.ValidationError(_("Tell the clinic what should be corrected."))
        return message


class ResolveForm(forms.Form):
    note = forms.CharField(
        label=_("Note for the client"),
        max_length=500,
        required=False,
        widget=forms.TextInput,
    )


class ErasureForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    understood = forms.BooleanField(
        label=_("I understand that my account will be closed and cannot be reopened."),
    )

    def __init__(self, *args, user, request=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.request = request

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        # Through allauth's adapter: failed attempts count against the same "login_failed" rate
        # limit as the sign-in form, so this form cannot be used to guess the password.
        checked = get_adapter(self.request).authenticate(
            self.request, email=self.user.email, password=password
        )
        if checked is None or checked.pk != self.user.pk:
            raise forms.ValidationError(_("This is not your password."))
        return password


class NoticeForm(forms.Form):
    text_fr = forms.CharField(
        label=_("Notice in French"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 16}),
    )
    text_en = forms.CharField(
        label=_("Notice in English"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text=_(
            "Leave empty to show the French text to everyone. "
            "Separate paragraphs with an empty line."
        ),
    )
