"""The demo clinic's booking data: seeded once, complete, and safe to seed again."""

from django.core.management import call_command

from booking.models import Appointment, Closure, Practitioner, Service


def test_the_demo_seeds_booking_once(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - discarded output
    counts = (Practitioner.objects.count(), Service.objects.count(), Appointment.objects.count())
    assert counts[0] == 3
    assert counts[1] == 5
    assert counts[2] == 40
    assert set(Service.objects.values_list("slug", flat=True)) == {
        "consultation",
        "vaccination",
        "checkup",
        "renewal",
        "surgery-consult",
    }
    assert not Service.objects.get(slug="surgery-consult").online
    assert Closure.objects.filter(start="2026-12-25").exists()
    assert Appointment.objects.filter(status="booked").exists()
    for appointment in Appointment.objects.select_related("patient"):
        assert appointment.patient.guardianships.filter(client=appointment.client).exists()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (
        Practitioner.objects.count(),
        Service.objects.count(),
        Appointment.objects.count(),
    ) == counts
