"""Reception's day, in French then in English: Filou's arrival is marked from the appointment's
page, the waiting room on the dashboard lists him and since when, and once the vet takes him
in he leaves the waiting room."""

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from booking.models import Appointment
from portal.models import Clinic
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.browser.conftest import sign_in_staff, snap_widths

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def this_morning(clock, site, vet, client_user):
    """Camille's Filou, booked with Dr Dubois half an hour after the journey's instant (a
    weekday, 10:00 in Paris)."""
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    service = make_service(site, [dubois], slug="consultation", name="Consultation")
    filou = factories.make_patient(client_user, name="Filou")
    return make_appointment(
        client=client_user.client,
        patient=filou,
        service=service,
        practitioner=dubois,
        starts_at=clock + timedelta(minutes=30),
    )


def test_reception_marks_an_arrival_and_the_waiting_room_follows(
    any_page: Page, say, reception, this_morning
):
    page = any_page
    # French at a desktop's width, English at a tablet's.
    page.set_viewport_size(say({"width": 1280, "height": 860}, {"width": 820, "height": 1180}))
    booked = this_morning
    sign_in_staff(page, reception)
    expect(page.get_by_test_id("waiting-room")).to_contain_text(
        say("Personne n'attend.", "Nobody is waiting.")
    )

    page.goto(f"/booking/staff/appointments/{booked.pk}/")
    actions = page.get_by_test_id("status-actions")
    expect(actions.get_by_test_id("status")).to_have_text(say("Réservé", "Booked"))
    actions.get_by_role("button", name=say("Marquer arrivé", "Mark arrived")).click()

    # The actions come back fresh (htmx), without reloading the page.
    expect(actions.get_by_test_id("status")).to_have_text(say("Arrivé", "Arrived"))
    expect(actions.get_by_test_id("arrived-at")).to_contain_text(say("arrivé à", "arrived at"))
    expect(actions.get_by_role("button", name=say("Marquer arrivé", "Mark arrived"))).to_have_count(
        0
    )
    expect(
        actions.get_by_role("button", name=say("Annuler l'arrivée", "Undo the arrival"))
    ).to_be_visible()
    booked.refresh_from_db()
    assert booked.arrived_at is not None
    snap_widths(page, f"arrival-marked-{say('fr', 'en')}")

    # The grid shows the block as arrived, and the block leads back to its actions.
    day = booked.starts_at.astimezone(Clinic.current().tz).date()
    page.goto(f"/booking/staff/agenda/?day={day.isoformat()}")
    block = page.locator(f"#appointment-{booked.pk}")
    expect(block).to_contain_text(say("Arrivé", "Arrived"))

    page.goto("/")
    room = page.get_by_test_id("waiting-room")
    expect(room.get_by_test_id("waiting")).to_have_count(1)
    expect(room.get_by_test_id("waiting")).to_contain_text("Filou")
    expect(room.get_by_test_id("waiting")).to_contain_text("Camille Martin")
    expect(room.get_by_test_id("waiting-since")).to_contain_text(
        say("en attente depuis", "waiting since")
    )
    snap_widths(page, f"arrival-waiting-room-{say('fr', 'en')}")

    room.get_by_role("link", name="Filou").click()
    actions = page.get_by_test_id("status-actions")
    actions.get_by_role(
        "button", name=say("Marquer en consultation", "Mark in consultation")
    ).click()
    expect(actions.get_by_test_id("status")).to_have_text(say("En consultation", "In consultation"))
    expect(actions.get_by_test_id("consultation-at")).to_be_visible()
    assert Appointment.objects.get(pk=booked.pk).consultation_at is not None

    page.goto("/")
    expect(page.get_by_test_id("waiting-room")).to_contain_text(
        say("Personne n'attend.", "Nobody is waiting.")
    )
    expect(page.get_by_test_id("waiting")).to_have_count(0)


def test_a_stale_page_is_told_and_shown_the_current_state(
    any_page: Page, say, reception, this_morning
):
    page = any_page
    booked = this_morning
    sign_in_staff(page, reception)
    page.goto(f"/booking/staff/appointments/{booked.pk}/")
    # Meanwhile, at the other desk, a colleague marks the arrival.
    Appointment.objects.filter(pk=booked.pk).update(
        arrived_at=booked.starts_at - timedelta(minutes=35), version=2
    )
    actions = page.get_by_test_id("status-actions")
    actions.get_by_role("button", name=say("Marquer absent", "Mark no-show")).click()

    expect(actions.get_by_role("alert")).to_have_text(
        say(
            "Ce rendez-vous a changé entre-temps : voici son état actuel.",
            "This appointment changed meanwhile: here is its current state.",
        )
    )
    expect(actions.get_by_test_id("status")).to_have_text(say("Arrivé", "Arrived"))
    assert Appointment.objects.get(pk=booked.pk).status == "booked"
