"""`{{ appointment|grid_status }}`: the colour an agenda block wears (booking.grid.status_of)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from booking.grid import status_of

register = template.Library()


@register.filter
def grid_status(appointment: Any) -> str:
    return status_of(appointment)


@register.filter
def grid_status_label(appointment: Any) -> str:
    """What the colour means, in words (colour is never the only sign)."""
    status = status_of(appointment)
    labels = {
        "booked": _("Booked"),
        "confirmed": _("Confirmed"),
        "arrived": _("Arrived"),
        "consultation": _("In consultation"),
        "attended": _("Attended"),
        "no_show": _("No-show"),
        "cancelled": _("Cancelled"),
    }
    if status == "confirmed" and getattr(appointment, "confirmed_via", "") == "sms":
        return _("Confirmed (SMS)")
    return labels[status]
