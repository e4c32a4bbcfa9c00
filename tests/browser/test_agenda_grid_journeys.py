"""The agenda grid (#15), in French at a desktop's width then in English at a tablet's:
reception books Camille's Filou from a free cell (the time and the vet carried to the confirm
page), moves an appointment by choosing a cell with the keyboard, and prints the day per vet."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from booking.models import Appointment
from portal.models import Clinic
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.browser.conftest import sign_in_staff, snap, snap_widths

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"desktop": {"width": 1280, "height": 860}, "tablet": {"width": 820, "height": 1180}}


@pytest.fixture
def width(language) -> str:
    """French at a desktop's width, English at a tablet's: each language and each width once,
    not every pair (the suite's time is shared)."""
    return "desktop" if language == "fr" else "tablet"


@pytest.fixture
def grid_day(site, vet, client_user):
    """Dr Dubois and Dr Fontaine; in three days, Pistache at 9:00 with Dubois and Caramel at
    9:30 with Fontaine. Camille's Filou has nothing booked yet."""
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    fontaine = make_practitioner(site, name="Dr Fontaine")
    service = make_service(site, [dubois, fontaine], slug="consultation", name="Consultation")
    filou = factories.make_patient(client_user, name="Filou")
    tz = Clinic.current().tz
    day = timezone.now().astimezone(tz).date() + timedelta(days=3)
    others = factories.make_client_user(first_name="Bruno", last_name="Lambert")
    pistache = make_appointment(
        client=others.client,
        patient=factories.make_patient(others, name="Pistache"),
        service=service,
        practitioner=dubois,
        starts_at=datetime.combine(day, time(9), tzinfo=tz),
    )
    make_appointment(
        client=others.client,
        patient=factories.make_patient(others, name="Caramel", species="cat"),
        service=service,
        practitioner=fontaine,
        starts_at=datetime.combine(day, time(9, 30), tzinfo=tz),
        confirmed_at=timezone.now(),
    )
    return day, tz, dubois, fontaine, filou, pistache


def cell(page: Page, practitioner, start: datetime):
    return page.locator(
        f'a[data-testid="free-cell"][href*="start={int(start.timestamp())}&practitioner='
        f'{practitioner.pk}"]'
    )


@pytest.mark.slow
def test_reception_books_from_a_free_cell(
    any_page: Page, say, width, reception, client_user, grid_day
):
    page = any_page
    page.set_viewport_size(WIDTHS[width])
    day, tz, dubois, _fontaine, filou, _pistache = grid_day
    sign_in_staff(page, reception)
    page.goto(f"/booking/staff/agenda/?day={day.isoformat()}")
    grid = page.locator("#agenda-grid")
    expect(grid).to_have_attribute("data-agenda-day", day.isoformat())
    expect(grid.get_by_role("heading", name="Dr Dubois")).to_be_visible()
    expect(grid).to_contain_text("Pistache")
    expect(grid).to_contain_text(say("Confirmé", "Confirmed"))
    if width == "desktop" and say("fr", "en") == "fr":
        snap(page, "agenda-grid-day-fr")  # the README's picture comes from this one
        snap_widths(page, "agenda-grid-fr")  # and at a phone's width: one vet at a time
        page.goto(f"/booking/staff/agenda/?day={day.isoformat()}&view=week")
        expect(page.locator("#agenda-grid h2")).to_have_count(7)
        snap_widths(page, "agenda-grid-week-fr")
        page.goto(f"/booking/staff/agenda/?day={day.isoformat()}")

    eleven = datetime.combine(day, time(11), tzinfo=tz)
    target = cell(page, dubois, eleven)
    expect(target).to_have_count(1)
    target.click()
    expect(page.get_by_test_id("preset")).to_contain_text("11:00")
    expect(page.get_by_test_id("preset")).to_contain_text("Dr Dubois")
    page.get_by_role("searchbox").fill("Camille")
    page.get_by_role("button", name=say("Rechercher", "Search")).click()
    page.get_by_role("link", name="Martin Camille").click()
    expect(page.get_by_test_id("preset")).to_contain_text("11:00")
    page.get_by_role("button", name=say("Continuer", "Continue")).click()
    expect(page.get_by_text("11:00").first).to_be_visible()
    page.get_by_role("button", name=say("Réserver ce rendez-vous", "Book this appointment")).click()

    expect(page.get_by_text(say("Rendez-vous réservé.", "Appointment booked."))).to_be_visible()
    made = Appointment.objects.get(patient=filou)
    assert made.starts_at == eleven
    assert made.practitioner == dubois
    block = page.locator(f"#appointment-{made.pk}")
    expect(block).to_contain_text("Filou")
    # Its time is no longer offered.
    expect(cell(page, dubois, eleven)).to_have_count(0)


def test_reception_moves_an_appointment_by_choosing_a_cell(
    any_page: Page, say, width, reception, grid_day
):
    page = any_page
    page.set_viewport_size(WIDTHS[width])
    day, tz, _dubois, fontaine, _filou, pistache = grid_day
    sign_in_staff(page, reception)
    page.goto(f"/booking/staff/agenda/?day={day.isoformat()}")
    # Keyboard first: the block's "move" link, then the new cell, are plain links.
    move = page.locator(f"#appointment-{pistache.pk}").get_by_test_id("move-on-grid")
    move.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("move-banner")).to_contain_text("Pistache")
    if width == "desktop" and say("fr", "en") == "fr":
        snap(page, "agenda-grid-move-fr")
    three = datetime.combine(day, time(15), tzinfo=tz)
    target = cell(page, fontaine, three)
    target.focus()
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("heading", name=say("Déplacer le rendez-vous", "Move the appointment"))
    ).to_be_visible()
    page.get_by_role("button", name=say("Déplacer à cet horaire", "Move to this time")).click()
    expect(
        page.get_by_text(
            say("Le rendez-vous est déplacé", "The appointment is moved; the client is told.")
        )
    ).to_be_visible()
    pistache.refresh_from_db()
    assert pistache.starts_at == three
    assert pistache.practitioner == fontaine


def test_the_day_prints_per_vet(any_page: Page, say, width, reception, grid_day):
    page = any_page
    page.set_viewport_size(WIDTHS[width])
    day, _tz, _dubois, _fontaine, _filou, pistache = grid_day
    sign_in_staff(page, reception)
    page.goto(f"/booking/staff/agenda/?day={day.isoformat()}")
    page.get_by_test_id("print-link").click()
    printed = page.get_by_test_id("print-view")
    expect(printed.get_by_role("heading", name="Dr Dubois")).to_be_visible()
    expect(printed.locator("section").first).to_contain_text("09:00")
    expect(printed.locator("section").first).to_contain_text("Pistache")
    expect(printed.locator("section").nth(1)).to_contain_text("Caramel")
    page.emulate_media(media="print")
    expect(page.locator(".agenda-nav")).to_be_hidden()
    expect(printed).to_be_visible()
    page.emulate_media(media="screen")
    # Cancelled appointments, on demand: faded, still readable (axe checks the contrast).
    Appointment.objects.filter(pk=pistache.pk).update(status=Appointment.Status.CANCELLED)
    page.goto(f"/booking/staff/agenda/?day={day.isoformat()}")
    expect(page.locator(f"#appointment-{pistache.pk}")).to_have_count(0)
    page.get_by_role("link", name=say("Afficher les annulés", "Show cancelled")).click()
    expect(page.locator(f"#appointment-{pistache.pk}")).to_have_class(
        re.compile("status-cancelled")
    )
