"""The status actions of an appointment: which marks to offer, read by
``booking/staff/_status_actions.html`` wherever it is included (appointment page, agenda)."""

from __future__ import annotations

from django import template
from django.utils import timezone

from booking import services
from booking.models import Appointment
from portal.models import Clinic

register = template.Library()


@register.filter
def offered_marks(appointment: Appointment) -> tuple[str, ...]:
    """The marks to offer now, on the clinic's calendar (no query: the clinic is cached)."""
    tz = Clinic.current().tz
    return services.offered_marks(appointment, today=timezone.now().astimezone(tz).date(), tz=tz)
