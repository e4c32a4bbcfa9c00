"""Booking journeys in a real browser, in French and in English: a client of the demo clinic
books with the keyboard and cancels, staff run the agenda, a reminder's one-tap link."""

import re
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from booking.models import Appointment
from booking.notices import link_token
from portal.demo import DEMO_PASSWORD
from portal.models import Clinic
from records.models import Patient
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.browser.conftest import current_code, demo_user, snap_widths

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

EVERY_DAY = [(time(8), time(12), True), (time(13), time(20), True), (time(20), time(22), False)]
WEEKDAYS = {
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "en": "January February March April May June July August September October November December",
}


def day_words(day: date, language: str) -> str:
    """ "mardi 1er décembre" / "Tuesday 1 December", as a person reads the date."""
    number = "1er" if language == "fr" and day.day == 1 else str(day.day)
    month = MONTHS[language].split()[day.month - 1]
    return f"{WEEKDAYS[language][day.weekday()]} {number} {month}"


def sign_in_to(page: Page, user, path: str, password: str = factories.PASSWORD) -> None:
    """Sign in straight to a booking page (the dashboard also hosts other teams' panels)."""
    page.goto(f"/accounts/login/?next={path}")
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill(password)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    if user.is_clinic_staff:
        page.get_by_label("Code").fill(current_code(user))
        page.locator("main button[type=submit]").first.click()
    page.wait_for_url(f"**{path.split('?')[0]}*")


def focused(page: Page) -> str:
    """What document.activeElement is, as `tag: its text`."""
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return `${e.tagName.toLowerCase()}: ${e.innerText.trim().replace(/\\s+/g, ' ')}`; }"
    )


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


@pytest.mark.parametrize(
    ("language", "clock"),
    [("fr", "sunday-night"), ("fr", "weekday"), ("en", "sunday-night")],
    indirect=["clock"],
)
def test_a_client_books_with_the_keyboard_then_cancels(
    clock, demo_clinic, any_page: Page, say, language
):
    page = any_page
    camille = demo_user("Camille", "Martin")
    # The demo names animals after their owner's row number: take hers as they came out.
    animal = Patient.objects.of_client(camille.client).order_by("name").last()
    already = set(Appointment.objects.filter(client=camille.client).values_list("pk", flat=True))
    sign_in_to(page, camille, "/booking/", DEMO_PASSWORD)
    page.get_by_role("button", name=say("Prendre rendez-vous", "Book an appointment")).click()
    expect(
        page.get_by_role("heading", name=say("Prendre rendez-vous", "Book an appointment"))
    ).to_be_visible()
    with page.expect_response(lambda response: "/booking/new/" in response.url):
        page.get_by_label(say("Pour", "For")).select_option(str(animal.pk))
    expect(page.get_by_label(say("Avec", "With"))).to_have_value("")  # first available
    free_days = page.locator("a.day.free")
    expect(free_days.first).to_be_visible()
    snap_widths(page, f"booking-days-{language}")

    # A free day a few days on, from the keyboard: Enter on the link swaps only the times in,
    # focus lands on the day's heading and the next Tab reaches its first free time.
    chosen_day = date.fromisoformat(
        re.search(r"day=([\d-]+)", free_days.nth(2).get_attribute("href")).group(1)
    )
    assert chosen_day > clock.date()
    free_days.nth(2).focus()
    page.keyboard.press("Enter")
    expect(page.locator("a.day[aria-current=date]")).to_contain_text(str(chosen_day.day))
    heading = page.locator("#availability h3")
    expect(heading).to_have_text(re.compile(day_words(chosen_day, language), re.IGNORECASE))
    expect(heading).to_be_focused()
    expect(page.locator("#live-region")).to_have_text(
        re.compile(day_words(chosen_day, language), re.IGNORECASE)
    )
    page.keyboard.press("Tab")
    first_time = (
        page.get_by_role("list", name=say("Horaires libres", "Free times"))
        .get_by_role("button")
        .first
    )
    expect(first_time).to_be_focused()
    chosen_time = first_time.inner_text()
    assert re.fullmatch(r"\d\d:\d\d", chosen_time)
    page.keyboard.press(" ")  # a real button: Space takes it

    expect(
        page.get_by_role("heading", name=say("Confirmer le rendez-vous", "Confirm the appointment"))
    ).to_be_visible()
    expect(page.get_by_test_id("when")).to_contain_text(
        re.compile(day_words(chosen_day, language), re.IGNORECASE)
    )
    expect(page.get_by_test_id("when")).to_contain_text(chosen_time)
    page.get_by_label(
        say("Motif de la visite (facultatif)", "Reason for the visit (optional)")
    ).fill(say("Boite depuis dimanche", "Limping since Sunday"))
    snap_widths(page, f"booking-confirm-{language}")
    page.get_by_role("button", name=say("Réserver ce rendez-vous", "Book this appointment")).click()

    expect(
        page.get_by_text(say("Votre rendez-vous est réservé.", "Your appointment is booked."))
    ).to_be_visible()
    expect(page.get_by_test_id("when")).to_contain_text(chosen_time)
    expect(
        page.get_by_role(
            "button", name=say("Ajouter à mon agenda (.ics)", "Add to my calendar (.ics)")
        )
    ).to_be_visible()
    snap_widths(page, f"booking-booked-{language}")
    appointment = Appointment.objects.exclude(pk__in=already).get(client=camille.client)
    assert appointment.patient == animal
    assert appointment.reason == say("Boite depuis dimanche", "Limping since Sunday")

    # The upcoming appointment is listed with its day and time, and can be cancelled.
    page.get_by_role("link", name=say("Mes rendez-vous", "My appointments")).last.click()
    listed = (
        page.get_by_test_id("upcoming")
        .locator("li")
        .filter(has_text=re.compile(day_words(chosen_day, language), re.IGNORECASE))
        .filter(has_text=chosen_time)
    )
    expect(listed).to_contain_text(animal.name)
    snap_widths(page, f"booking-mine-{language}")
    listed.get_by_role("link", name=say("Annuler", "Cancel")).click()
    page.get_by_role(
        "button", name=say("Annuler ce rendez-vous", "Cancel this appointment")
    ).click()
    expect(
        page.get_by_text(say("Votre rendez-vous est annulé.", "Your appointment is cancelled."))
    ).to_be_visible()
    expect(listed).to_have_count(0)
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"


def test_reception_books_by_phone_moves_marks_and_sees_an_overlap_refused(
    clock,
    any_page: Page,
    say,
    language,
    reception,
    client_user,
    other_client_user,
    clinic_open,
    notify,
):
    page = any_page
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
    expect(
        page.get_by_role(
            "heading", name=say("Réserver pour Camille Martin", "Book for Camille Martin")
        )
    ).to_be_visible()
    with page.expect_response(lambda response: "/booking/staff/book/" in response.url):
        page.get_by_label(say("Avec", "With")).select_option(label="Dr Dubois")
    expect(page.locator("a.day.free").first).to_be_visible()
    third_free = page.locator("a.day.free").nth(2)
    number = third_free.locator(".date").inner_text()
    third_free.click()
    expect(page.locator("a.day[aria-current=date] .date")).to_have_text(number)
    snap_widths(page, f"booking-staff-book-{language}")
    free_times = say("Horaires libres", "Free times")
    page.get_by_role("list", name=free_times).get_by_role("button").first.click()
    book = say("Réserver ce rendez-vous", "Book this appointment")
    page.get_by_role("button", name=book).click()

    expect(page.get_by_text(say("Rendez-vous réservé.", "Appointment booked."))).to_be_visible()
    expect(page.locator("#agenda")).to_contain_text("Filou")
    snap_widths(page, f"booking-agenda-day-{language}")
    booked = Appointment.objects.get(patient=filou)
    assert booked.channel == "staff"

    # Move it to another free time.
    page.locator(f"#appointment-{booked.pk}").get_by_role("link").first.click()
    page.get_by_role("button", name=say("Déplacer", "Move"), exact=True).click()
    page.get_by_role("list", name=free_times).get_by_role("button").nth(2).click()
    page.get_by_role("button", name=say("Déplacer à cet horaire", "Move to this time")).click()
    expect(
        page.get_by_text(say("Le rendez-vous est déplacé", "The appointment is moved"))
    ).to_be_visible()
    booked.refresh_from_db()
    assert booked.version == 2

    # Mark this morning's appointment as attended from the day view (htmx swaps the row).
    page.goto("/booking/staff/agenda/")
    row = page.locator(f"#appointment-{earlier.pk}")
    row.get_by_role("button", name=say("Venu", "Attended")).click()
    expect(page.locator(f"#appointment-{earlier.pk} .status")).to_have_text(say("Venu", "Attended"))
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
    page.get_by_role("button", name=book).click()
    taken = page.get_by_test_id("slot-taken")
    expect(taken).to_contain_text(
        say(
            "Ce créneau vient d\N{RIGHT SINGLE QUOTATION MARK}être pris", "This slot was just taken"
        )
    )
    expect(taken).to_contain_text("Mistigri")
    snap_widths(page, f"booking-overlap-{language}")
    assert Appointment.objects.filter(patient=filou).count() == 1


def test_a_reminders_one_tap_confirm_link(
    clock, any_page: Page, say, language, client_user, clinic_open
):
    page = any_page
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
    expect(
        page.get_by_role("heading", name=say("Votre rendez-vous", "Your appointment"))
    ).to_be_visible()
    # What a person checks before saying yes: which animal, which day, what time.
    when = appointment.starts_at.astimezone(Clinic.current().tz)
    expect(page.locator("main")).to_contain_text("Filou")
    expect(page.locator("main")).to_contain_text(
        re.compile(day_words(when.date(), language), re.IGNORECASE)
    )
    expect(page.locator("main")).to_contain_text(when.strftime("%H:%M"))
    snap_widths(page, f"booking-one-tap-{language}")
    page.get_by_role("button", name=say("Oui, je serai là", "Yes, I will be there")).click()
    expect(
        page.get_by_text(
            say(
                "Merci, votre rendez-vous est confirmé.",
                "Thank you, your appointment is confirmed.",
            )
        )
    ).to_be_visible()
    page.goto(link)
    expect(
        page.get_by_text(
            say("Ce rendez-vous est déjà confirmé.", "This appointment is already confirmed.")
        )
    ).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.confirmed_at is not None
    page.goto("/booking/r/forged-token/")
    expect(
        page.get_by_role("heading", name=say("Ce lien n'est pas valide", "This link is not valid"))
    ).to_be_visible()
