"""The waitlist as a new client meets it on day one, in French then in English (issue #18):
they find it in the menu, join it with dates the date fields really hold, and when the clinic
cancels an appointment (off the 15-minute grid, as real agendas have) the offer they receive
can be taken."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from booking import services as booking
from booking.models import Appointment
from portal.models import Clinic
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.browser.conftest import off_the_loop, sign_in, snap_widths
from waitlist.models import Entry, Offer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("one_database")]

CLAIM = re.compile(r"https?://[^/]+(/waitlist/o/[^/]+/)")


def test_a_client_joins_the_waitlist_from_the_menu_and_takes_the_slot_staff_freed(
    any_page, say, clinic, site, client_user, other_client_user, vet, reception
):
    page = any_page
    tz = Clinic.current().tz
    today = timezone.now().astimezone(tz).date()
    day = today + timedelta(days=3)
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    consultation = make_service(site, [dubois], slug="consultation", name="Consultation")
    filou = factories.make_patient(client_user, name="Filou")
    rex = factories.make_patient(other_client_user, name="Rex")
    # Booked by phone at 09:20, off the online grid: what a real agenda holds.
    odd = make_appointment(
        client=other_client_user.client,
        patient=rex,
        service=consultation,
        practitioner=dubois,
        starts_at=datetime.combine(day, time(9, 20), tzinfo=tz),
    )

    sign_in(page, client_user.email)
    page.wait_for_url("**/")
    page.get_by_role("link", name=say("Liste d'attente", "Waitlist"), exact=True).click()
    page.wait_for_url("**/waitlist/")
    expect(
        page.get_by_role("heading", name=say("Ma liste d'attente", "My waitlist"))
    ).to_be_visible()
    page.get_by_role(  # a link styled as a button
        "button", name=say("M'inscrire sur la liste d'attente", "Join the waitlist")
    ).click()
    expect(
        page.get_by_role(
            "heading",
            name=say("Prévenez-moi si un créneau se libère", "Tell me when something opens"),
        )
    ).to_be_visible()

    # The date fields hold the dates (an <input type=date> drops "29/11/2026").
    earliest = page.get_by_label(say("Du", "From"), exact=True)
    latest = page.get_by_label(say("Au (inclus)", "Until (included)"), exact=True)
    expect(earliest).to_have_value(today.isoformat())
    expect(latest).to_have_value((today + timedelta(days=14)).isoformat())
    earliest.fill(day.isoformat())
    latest.fill((day + timedelta(days=2)).isoformat())
    snap_widths(page, f"waitlist-day-one-join-{say('fr', 'en')}")
    page.get_by_role(
        "button", name=say("M'inscrire sur la liste d'attente", "Put me on the waitlist")
    ).click()
    page.wait_for_url("**/waitlist/")
    waiting = page.get_by_test_id("waiting")
    expect(waiting).to_contain_text("Filou")
    entry = Entry.objects.get(client=client_user.client)
    assert (entry.earliest, entry.latest) == (day, day + timedelta(days=2))

    # The clinic cancels the 09:20: it is offered at 09:30, the first start booking accepts.
    off_the_loop(booking.cancel, odd, by_user=reception, by_clinic=True)
    offer = Offer.objects.select_related("release").get(client=client_user.client)
    assert offer.release.starts_at.astimezone(tz).time() == time(9, 30)

    page.goto(CLAIM.search(offer.claim_url()).group(1))
    expect(page.get_by_text("09:30").first).to_be_visible()
    page.get_by_role("button", name=say("Je le prends", "Take it")).click()
    state = page.get_by_test_id("offer-state")
    expect(state).to_have_attribute("data-state", "done")
    snap_widths(page, f"waitlist-day-one-taken-{say('fr', 'en')}")
    booked = Appointment.objects.active().get(patient=filou)
    assert booked.starts_at == datetime.combine(day, time(9, 30), tzinfo=tz)

    # And it is in the client's appointments, as they would check.
    page.get_by_role("link", name=say("Mes rendez-vous", "My appointments"), exact=True).click()
    expect(page.get_by_text("Filou").first).to_be_visible()
    expect(page.get_by_text("09:30").first).to_be_visible()
