"""The agenda, live, in two browsers against daphne, in French and in English: two receptionists
show the same day (one at a desktop's width, one at a tablet's); a client books online; the
appointment appears on both grids without a reload. Then one cancels it: the other's grid
drops it too.

Pages come from conftest's `open_page` (any console, CSP or accessibility error fails the
journey), as in tests/browser/test_messaging_live.py, so that one journey opens two browsers.
"""

from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from booking import services
from booking.models import Appointment
from portal.models import Clinic
from tests import factories
from tests.booking.factories import make_practitioner, make_service
from tests.browser.conftest import (
    DESKTOP,
    check_before_closing,
    off_the_loop,
    open_page,
    sign_in_staff,
    until_sockets_closed,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clearable_access_log", "one_database"),
]

TABLET = {"width": 820, "height": 1180}
LIVE = 5_000  # ms: "within a second" on the server (tests/booking/test_agenda_live.py), plus
# the grid's debounce and its reload over HTTP on a loaded test machine


@pytest.fixture
def pages(browser: Browser, daphne_server, language) -> Iterator[callable]:
    """As many pages as the journey needs, in its language; every error fails it at the end."""
    base_url, _server = daphne_server
    opened: list[tuple[Page, list[str]]] = []

    def new_page(viewport: dict) -> Page:
        page, errors = open_page(browser, base_url, language)
        page.set_viewport_size(viewport)
        opened.append((page, errors))
        return page

    yield new_page
    errors: list[str] = []
    for page, page_errors in opened:
        check_before_closing(page, page_errors)
        page.context.close()
        errors.extend(page_errors)
    until_sockets_closed(daphne_server[1])
    assert errors == [], "\n".join(errors)


@pytest.fixture
def clinic_day(site, client_user):
    """Dr Dubois works every day; Camille's Filou; a day three days ahead."""
    dubois = make_practitioner(site, name="Dr Dubois")
    service = make_service(site, [dubois], slug="consultation", name="Consultation")
    filou = factories.make_patient(client_user, name="Filou")
    tz = Clinic.current().tz
    day = timezone.now().astimezone(tz).date() + timedelta(days=3)
    return day, datetime.combine(day, time(10), tzinfo=tz), dubois, service, filou


def agenda_of(page: Page, user, day) -> None:
    sign_in_staff(page, user)
    page.goto(f"/booking/staff/agenda/?day={day.isoformat()}")
    # The socket is open and the server has confirmed this page's days.
    expect(page.locator("#agenda-grid[data-live=on]")).to_be_attached()


def test_a_client_booking_online_appears_on_both_receptionists_grids(
    pages, say, client_user, clinic_day
):
    day, ten, dubois, service, filou = clinic_day
    first_desk, second_desk = factories.make_staff("reception"), factories.make_staff("reception")
    desk = pages(DESKTOP)
    tablet = pages(TABLET)
    agenda_of(desk, first_desk, day)
    agenda_of(tablet, second_desk, day)
    assert not Appointment.objects.exists()

    # Camille books online (what the booking page calls), while both desks look at that day.
    booked = off_the_loop(
        services.book,
        client=client_user.client,
        patient=filou,
        service=service,
        starts_at=ten,
        practitioner=dubois,
        booked_by=client_user,
    ).appointment

    for page in (desk, tablet):
        block = page.locator(f"#appointment-{booked.pk}")
        expect(block).to_be_visible(timeout=LIVE)
        expect(block).to_contain_text("Filou")
    assert desk.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload

    # The first desk cancels it (the client called): the second's grid drops it, unasked.
    off_the_loop(
        services.cancel,
        appointment=booked,
        by_user=first_desk,
        by_clinic=True,
        reason=say("Le client a appelé", "The client called"),
    )
    expect(tablet.locator(f"#appointment-{booked.pk}")).to_have_count(0, timeout=LIVE)
    expect(desk.locator(f"#appointment-{booked.pk}")).to_have_count(0, timeout=LIVE)


def test_a_desk_whose_socket_dropped_catches_up_when_it_reconnects(
    pages, client_user, reception, clinic_day
):
    day, ten, dubois, service, filou = clinic_day
    desk = pages(DESKTOP)
    sockets = {"hold": False, "page_side": None, "server_side": None}

    def route(ws) -> None:
        """Through to daphne, unless held: then the page's socket opens and nobody answers (a
        server gone quiet), so its notices are lost."""
        sockets["page_side"] = ws
        sockets["server_side"] = None if sockets["hold"] else ws.connect_to_server()

    desk.route_web_socket("**/ws/agenda/", route)
    agenda_of(desk, reception, day)

    # The connection drops; the page reconnects to a server that does not answer.
    sockets["hold"] = True
    sockets["server_side"].close()
    sockets["page_side"].close()
    expect(desk.locator("#agenda-grid[data-live=paused]")).to_be_attached()

    booked = off_the_loop(
        services.book,
        client=client_user.client,
        patient=filou,
        service=service,
        starts_at=ten,
        practitioner=dubois,
        booked_by=client_user,
    ).appointment
    expect(desk.locator(f"#appointment-{booked.pk}")).to_have_count(0)  # the notice was lost
    # Reception is told the grid may be behind (after a few seconds, so a blip does not flicker).
    expect(desk.locator("[data-agenda-live-note]")).to_be_visible(timeout=10_000)

    # The server answers again: on reconnecting, the page reloads its grid once.
    sockets["hold"] = False
    sockets["page_side"].close()
    expect(desk.locator(f"#appointment-{booked.pk}")).to_be_visible(timeout=LIVE)
    expect(desk.locator("#agenda-grid[data-live=on]")).to_be_attached(timeout=LIVE)
    expect(desk.locator("[data-agenda-live-note]")).to_be_hidden()
    assert desk.evaluate("performance.getEntriesByType('navigation').length") == 1
