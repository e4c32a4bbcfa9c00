"""Agenda journeys, in French then in English: reception closes the clinic over a booked
appointment (listed, cancelled, the client told, the agenda shows the closure); a vet enters
their own time off."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from booking.models import Appointment, BookingRules, Closure, TimeOff
from notifications.models import Notification
from portal.models import Clinic
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.browser.conftest import sign_in_staff, snap_widths

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clinic_day(site, vet, client_user):
    """Dr Dubois (the vet's account) and Dr Fontaine; Camille's Filou booked in three days."""
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    fontaine = make_practitioner(site, name="Dr Fontaine")
    service = make_service(site, [dubois, fontaine], slug="consultation", name="Consultation")
    filou = factories.make_patient(client_user, name="Filou")
    tz = Clinic.current().tz
    day = timezone.now().astimezone(tz).date() + timedelta(days=3)
    booked = make_appointment(
        client=client_user.client,
        patient=filou,
        service=service,
        practitioner=dubois,
        starts_at=datetime.combine(day, time(10), tzinfo=tz),
    )
    rules = BookingRules.objects.get(pk=BookingRules.current().pk)
    rules.team_enters_time_off = True
    rules.reception_enters_closures = True
    rules.save()
    return day, booked, dubois, fontaine


def test_reception_closes_the_clinic_over_a_booked_appointment(
    any_page: Page, say, reception, clinic_day
):
    page = any_page
    day, booked, _dubois, _fontaine = clinic_day
    sign_in_staff(page, reception)
    page.goto("/booking/staff/agenda/")
    page.get_by_role("link", name=say("Fermetures et absences", "Closures and time off")).click()
    expect(
        page.get_by_role("heading", name=say("Fermetures et absences", "Closures and time off"))
    ).to_be_visible()

    page.get_by_text(say("Ajouter une fermeture", "Add a closure")).click()
    page.locator("#id_closure-start").fill(day.isoformat())
    page.locator("#id_closure-end").fill(day.isoformat())
    page.locator("#id_closure-label").fill(say("Dégât des eaux", "Water damage"))
    page.locator("form:has(#id_closure-start)").get_by_role(
        "button", name=say("Ajouter", "Add")
    ).click()

    # Nothing is saved yet: the booked appointment is listed, client, animal and time.
    expect(page.get_by_test_id("affected-count")).to_contain_text(
        say("1 rendez-vous réservé tombe pendant cette période", "1 booked appointment falls")
    )
    row = page.locator(f"#affected-{booked.pk}")
    expect(row).to_contain_text("Camille Martin")
    expect(row).to_contain_text("Filou")
    expect(row).to_contain_text("10:00")
    assert not Closure.objects.exists()
    snap_widths(page, f"agenda-closure-listed-{say('fr', 'en')}")

    page.get_by_role(
        "button",
        name=say("Enregistrer et annuler les rendez-vous cochés", "Save and cancel the ticked"),
    ).click()
    expect(
        page.get_by_text(say("1 rendez-vous est annulé", "1 appointment is cancelled"))
    ).to_be_visible()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CANCELLED
    assert booked.cancel_reason == say("Dégât des eaux", "Water damage")
    assert Notification.objects.filter(client=booked.client, kind="appointment_cancelled").exists()

    page.goto(f"/booking/staff/agenda/?day={day.isoformat()}")
    expect(page.get_by_test_id("closure")).to_contain_text(
        say("Clinique fermée\u00a0: Dégât des eaux", "Clinic closed: Water damage")
    )
    snap_widths(page, f"agenda-closure-shown-{say('fr', 'en')}")


def test_a_vet_enters_their_own_time_off(any_page: Page, say, vet, clinic_day):
    page = any_page
    day, _booked, dubois, _fontaine = clinic_day
    sign_in_staff(page, vet)
    page.goto("/booking/staff/agenda/")
    page.get_by_role("link", name=say("Fermetures et absences", "Closures and time off")).click()
    expect(page.get_by_text(say("Ajouter une fermeture", "Add a closure"))).to_have_count(0)
    page.get_by_text(say("Ajouter une absence", "Add time off")).click()
    choices = page.locator("#id_timeoff-practitioner option")
    expect(choices).to_have_text(["Dr Dubois"])
    page.locator("#id_timeoff-start").fill(f"{day.isoformat()}T14:00")
    page.locator("#id_timeoff-end").fill(f"{day.isoformat()}T18:00")
    page.locator("#id_timeoff-reason").fill(say("Formation", "Training"))
    page.locator("form:has(#id_timeoff-start)").get_by_role(
        "button", name=say("Ajouter", "Add")
    ).click()
    expect(page.get_by_text(say("Enregistré.", "Saved."))).to_be_visible()
    expect(page.get_by_text(say("de 14:00 à 18:00", "from 14:00 to 18:00"))).to_be_visible()
    assert TimeOff.objects.get().practitioner == dubois

    page.goto(f"/booking/staff/agenda/?day={day.isoformat()}")
    expect(page.get_by_test_id("time-off")).to_contain_text(
        say("Dr Dubois absent", "Dr Dubois away")
    )
    snap_widths(page, f"agenda-time-off-{say('fr', 'en')}")
