"""Booking reads in French, the clinic's default language."""

from datetime import date

from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from tests import factories


def test_the_booking_pages_speak_french(client_user, filou, consultation):
    http = factories.http_client(client_user)
    http.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    html = http.get(reverse("booking:new"), headers={"accept-language": "fr"}).content.decode()
    assert "Prendre rendez-vous" in html
    assert "Premier disponible" in html
    mine = http.get(reverse("booking:mine"), headers={"accept-language": "fr"}).content.decode()
    assert "Mes rendez-vous" in mine


def test_the_booking_flow_writes_dates_and_words_as_french_does(client_user, filou, consultation):
    from datetime import timedelta
    from html import unescape

    import time_machine

    from tests.booking.conftest import DAY
    from tests.booking.factories import at

    with time_machine.travel(at(DAY - timedelta(days=3), 10), tick=False):
        http = factories.http_client(client_user)
        http.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
        html = unescape(http.get(reverse("booking:new"), {"day": DAY.isoformat()}).content.decode())
        confirm = unescape(
            http.get(
                reverse("booking:confirm"),
                {"patient": filou.pk, "service": "consultation", "start": at(DAY, 9).timestamp()},
            ).content.decode()
        )
    assert "{#" not in html  # no template comment shown as text
    assert "#}" not in html
    # "Prestation", not notifications' "Service" (a context keeps booking's own word).
    assert '<label for="id_service">Prestation</label>' in html
    assert "<dt>Prestation</dt>" in confirm
    assert "Lundi 1er juin 2026" in html  # the chosen day's heading
    assert 'data-testid="next-free-day">vendredi 29 mai</a>' in html  # lower-case mid-sentence
    # The strip: a short month that French reads ("juin", not "Jui"), the full date for
    # screen readers.
    assert ">juin</span>" in html
    assert "lundi 1er juin, créneaux libres" in html
    assert "Lundi 1er juin 2026, 09:00" in confirm


def test_booking_does_not_capitalise_django_s_weekdays_mid_sentence():
    # Booking's weekday headings ("Lundi") once overrode Django's own "lundi" everywhere.
    with translation.override("fr"):
        rendered = Template('{{ d|date:"l j F" }}').render(Context({"d": date(2026, 12, 1)}))
    assert rendered == "mardi 1 décembre"


def test_other_apps_words_do_not_shadow_bookings():
    # notifications' "Reason" (why a message failed) and "Service" (a message's purpose) once
    # overrode booking's "Motif" and the waitlist's "Prestation" everywhere.
    with translation.override("fr"):
        rendered = Template(
            '{% load i18n %}{% translate "Reason" %}|{% translate "Service" %}'
        ).render(Context())
    assert rendered == "Motif|Prestation"
