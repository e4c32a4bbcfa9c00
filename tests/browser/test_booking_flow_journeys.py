"""The booking page while a day loads (issue #18), in French and in English: changing the animal
aborts the request in flight, so the page and the URL end on the last choice; a loading line
shows meanwhile; a free time is a real button that Space presses."""

import re
from datetime import time

import pytest
from playwright.sync_api import Page, Route, expect

from tests import factories
from tests.booking.factories import make_practitioner, make_service
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

ALL_DAY = [(time(0), time(23, 45), True)]


@pytest.fixture
def two_animals(client_user, site):
    vets = [
        make_practitioner(site, name="Dr Dubois", hours=ALL_DAY),
        make_practitioner(site, name="Dr Fontaine", hours=ALL_DAY),
    ]
    make_service(site, vets, slug="consultation", name="Consultation")
    make_service(site, vets, slug="vaccination", name="Vaccination", duration=15)
    filou = factories.make_patient(client_user, name="Filou")
    pistache = factories.make_patient(client_user, name="Pistache", species="cat")
    return filou, pistache


def test_the_last_choice_wins_while_a_day_loads(any_page: Page, say, client_user, two_animals):
    page = any_page
    _filou, pistache = two_animals
    sign_in(page, client_user.email)
    page.goto("/booking/new/")
    expect(page.locator("a.day.free").first).to_be_visible()

    held: list[Route] = []

    def hold_the_day(route: Route) -> None:
        # The day's answer is held back as if the server were slow; the others go through.
        if route.request.headers.get("hx-request") and "day=" in route.request.url and not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/booking/new/?*", hold_the_day)
    page.evaluate(
        "() => { window.swapsSettled = 0; document.body.addEventListener("
        "'htmx:afterSettle', () => { window.swapsSettled += 1; }); }"
    )
    page.get_by_label(say("Prestation", "Service")).select_option(label="Vaccination")
    # The service's days are on the page (its URL pushed, its swap settled) before one is
    # clicked: a click on the strip being replaced asked for no day, and nothing was held.
    expect(page).to_have_url(re.compile("service=vaccination"))
    page.wait_for_function("() => window.swapsSettled >= 1")
    # A day is asked for (the answer is slow), then the animal is changed meanwhile.
    with page.expect_request(lambda r: "day=" in r.url and bool(r.headers.get("hx-request"))):
        page.locator("a.day.free").nth(1).click()
    expect(page.locator("#booking-loading")).to_have_css("opacity", "1")
    page.get_by_label(say("Pour", "For")).select_option(label="Pistache")
    # The slow day comes back; the animal's choice runs after it, with the form as it is by
    # then. Both answers are on the page before anything is checked.
    held[-1].continue_()
    page.wait_for_function("() => window.swapsSettled >= 3")
    expect(page.locator("#booking-loading")).to_have_css("opacity", "0")
    expect(page).to_have_url(re.compile(f"patient={pistache.pk}.*service=vaccination"))
    entry = page.locator("#availability .waitlist-entry a")
    expect(entry).to_have_attribute(
        "href", f"/waitlist/join/?patient={pistache.pk}&service=vaccination"
    )
    page.unroute("**/booking/new/?*")

    # A free time is a real button: Space on it opens the confirm page.
    first = (
        page.get_by_role("list", name=say("Horaires libres", "Free times"))
        .get_by_role("button")
        .first
    )
    first.focus()
    page.keyboard.press("Space")
    expect(
        page.get_by_role("heading", name=say("Confirmer le rendez-vous", "Confirm the appointment"))
    ).to_be_visible()
    expect(page.get_by_text("Pistache")).to_be_visible()
