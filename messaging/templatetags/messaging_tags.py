"""Phone numbers as links a phone can dial."""

import phonenumbers
from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from messaging.contact import Line
from portal.lib.phones import DEFAULT_REGION, display_phone, tel_uri

register = template.Library()


@register.filter
def tel_link(value: Line | str | None) -> SafeString:
    """`<a href="tel:+33…">04 78 …</a>` for a Line or a stored number; "" for nothing."""
    if not value:
        return mark_safe("")
    number = value.number if isinstance(value, Line) else value
    return format_html('<a href="{}">{}</a>', tel_uri(number), display_phone(number))


@register.filter
def with_tel_links(text: str | None) -> SafeString:
    """Plain text, escaped, line breaks kept, every phone number in it made a tel: link.

    For the clinic's automatic replies ("call the clinic now on 04 78 00 00 00"), whose text is
    stored as written in the client's language.
    """
    text = text or ""
    parts: list[str] = []
    last = 0
    for match in phonenumbers.PhoneNumberMatcher(text, DEFAULT_REGION):
        parts.append(escape(text[last : match.start]))
        uri = "tel:" + phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        parts.append(format_html('<a href="{}">{}</a>', uri, match.raw_string))
        last = match.end
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts).replace("\n", "<br>"))
