"""Waitlist factories: an entry for a client's patient, waiting all day every day by default."""

from datetime import date, timedelta

from booking.models import Appointment, Practitioner, Service
from portal.models import Client
from records.models import Patient
from waitlist.models import ALL_TIMES, ALL_WEEKDAYS, Entry


def make_entry(
    client: Client,
    patient: Patient,
    service: Service,
    *,
    earliest: date,
    latest: date | None = None,
    practitioner: Practitioner | None = None,
    times: int = ALL_TIMES,
    weekdays: int = ALL_WEEKDAYS,
    appointment: Appointment | None = None,
    **fields,
) -> Entry:
    return Entry.objects.create(
        client=client,
        patient=patient,
        service=service,
        earliest=earliest,
        latest=latest or earliest + timedelta(days=14),
        practitioner=practitioner,
        times=times,
        weekdays=weekdays,
        appointment=appointment,
        **fields,
    )
