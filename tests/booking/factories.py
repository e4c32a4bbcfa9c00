"""Booking factories: a practitioner with Monday-to-Sunday hours, services, appointments."""

from datetime import datetime, time, timedelta

from booking import services
from booking.models import Appointment, Practitioner, Service, WeeklyHours
from portal.models import Client, Site, User
from records.models import Patient

ALL_DAYS = range(7)


def make_practitioner(
    site: Site,
    *,
    name: str = "Dr Dubois",
    user: User | None = None,
    hours: list[tuple[time, time, bool]] | None = None,
    days=ALL_DAYS,
) -> Practitioner:
    practitioner = Practitioner.objects.create(site=site, name=name, user=user)
    for day in days:
        for start, end, online in hours or [
            (time(9), time(12), True),
            (time(14), time(19), True),
        ]:
            WeeklyHours.objects.create(
                practitioner=practitioner, weekday=day, start=start, end=end, online=online
            )
    return practitioner


def make_service(
    site: Site,
    practitioners: list[Practitioner],
    *,
    slug: str = "consultation",
    name: str = "Consultation",
    duration: int = 30,
    buffer: int = 0,
    online: bool = True,
    species: str = "",
) -> Service:
    service = Service.objects.create(
        site=site,
        slug=slug,
        name=name,
        duration_minutes=duration,
        buffer_minutes=buffer,
        online=online,
        species=species,
    )
    service.practitioners.set(practitioners)
    return service


def make_appointment(
    *,
    client: Client,
    patient: Patient,
    service: Service,
    practitioner: Practitioner,
    starts_at: datetime,
    **fields,
) -> Appointment:
    defaults = {
        "site": service.site,
        "ends_at": starts_at + service.duration,
        "blocks_until": starts_at + service.duration + service.buffer,
    }
    defaults.update(fields)
    return Appointment.objects.create(
        client=client,
        patient=patient,
        service=service,
        practitioner=practitioner,
        starts_at=starts_at,
        **defaults,
    )


def at(day, hh: int, mm: int = 0, tz=None) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(hh, mm), tzinfo=tz or ZoneInfo("Europe/Paris"))


__all__ = ["at", "make_appointment", "make_practitioner", "make_service", "timedelta"]


def book(client_user, patient, service, starts_at, *, now, **kwargs):
    """booking.services.book as Camille (or whoever `booked_by` says) at `now`."""
    kwargs.setdefault("booked_by", client_user)
    return services.book(
        client=client_user.client,
        patient=patient,
        service=service,
        starts_at=starts_at,
        now=now,
        **kwargs,
    )
