"""Booking journeys in a real browser: a client books and cancels, staff run the agenda, a
reminder's one-tap link."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from booking.models import Appointment
from booking.notices import link_token
from portal.models import Clinic
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.browser.conftest import current_code, snap_widths

pytestmark = pytest.mark.django_db(transaction=True)

EVERY_DAY = [(time(8), time(12), True), (time(13), time(20), True), (time(20), time(22), False)]


def sign_in_to(page: Page, user, path: str) -> None:
    """Sign in straight to a booking page (the dashboard also hosts other teams' panels)."""
    page.goto(f"/accounts/login/?next={path}")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if user.is_clinic_staff:
        page.get_by_label("Code").fill(current_code(user))
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"**{path.split('?')[0]}*")


@pytest.fixture
def notify():
    from tests.booking.conftest import notify as patched

    yield from patched.__wrapped__()


@pytest.fixture
def clinic_open(site):
    dubois = make_practitioner(site, name="Dr Dubois", hours=EVERY_DAY)
    fontaine = make_practitioner(site, name="Dr Fontaine", hours=EVERY_DAY)
    service = make_service(site, [dubois, fontaine], slug="consultation", name="Consultation")
    return service, dubois, fontaine


def test_a_client_books_the_first_available_slot_then_cancels(
    page: Page, client_user, clinic_open, notify
):
    factories.make_patient(client_user, name="Filou")
    sign_in_to(page, client_user, "/booking/")
    page.get_by_role("button", name="Book an appointment").click()
    expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    free_days = page.locator("a.day.free")
    expect(free_days.first).to_be_visible()
    assert page.get_by_label("With").input_value() == ""  # first available
    snap_widths(page, "booking-days")

    # A later free day (past the 24-hour cut-off), through htmx: only the availability part
    # is swapped.
    free_days.last.click()
    expect(page.locator("a.day").last).to_have_attribute("aria-current", "date")
    expect(page.get_by_role("list", name="Free times")).to_be_visible()
    chosen = page.get_by_role("list", name="Free times").get_by_role("button").first
    chosen_time = chosen.inner_text()
    chosen.click()

    expect(page.get_by_role("heading", name="Confirm the appointment")).to_be_visible()
    page.get_by_label("Reason for the visit (optional)").fill("Limping since Sunday")
    snap_widths(page, "booking-confirm")
    page.get_by_role("button", name="Book this appointment").click()

    expect(page.get_by_text("Your appointment is booked.")).to_be_visible()
    expect(page.get_by_test_id("when")).to_contain_text(chosen_time)
    expect(page.get_by_role("button", name="Add to my calendar (.ics)")).to_be_visible()
    snap_widths(page, "booking-booked")
    appointment = Appointment.objects.get()
    assert appointment.reason == "Limping since Sunday"
    assert notify.booked.call_args.args[0].appointment_id == appointment.pk

    page.get_by_role("link", name="My appointments").last.click()
    expect(page.get_by_test_id("upcoming")).to_contain_text("Filou")
    snap_widths(page, "booking-mine")
    page.get_by_test_id("upcoming").get_by_role("link", name="Cancel").click()
    page.get_by_role("button", name="Cancel this appointment").click()
    expect(page.get_by_text("Your appointment is cancelled.")).to_be_visible()
    expect(page.get_by_text("You have no upcoming appointment.")).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"


def test_reception_books_by_phone_moves_marks_and_sees_an_overlap_refused(
    page: Page, reception, client_user, other_client_user, clinic_open, notify
):
    service, dubois, _fontaine = clinic_open
    filou = factories.make_patient(client_user, name="Filou")
    cat = factories.make_patient(other_client_user, name="Mistigri", species="cat")
    tz = Clinic.current().tz
    today = timezone.now().astimezone(tz).date()
    # Someone already seen this morning, to be marked.
    earlier = make_appointment(
        client=other_client_user.client,
        patient=cat,
        service=service,
        practitioner=dubois,
        starts_at=datetime.combine(today, time(0, 30), tzinfo=tz),
    )
    sign_in_to(
        page, reception, f"/booking/staff/book/?client={client_user.client.pk}&patient={filou.pk}"
    )
    expect(page.get_by_role("heading", name="Book for Camille Martin")).to_be_visible()
    with page.expect_response(lambda response: "/booking/staff/book/" in response.url):
        page.get_by_label("With").select_option(label="Dr Dubois")
    expect(page.locator("a.day.free").first).to_be_visible()
    page.locator("a.day.free").nth(2).click()
    expect(page.locator("a.day").nth(2)).to_have_attribute("aria-current", "date")
    snap_widths(page, "booking-staff-book")
    page.get_by_role("list", name="Free times").get_by_role("button").first.click()
    page.get_by_role("button", name="Book this appointment").click()

    expect(page.get_by_text("Appointment booked.")).to_be_visible()
    expect(page.locator("#agenda")).to_contain_text("Filou")
    snap_widths(page, "booking-agenda-day")
    booked = Appointment.objects.get(patient=filou)
    assert booked.channel == "staff"

    # Move it to another free time.
    page.locator(f"#appointment-{booked.pk}").get_by_role("link").first.click()
    page.get_by_role("button", name="Move").click()
    page.get_by_role("list", name="Free times").get_by_role("button").nth(2).click()
    page.get_by_role("button", name="Move to this time").click()
    expect(page.get_by_text("The appointment is moved")).to_be_visible()
    booked.refresh_from_db()
    assert booked.version == 2

    # Mark this morning's appointment as attended from the day view (htmx swaps the row).
    page.goto("/booking/staff/agenda/")
    row = page.locator(f"#appointment-{earlier.pk}")
    row.get_by_role("button", name="Attended").click()
    expect(page.locator(f"#appointment-{earlier.pk} .status")).to_have_text("Attended")
    earlier.refresh_from_db()
    assert earlier.status == "attended"

    # An overlap: the page was opened, then someone took the time meanwhile.
    start = datetime.combine(today + timedelta(days=3), time(10), tzinfo=tz)
    page.goto(
        f"/booking/staff/book/?client={client_user.client.pk}&patient={filou.pk}"
        f"&service=consultation&practitioner={dubois.pk}&start={int(start.timestamp())}"
    )
    make_appointment(
        client=other_client_user.client,
        patient=cat,
        service=service,
        practitioner=dubois,
        starts_at=start + timedelta(minutes=15),
    )
    page.get_by_role("button", name="Book this appointment").click()
    taken = page.get_by_test_id("slot-taken")
    expect(taken).to_contain_text("This slot was just taken")
    expect(taken).to_contain_text("Mistigri")
    snap_widths(page, "booking-overlap")
    assert Appointment.objects.filter(patient=filou).count() == 1


def test_a_reminders_one_tap_confirm_link(page: Page, client_user, clinic_open):
    service, dubois, _f = clinic_open
    filou = factories.make_patient(client_user, name="Filou")
    appointment = make_appointment(
        client=client_user.client,
        patient=filou,
        service=service,
        practitioner=dubois,
        starts_at=timezone.now().replace(microsecond=0, second=0) + timedelta(days=2),
    )
    link = f"/booking/r/{link_token(appointment, 'confirm')}/"
    page.goto(link)
    expect(page.get_by_role("heading", name="Your appointment")).to_be_visible()
    snap_widths(page, "booking-one-tap")
    page.get_by_role("button", name="Yes, I will be there").click()
    expect(page.get_by_text("Thank you, your appointment is confirmed.")).to_be_visible()
    page.goto(link)
    expect(page.get_by_text("This appointment is already confirmed.")).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.confirmed_at is not None
    page.goto("/booking/r/forged-token/")
    expect(page.get_by_role("heading", name="This link is not valid")).to_be_visible()
