"""The booking page under htmx: one request at a time, a loading line, real slot buttons."""

import pytest
from django.urls import reverse

from tests.booking.conftest import DAY
from tests.booking.factories import at

# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")


def test_changing_the_animal_waits_for_the_request_in_flight_and_shows_a_loading_line(
    as_client, filou, consultation
):
    html = as_client.get(reverse("booking:new")).content.decode()
    # The form and the day links share one request queue: the last choice runs last.
    assert 'class="booking-flow" hx-sync="this:queue last" hx-indicator="#booking-loading"' in html
    assert 'id="booking-loading" class="htmx-indicator booking-loading"' in html
    assert "style=" not in html.split('class="booking-flow"', 1)[1]
    chooser = html.split('class="chooser"', 1)[1].split("</form>", 1)[0]
    assert 'hx-push-url="true"' in chooser


def test_free_times_are_real_buttons_that_open_the_confirm_page(as_client, filou, consultation):
    html = as_client.get(
        reverse("booking:new"), {"patient": filou.pk, "day": DAY.isoformat()}
    ).content.decode()
    slots = html.split('aria-label="Free times"', 1)[1].split("</ul>", 1)[0]
    assert 'role="button"' not in slots
    assert '<button type="submit" class="outline">09:00</button>' in slots
    assert f'action="{reverse("booking:confirm")}"' in slots
    assert f'name="start" value="{int(at(DAY, 9).timestamp())}"' in slots
    assert f'name="patient" value="{filou.pk}"' in slots


def test_the_waitlist_link_follows_the_swapped_choice(as_client, client_user, filou, consultation):
    from tests import factories

    pistache = factories.make_patient(client_user, name="Pistache")
    partial = as_client.get(
        reverse("booking:new"),
        {"patient": pistache.pk, "service": "consultation"},
        headers={"HX-Request": "true"},
    ).content.decode()
    entry = partial.split('class="waitlist-entry"', 1)[1].split("</p>", 1)[0]
    assert f"?patient={pistache.pk}&amp;service=consultation" in entry


def test_the_move_page_shares_the_same_guard(as_client, client_user, filou, consultation, dubois):
    from tests.booking.factories import make_appointment

    appointment = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )
    html = as_client.get(reverse("booking:move", args=[appointment.pk])).content.decode()
    assert 'hx-sync="this:queue last"' in html
    assert "booking-loading" in html
    assert "<button" in html.split('aria-label="Free times"', 1)[1].split("</ul>", 1)[0]
