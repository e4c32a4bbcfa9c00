"""The demo clinic's booking side: three vets, their hours, five services, 40 appointments."""

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from booking.models import Appointment, BookingRules, Closure, Practitioner, Service, WeeklyHours
from portal.models import Clinic, Role, User
from records.models import Patient

SERVICES = [
    # slug, name, minutes, buffer, online
    ("consultation", "Consultation", 20, 0, True),
    ("vaccination", "Vaccination", 15, 0, True),
    ("checkup", "Bilan de santé", 30, 0, True),
    ("renewal", "Renouvellement de traitement", 10, 0, True),
    ("surgery-consult", "Consultation pré-opératoire", 30, 10, False),
]
MON_FRI = range(5)
SATURDAY = 5
# Per vet (in the order of the demo team): (weekdays, start, end, bookable online).
HOURS = [
    [
        (MON_FRI, time(9), time(12), True),
        (MON_FRI, time(14), time(19), True),
        ([SATURDAY], time(9), time(12), True),
    ],
    [
        (MON_FRI, time(8), time(9), False),  # urgent slots, by phone
        (MON_FRI, time(9), time(12, 30), True),
        (MON_FRI, time(15), time(20), True),  # evening hours
        ([SATURDAY], time(9), time(12, 30), True),
    ],
    [
        ([0, 1, 3, 4], time(10), time(13), True),
        ([0, 1, 3, 4], time(14), time(17), False),  # phone only
        ([0, 1, 3, 4], time(17), time(20), True),  # evening hours
        ([SATURDAY], time(9), time(12), True),
    ],
]
CLOSURES = [(date(2026, 12, 25), "Noël"), (date(2027, 1, 1), "Jour de l'an")]
REASONS = ["", "Boiterie", "Rappel annuel", "Perte d'appétit", "", "Contrôle après traitement"]


@transaction.atomic
def seed_booking(demo) -> None:
    site = demo.facts["site"]
    BookingRules.current()
    vets = list(User.objects.filter(role=Role.VET).order_by("pk"))
    practitioners = []
    for index, user in enumerate(vets):
        practitioner, created = Practitioner.objects.get_or_create(
            user=user, defaults={"site": site, "name": f"Dr {user.get_full_name()}"}
        )
        if created or not practitioner.weekly_hours.exists():
            for days, start, end, online in HOURS[index % len(HOURS)]:
                for day in days:
                    WeeklyHours.objects.create(
                        practitioner=practitioner,
                        weekday=day,
                        start=start,
                        end=end,
                        online=online,
                    )
        practitioners.append(practitioner)
    services = {}
    for order, (slug, name, minutes, buffer, online) in enumerate(SERVICES):
        service, _ = Service.objects.get_or_create(
            slug=slug,
            defaults={
                "site": site,
                "name": name,
                "duration_minutes": minutes,
                "buffer_minutes": buffer,
                "online": online,
                "order": order,
            },
        )
        service.practitioners.add(*practitioners)
        services[slug] = service
    for day, label in CLOSURES:
        Closure.objects.get_or_create(start=day, end=day, defaults={"label": label})
    _seed_appointments(demo, practitioners, services)


def _seed_appointments(demo, practitioners, services) -> None:
    """About 40 appointments around today: past ones marked, upcoming ones booked.

    Each sits on its own (vet, day, hour) cell of a grid inside the vets' hours, so none
    overlaps; the request key makes a second run add nothing.
    """
    if not practitioners or Appointment.objects.filter(request_key__startswith="demo-").exists():
        return
    tz = Clinic.current().tz
    rng = demo.rng
    patients = list(demo.facts.get("patients") or Patient.objects.all()[:40])
    pairs = []
    for patient in patients:
        guardian = patient.guardianships.select_related("client").first()
        if guardian is not None:
            pairs.append((patient, guardian.client))
    if not pairs:
        return
    today = timezone.now().astimezone(tz).date()
    slugs = ["consultation", "vaccination", "checkup", "renewal", "consultation"]
    hours = [time(9, 20), time(10), time(10, 40), time(11, 20)]
    now = timezone.now()
    number = 0
    offset = -21
    while number < 40 and offset <= 28:
        day = today + timedelta(days=offset)
        offset += 1
        if day.weekday() >= 5 or any(day == c for c, _l in CLOSURES):
            continue
        for slot_index in range(2):
            if number >= 40:
                break
            practitioner = practitioners[(number + slot_index) % len(practitioners)]
            patient, client = pairs[number % len(pairs)]
            service = services[slugs[number % len(slugs)]]
            wall = hours[(number + slot_index) % len(hours)]
            if practitioner is practitioners[2 % len(practitioners)] and wall < time(10):
                wall = time(11, 20)  # Dr Benali starts at 10:00
            starts_at = datetime.combine(day, wall, tzinfo=tz)
            status = Appointment.Status.BOOKED
            if starts_at < now:
                status = rng.choice(
                    [Appointment.Status.ATTENDED] * 5
                    + [Appointment.Status.NO_SHOW, Appointment.Status.CANCELLED]
                )
            Appointment.objects.create(
                site=service.site,
                practitioner=practitioner,
                service=service,
                patient=patient,
                client=client,
                starts_at=starts_at,
                ends_at=starts_at + service.duration,
                blocks_until=starts_at + service.duration + service.buffer,
                status=status,
                reason=REASONS[number % len(REASONS)],
                channel=Appointment.Channel.ONLINE if number % 3 else Appointment.Channel.STAFF,
                request_key=f"demo-{number}",
                created_at=min(now, starts_at - timedelta(days=7)),
                cancelled_at=starts_at - timedelta(days=1)
                if status == Appointment.Status.CANCELLED
                else None,
                cancel_reason="Empêchement" if status == Appointment.Status.CANCELLED else "",
                outcome_at=starts_at
                if status in (Appointment.Status.ATTENDED, Appointment.Status.NO_SHOW)
                else None,
            )
            number += 1
