"""Waitlist journeys in a real browser: a cancellation is offered to two waiting clients, both
tap "Take it" at once from their own phones, one wins; a client joins and leaves the list;
staff see the waitlist and offer a free slot. In French and in English."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from booking.models import Appointment
from notifications import backends
from portal.models import Clinic
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.browser.conftest import check_before_closing, current_code, open_page, snap_widths
from tests.notifications.conftest import run_ready_tasks
from tests.waitlist.factories import make_entry
from waitlist.models import Entry, Offer, Release

pytestmark = pytest.mark.django_db(transaction=True)

CLAIM = re.compile(r"https?://[^\s\"'<>]+?(/waitlist/o/[^\s\"'<>/]+/)")


def sign_in_to(page: Page, user, path: str) -> None:
    """Sign in straight to `path`; the fields are found by name, as conftest's `sign_in` does
    (their words belong to the sign-in page's own journey)."""
    page.goto(f"/accounts/login/?next={path}")
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill(factories.PASSWORD)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    if user.is_clinic_staff:
        page.get_by_label("Code").fill(current_code(user))
        page.locator("main button[type=submit]").first.click()
    page.wait_for_url(f"**{path.split('?')[0]}*")


@pytest.fixture
def world(clinic, site, vet):
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    consultation = make_service(site, [dubois], slug="consultation", duration=30)
    tz = Clinic.current().tz
    day = (timezone.now().astimezone(tz) + timedelta(days=3)).date()
    return {
        "dubois": dubois,
        "consultation": consultation,
        "day": day,
        "start": datetime.combine(day, time(14, 30), tzinfo=tz),
    }


def _phone(browser: Browser, live_server, language: str) -> tuple[Page, list[str]]:
    """Another client's phone, in the journey's language, checked like `page` (script, CSP and
    accessibility errors)."""
    return open_page(browser, live_server.url, language)


@pytest.mark.slow
def test_a_cancelled_slot_goes_to_the_first_of_two_waiting_clients(
    any_page: Page, say, language, browser: Browser, live_server, world, client_user, settings
):
    page = any_page
    settings.NOTIFICATIONS_SMS_BACKEND = "locmem"
    backends.outbox.clear()
    mail.outbox.clear()
    filou = factories.make_patient(client_user, name="Filou")
    appointment = make_appointment(
        client=client_user.client,
        patient=filou,
        service=world["consultation"],
        practitioner=world["dubois"],
        starts_at=world["start"],
    )
    waiting = []
    for first in ("Anna", "Ben"):
        user = factories.make_client_user(first_name=first, last_name="Attente")
        dog = factories.make_patient(user, name=f"Rex of {first}")
        make_entry(user.client, dog, world["consultation"], earliest=world["day"])
        waiting.append(user)

    # Camille cancels from her appointments.
    sign_in_to(page, client_user, f"/booking/{appointment.pk}/cancel/")
    page.get_by_role(
        "button", name=say("Annuler ce rendez-vous", "Cancel this appointment")
    ).click()
    expect(
        page.get_by_text(say("Votre rendez-vous est annulé.", "Your appointment is cancelled."))
    ).to_be_visible()
    release = Release.objects.get()
    assert release.offers.count() == 2

    # The offers leave through notifications' outbox (e-mail at once); read the links there.
    run_ready_tasks()
    links = {}
    for user in waiting:
        bodies = [m.body for m in mail.outbox if user.email in m.to]
        bodies += [
            sms.get("body", "") if isinstance(sms, dict) else str(sms) for sms in backends.outbox
        ]
        found = [CLAIM.search(body) for body in bodies]
        paths = [match.group(1) for match in found if match]
        if not paths:  # no e-mail channel configured: the offer row holds the same signed link
            offer = Offer.objects.select_related("release").get(client=user.client)
            paths = [CLAIM.search(offer.claim_url()).group(1)]
        links[user.email] = paths[0]

    anna, anna_errors = _phone(browser, live_server, language)
    ben, ben_errors = _phone(browser, live_server, language)
    anna.goto(links[waiting[0].email])
    ben.goto(links[waiting[1].email])
    for phone in (anna, ben):
        expect(
            phone.get_by_role(
                "heading", name=say("Un créneau vient de se libérer", "A slot just opened")
            )
        ).to_be_visible()
        expect(phone.get_by_text("14:30")).to_be_visible()
    snap_widths(anna, f"waitlist-offer-{language}")

    # Both phones show the button; Anna taps first, then Ben on his page loaded before that.
    # (The truly simultaneous race, 20 threads with their own connections, is proven on SQLite
    # and PostgreSQL in tests/waitlist/test_concurrency.py: the live server's in-memory SQLite
    # shares one connection between request threads, so it cannot show isolation.)
    states = []
    for phone in (anna, ben):
        phone.get_by_role("button", name=say("Je le prends", "Take it")).click()
        state = phone.get_by_test_id("offer-state")
        expect(state).not_to_have_attribute("data-state", "open")
        states.append(state.get_attribute("data-state"))
    assert states == ["done", "taken"], states
    winner, loser = (anna, ben) if states[0] == "done" else (ben, anna)
    expect(winner.get_by_text(say("Réservé !", "Booked!"))).to_be_visible()
    expect(loser.get_by_text(say("Déjà pris", "Already taken"))).to_be_visible()
    expect(
        loser.get_by_text(say("Vous restez sur la liste d'attente", "You stay on the waitlist"))
    ).to_be_visible()
    snap_widths(winner, f"waitlist-offer-won-{language}")
    snap_widths(loser, f"waitlist-offer-taken-{language}")
    assert Appointment.objects.active().filter(starts_at=world["start"]).count() == 1
    assert Entry.objects.filter(status=Entry.Status.WAITING).count() == 1
    for phone, phone_errors in ((anna, anna_errors), (ben, ben_errors)):
        check_before_closing(phone, phone_errors)
        phone.context.close()
    assert anna_errors == ben_errors == []


def test_a_client_joins_from_the_booking_flow_then_leaves(
    any_page: Page, say, language, world, client_user
):
    page = any_page
    filou = factories.make_patient(client_user, name="Filou")
    sign_in_to(page, client_user, f"/waitlist/join/?patient={filou.pk}&service=consultation")
    expect(
        page.get_by_role(
            "heading",
            name=say("Prévenez-moi si un créneau se libère", "Tell me when something opens"),
        )
    ).to_be_visible()
    page.get_by_label(say("Avec", "With")).select_option(label="Dr Dubois")
    page.get_by_label(say("Soirs (à partir de 17 h)", "Evenings (from 5 pm)")).uncheck()
    page.get_by_label(say("Dimanche", "Sunday")).uncheck()
    snap_widths(page, f"waitlist-join-{language}")
    page.get_by_role(
        "button", name=say("M'inscrire sur la liste d'attente", "Put me on the waitlist")
    ).click()
    expect(
        page.get_by_role("heading", name=say("Ma liste d'attente", "My waitlist"))
    ).to_be_visible()
    expect(page.get_by_test_id("waiting")).to_contain_text("Filou")
    snap_widths(page, f"waitlist-mine-{language}")
    entry = Entry.objects.get()
    assert (entry.times, entry.weekdays, entry.practitioner) == (3, 63, world["dubois"])
    page.get_by_role(
        "button", name=say("Quitter la liste pour Filou", "Leave the list for Filou")
    ).click()
    expect(
        page.get_by_text(say("Vous n'attendez aucun créneau.", "You are not waiting for any slot."))
    ).to_be_visible()


def test_staff_see_the_waitlist_and_offer_a_free_slot(
    any_page: Page, say, language, world, reception, client_user
):
    page = any_page
    filou = factories.make_patient(client_user, name="Filou")
    make_entry(client_user.client, filou, world["consultation"], earliest=world["day"])
    sign_in_to(page, reception, "/waitlist/staff/")
    expect(
        page.get_by_role("heading", name=say("Liste d'attente", "Waitlist"), exact=True)
    ).to_be_visible()
    expect(page.get_by_test_id("entries")).to_contain_text("Filou")
    page.get_by_role(
        "button", name=say("Proposer un créneau libre", "Offer a free slot"), exact=True
    ).click()
    page.get_by_label(say("Praticien", "Practitioner")).select_option(label="Dr Dubois")
    page.get_by_label(say("Jour", "Day")).fill(world["day"].isoformat())
    page.get_by_label(say("Heure", "Time")).fill("10:00")
    snap_widths(page, f"waitlist-staff-offer-{language}")
    page.get_by_role(
        "button", name=say("Proposer à la liste d'attente", "Offer to the waitlist")
    ).click()
    expect(
        page.get_by_text(
            say("Proposé à 1 client(s) en attente.", "Offered to 1 waiting client(s).")
        )
    ).to_be_visible()
    expect(page.get_by_test_id("releases")).to_contain_text(
        say("En cours de proposition", "Being offered")
    )
    snap_widths(page, f"waitlist-staff-{language}")
    page.get_by_role("button", name=say("Ne pas proposer", "Don't offer")).click()
    expect(page.get_by_test_id("releases")).to_contain_text(say("Non proposé", "Not offered"))
    assert Release.objects.get().status == Release.Status.WITHDRAWN
