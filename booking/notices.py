"""What notifications receives about an appointment, and the one-tap links inside it."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from booking import ics
from booking.models import Appointment, BookingRules
from notifications.contracts import AppointmentNotice
from portal.lib.links import make_token

LINK_PURPOSE = "appointment"
ACTIONS = ("confirm", "cancel", "move")


def link_token(appointment: Appointment, action: str) -> str:
    """A signed token for one action on this version of the appointment, valid until it starts."""
    payload = {"a": appointment.pk, "v": appointment.version, "act": action}
    return make_token(LINK_PURPOSE, payload, expires_at=appointment.starts_at)


def link_url(appointment: Appointment, action: str) -> str:
    path = reverse("booking:one_tap", args=[link_token(appointment, action)])
    return settings.ACCUEIL_BASE_URL.rstrip("/") + path


def ics_event(appointment: Appointment, *, now: datetime) -> ics.Event:
    practitioner = appointment.practitioner.name if appointment.practitioner_id else ""
    summary = f"{appointment.service.name}, {appointment.patient.name}"
    description = f"{appointment.site.name}\n{practitioner}".strip()
    return ics.Event(
        uid=f"appointment-{appointment.pk}@accueil",
        start=appointment.starts_at,
        end=appointment.ends_at,
        summary=summary,
        description=description,
        location=(appointment.site.address or appointment.site.name).replace("\n", ", "),
        stamp=now,
        sequence=appointment.version,
        cancelled=appointment.status == Appointment.Status.CANCELLED,
    )


def appointment_ics(appointment: Appointment, *, now: datetime | None = None) -> str:
    return ics.calendar([ics_event(appointment, now=now or timezone.now())])


def build_notice(appointment: Appointment, *, now: datetime | None = None) -> AppointmentNotice:
    """The appointment as notifications needs it. Links are empty once they make no sense:
    all of them for a cancelled appointment, move and cancel after the client cut-off."""
    now = now or timezone.now()
    rules = BookingRules.current()
    active = appointment.status == Appointment.Status.BOOKED and appointment.starts_at > now
    changeable = active and appointment.client_may_change(now, rules.cutoff)
    return AppointmentNotice(
        appointment_id=appointment.pk,
        version=appointment.version,
        client_id=appointment.client_id,
        patient_name=appointment.patient.name,
        service_name=appointment.service.name,
        practitioner_name=appointment.practitioner.name if appointment.practitioner_id else "",
        site_name=appointment.site.name,
        site_address=appointment.site.address,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        confirm_url=link_url(appointment, "confirm") if active else "",
        cancel_url=link_url(appointment, "cancel") if changeable else "",
        move_url=link_url(appointment, "move") if changeable else "",
        ics=appointment_ics(appointment, now=now),
    )
