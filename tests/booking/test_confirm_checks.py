"""A tampered or stale confirm URL shows why it cannot be booked, never a button (issue #18).

In French, the clinic's default language: what a client who edited the URL, or came back to an
old tab, reads.
"""

from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse

from booking.models import Appointment, Closure
from tests import factories
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at, make_service

BUTTON = "Réserver ce rendez-vous"


# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def http(client_user):
    http = factories.http_client(client_user)
    http.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    return http


def confirm_page(http, filou, start=None, **params):
    query = {"patient": filou.pk, "service": "consultation", **params}
    if start is not None:
        query["start"] = str(int(start.timestamp())) if not isinstance(start, str) else start
    return http.get(reverse("booking:confirm"), query)


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (at(DAY, 3), "Cet horaire n'est pas ouvert à la réservation."),  # 03:00
        (at(DAY, 9, 10), "Cet horaire n'est pas ouvert à la réservation."),  # off the grid
        (at(DAY, 13), "Cet horaire n'est pas ouvert à la réservation."),  # lunch break
        (NOW - timedelta(days=1), "Cet horaire est déjà passé."),
        (NOW + timedelta(minutes=30), "trop proche pour être réservé en ligne"),
        (at(DAY + timedelta(days=90), 9), "trop lointain pour être réservé"),
        ("abc", "Cet horaire n'est pas valide."),
        ("", "Cet horaire n'est pas valide."),
    ],
)
def test_a_refused_time_shows_why_and_the_nearest_free_times_without_a_button(
    http, filou, consultation, start, message
):
    response = confirm_page(http, filou, start)
    html = unescape(response.content.decode())
    assert response.status_code == 400
    assert message in html
    assert "Cet horaire ne peut pas être réservé" in html
    assert BUTTON not in html
    assert f'<form method="post" action="{reverse("booking:confirm")}"' not in html
    assert "Choisir un autre horaire" in html
    assert reverse("booking:new") in html
    # Offered instead: real free times, each a button that opens its own confirm page.
    assert "Les horaires libres les plus proches" in html
    assert 'class="slot-pick"' in html


def test_a_closed_day_is_refused_with_the_next_free_times(http, filou, consultation):
    Closure.objects.create(start=DAY, end=DAY, label="Pont")
    html = unescape(confirm_page(http, filou, at(DAY, 9)).content.decode())
    assert "Cet horaire n'est pas ouvert à la réservation." in html
    alert = html.split('data-testid="slot-refused"', 1)[1].split("</div>", 1)[0]
    # The nearest free times around it, none on the closed day.
    assert "dimanche 31 mai, 18:30" in alert
    assert "lundi 1er juin" not in alert
    assert BUTTON not in html


def test_a_phone_only_range_is_refused_online(http, filou, site):
    from datetime import time

    from tests.booking.factories import make_practitioner

    phone = make_practitioner(site, name="Dr Phone", hours=[(time(9), time(12), False)])
    make_service(site, [phone], slug="consultation")
    html = unescape(confirm_page(http, filou, at(DAY, 9)).content.decode())
    assert "Cet horaire n'est pas ouvert à la réservation." in html
    assert BUTTON not in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"service": "nope"}, "Cette prestation n'existe pas ou n'est plus proposée."),
        ({"practitioner": "999"}, "Ce praticien ne propose pas cette prestation."),
        ({"service": "chirurgie"}, "Cette prestation ne se réserve pas en ligne."),
    ],
)
def test_an_unknown_service_or_vet_is_a_404_that_says_why(
    http, filou, consultation, site, dubois, params, message
):
    make_service(site, [dubois], slug="chirurgie", online=False)
    response = confirm_page(http, filou, at(DAY, 9), **params)
    html = unescape(response.content.decode())
    assert response.status_code == 404
    assert message in html
    assert BUTTON not in html
    assert "Choisir un autre horaire" in html


def test_a_free_time_shows_the_summary_and_the_button(http, filou, consultation):
    response = confirm_page(http, filou, at(DAY, 9))
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert "Confirmer le rendez-vous" in html
    assert "Lundi 1er juin 2026, 09:00\N{EN DASH}09:30" in html
    assert BUTTON in html


def test_too_many_upcoming_appointments_are_said_before_the_button(
    http, client_user, filou, consultation, dubois, rules
):
    from tests.booking.factories import make_appointment

    rules.max_upcoming = 1
    rules.save()
    make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 15),
    )
    html = unescape(confirm_page(http, filou, at(DAY, 9)).content.decode())
    assert "rendez-vous à venir" in html
    assert BUTTON not in html


def test_another_clients_animal_is_still_a_bare_404(http, strangers_cat, consultation):
    response = http.get(
        reverse("booking:confirm"),
        {"patient": strangers_cat.pk, "service": "consultation", "start": "1780297200"},
    )
    assert response.status_code == 404
    assert "Mistigri" not in response.content.decode()
    assert not Appointment.objects.exists()
