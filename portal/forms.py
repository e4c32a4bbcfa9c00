from allauth.account.adapter import get_adapter
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.utils.translation import gettext_lazy as _

from portal.lib.phones import normalise_phone
from portal.lockout import locked_message, seconds_locked
from portal.models import STAFF_ROLES, Client, Clinic, Role, User


class SignupForm(AllauthSignupForm):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=40,
        required=False,
        help_text=_("For appointment reminders by text message. Optional."),
    )

    field_order = ["first_name", "last_name", "email", "phone", "password1", "password2"]

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("phone", ""))


class LoginForm(AllauthLoginForm):
    """allauth's sign-in form; when failed attempts have locked signing in, the error says how
    long the lock still holds and the clinic's phone, and `locked_seconds` lets the page offer
    a call button."""

    locked_seconds: float = 0

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError as error:
            if getattr(error, "code", None) != "too_many_login_attempts" or self.request is None:
                raise
            credentials = {k: v for k, v in self.user_credentials().items() if k != "password"}
            key = get_adapter(self.request)._get_login_attempts_cache_key(
                self.request, **credentials
            )
            seconds = seconds_locked(self.request, key)
            self.locked_seconds = seconds or 60
            raise forms.ValidationError(
                locked_message(self.locked_seconds), code="too_many_login_attempts"
            ) from None


class OTPTokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self) -> str:
        return self.cleaned_data["token"].replace(" ", "").strip()


class ClinicForm(forms.ModelForm):
    class Meta:
        model = Clinic
        fields = [
            "name",
            "address",
            "phone",
            "emergency_phone",
            "email",
            "time_zone",
            "sms_sender",
            "logo",
        ]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def clean_time_zone(self) -> str:
        import zoneinfo

        value = self.cleaned_data["time_zone"].strip()
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(_("Use a time zone name such as Europe/Paris.")) from None
        return value

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data["phone"], required=True)

    def clean_emergency_phone(self) -> str:
        return normalise_phone(self.cleaned_data["emergency_phone"])


class StaffInvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(
        label=_("Role"), choices=[(r.value, r.label) for r in Role if r in STAFF_ROLES]
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this e-mail already exists."))
        return email


class ClientForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = ["first_name", "last_name", "email", "phone", "address", "preferred_language"]
        widgets = {"address": forms.Textarea(attrs={"rows": 2})}

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data["phone"])


class ClientContactForm(forms.ModelForm):
    """What a client may correct themselves."""

    class Meta:
        model = Client
        fields = ["first_name", "last_name", "phone", "address", "preferred_language"]
        widgets = {"address": forms.Textarea(attrs={"rows": 2})}

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data["phone"])
