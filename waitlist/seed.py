"""Demo waitlist: a few clients waiting for a consultation or a vaccination, one of them for an
earlier slot than the appointment they have. Idempotent: entries are found by their client,
patient and service before being made."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from booking.models import Appointment, Service
from portal.models import Clinic
from records.models import Patient
from waitlist.models import ALL_WEEKDAYS, Entry, Times

# (client index, service slug, parts of the day, weekdays: Monday..Friday = 31)
WISHES = [
    (1, "consultation", Times.MORNING, 31),
    (2, "consultation", Times.MORNING | Times.AFTERNOON, ALL_WEEKDAYS),
    (3, "vaccination", Times.EVENING, ALL_WEEKDAYS),
    (4, "consultation", Times.AFTERNOON | Times.EVENING, 31),
]


@transaction.atomic
def seed_waitlist(demo) -> None:
    clients = list(demo.facts.get("clients") or [])
    if not clients:
        return
    services = {s.slug: s for s in Service.objects.filter(slug__in=["consultation", "vaccination"])}
    today = timezone.now().astimezone(Clinic.current().tz).date()
    for index, slug, times, weekdays in WISHES:
        service = services.get(slug)
        if service is None or index >= len(clients):
            continue
        client = clients[index]
        patient = Patient.objects.of_client(client).order_by("pk").first()
        if patient is None:
            continue
        Entry.objects.get_or_create(
            client=client,
            patient=patient,
            service=service,
            appointment=None,
            defaults={
                "earliest": today,
                "latest": today + timedelta(days=21),
                "times": times,
                "weekdays": weekdays,
                "created_at": timezone.now() - timedelta(days=index),
            },
        )
    upcoming = (
        Appointment.objects.filter(
            status=Appointment.Status.BOOKED,
            starts_at__gte=timezone.now() + timedelta(days=3),
            client__in=clients,
        )
        .order_by("starts_at")
        .first()
    )
    if upcoming is not None:
        Entry.objects.get_or_create(
            client=upcoming.client,
            patient=upcoming.patient,
            service=upcoming.service,
            appointment=upcoming,
            defaults={
                "earliest": today,
                "latest": upcoming.starts_at.astimezone(Clinic.current().tz).date(),
            },
        )
