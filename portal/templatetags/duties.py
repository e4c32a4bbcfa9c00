"""`{% if request.user|has_duty:"medical" %}`: show a write button only to whom may use it."""

from django import template

from portal import access

register = template.Library()


@register.filter
def has_duty(user, duty: str) -> bool:
    return access.has_duty(user, duty)
