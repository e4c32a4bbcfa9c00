"""The status actions of an appointment: which marks to offer, read by
``booking/staff/_status_actions.html`` wherever it is included (appointment page, agenda)."""

from __future__ import annotations

from django import template
from django.utils import timezone

from booking import services
from booking.models import Appointment

register = template.Library()


@register.filter
def offered_marks(appointment: Appointment) -> tuple[str, ...]:
    """The marks to offer now, on the clinic's calendar: the zone ClinicTimezoneMiddleware
    activated for the request (no query, no cache read: the agenda includes this per block)."""
    tz = timezone.get_current_timezone()
    return services.offered_marks(appointment, today=timezone.localdate(), tz=tz)
