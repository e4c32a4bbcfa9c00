from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.lib.phones import normalise_phone
from portal.models import User


class NewcomerForm(forms.Form):
    """The account, made inline while the chosen slot is held: name, e-mail, mobile, password."""

    first_name = forms.CharField(
        label=_("First name"),
        max_length=150,
        widget=forms.TextInput({"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=150,
        widget=forms.TextInput({"autocomplete": "family-name"}),
    )
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput({"autocomplete": "email"}))
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=40,
        help_text=_("We send a code to check it, then your reminders."),
        widget=forms.TextInput({"autocomplete": "tel", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput({"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not too common."),
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(
                _("An account already uses this e-mail: sign in to book (your time stays held)."),
                code="taken",
            )
        return email

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("phone", ""), required=True)

    def clean(self):
        data = super().clean()
        password = data.get("password")
        if password:
            probe = User(
                email=data.get("email", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                validate_password(password, probe)
            except ValidationError as error:
                self.add_error("password", error)
        return data


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            {"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]{6}"}
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().replace(" ", "")
        if not code.isdigit():
            raise ValidationError(_("The code is 6 digits."))
        return code
