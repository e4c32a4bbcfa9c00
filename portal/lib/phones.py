"""Phone numbers: parsed with `phonenumbers`, stored in E.164, shown nationally."""

import phonenumbers
from django import forms
from django.utils.translation import gettext as _

DEFAULT_REGION = "FR"


def normalise_phone(value: str, *, required: bool = False, region: str = DEFAULT_REGION) -> str:
    """E.164 for a valid number, "" for an empty optional one; a form error otherwise."""
    value = (value or "").strip()
    if not value:
        if required:
            raise forms.ValidationError(_("This field is required."))
        return ""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise forms.ValidationError(_("Enter a valid phone number, e.g. 06 12 34 56 78.")) from None
    if not phonenumbers.is_valid_number(number):
        raise forms.ValidationError(_("Enter a valid phone number, e.g. 06 12 34 56 78."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(value: str, region: str = DEFAULT_REGION) -> str:
    """How a person reads and dials it: national format at home, international abroad."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    if phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def tel_uri(number: str) -> str:
    """`tel:+33478000000` for any way a number is written (stored E.164 or typed nationally)."""
    try:
        parsed = phonenumbers.parse(number, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return "tel:" + "".join(char for char in number if char.isdigit() or char == "+")
    return "tel:" + phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
