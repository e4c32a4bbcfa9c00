from django import template

from portal.lib.phones import display_phone

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """A stored E.164 number as a person dials it."""
    return display_phone(value)
