"""Words a French reader meets first: the sign-in pages, dates, "1er décembre"."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.template import engines
from django.utils import formats, translation

from portal.models import Invitation, Role

PARIS = ZoneInfo("Europe/Paris")


def _render(source: str, **context) -> str:
    return engines["django"].from_string("{% load portal_tags %}" + source).render(context)


@pytest.mark.parametrize(
    ("language", "day_month", "long_date"),
    [
        ("fr", "1er décembre", "mardi 1er décembre 2026"),
        ("en", "1 December", "Tuesday 1 December 2026"),
    ],
)
def test_the_date_filters_write_the_first_of_the_month_as_each_language_does(
    language, day_month, long_date
):
    with translation.override(language):
        assert _render("{{ d|day_month }}", d=date(2026, 12, 1)) == day_month
        assert _render("{{ d|long_date }}", d=date(2026, 12, 1)) == long_date


def test_a_french_date_keeps_its_other_days_plain_and_its_names_lower_case():
    with translation.override("fr"):
        assert _render("{{ d|weekday_day_month }}", d=date(2026, 12, 2)) == "mercredi 2 décembre"
        assert _render("{{ d|long_date|capfirst }}", d=date(2026, 3, 29)) == (
            "Dimanche 29 mars 2026"
        )


def test_an_instant_is_dated_on_the_clinics_clock():
    # 23:30 UTC on 30 November is already 1 December in Paris.
    instant = datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo("UTC"))
    with translation.override("fr"), time_machine.travel(instant, tick=False):
        from django.utils import timezone

        with timezone.override(PARIS):
            assert _render("{{ d|day_month }}", d=instant) == "1er décembre"


@pytest.mark.parametrize(
    ("language", "expected"), [("fr", "1 décembre 2026"), ("en", "1 December 2026")]
)
def test_each_language_has_one_date_format_day_first(language, expected):
    with translation.override(language):
        assert formats.date_format(date(2026, 12, 1)) == expected
        assert formats.date_format(date(2026, 12, 1), "SHORT_DATE_FORMAT") == "01/12/2026"
        assert formats.time_format(datetime(2026, 12, 1, 14, 5)) == "14:05"


@pytest.mark.django_db
def test_the_sign_in_pages_speak_the_portals_french(client, client_user):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"

    login = client.get("/accounts/login/").content.decode()
    reset = client.get("/accounts/password/reset/").content.decode()
    client.force_login(client_user)
    logout = client.get("/accounts/logout/").content.decode()

    assert "Adresse e-mail" in login
    assert "Courriel" not in login
    assert login.count("Mot de passe oublié") == 1
    assert "Appelez la clinique" in reset
    assert "sûr(e)" not in logout
    assert "Voulez-vous vraiment vous déconnecter" in logout


@pytest.fixture
def tuesday_24_november():
    with time_machine.travel(datetime(2026, 11, 24, 10, 0, tzinfo=PARIS), tick=False):
        yield


@pytest.mark.django_db
def test_a_pending_invitation_says_until_when_in_words(tuesday_24_november, as_manager, manager):
    as_manager.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    Invitation.issue(email="nouveau@example.com", role=Role.VET, invited_by=manager)
    page = as_manager.get("/staff/team/").content.decode()

    assert "valable jusqu'au mardi 1er décembre 2026" in page


@pytest.mark.parametrize(
    ("language", "expected"), [("fr", "1er décembre, 00:30"), ("en", "1 December, 00:30")]
)
def test_a_message_time_reads_day_month_and_clock_time_on_the_clinics_clock(language, expected):
    from django.utils import timezone

    instant = datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo("UTC"))
    with translation.override(language), timezone.override(PARIS):
        assert _render("{{ d|day_month_time }}", d=instant) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", "Urgences, jour et nuit :"), ("en", "Emergency, day and night:")],
)
def test_a_label_takes_its_colon_as_each_language_does(language, expected):
    label = '{% load i18n %}{% translate "Emergency, day and night" %}{% colon %}'
    with translation.override(language):
        assert _render(label) == expected


def test_the_clients_home_writes_the_emergency_line_the_french_way(client_user):
    from tests import factories

    http = factories.http_client(client_user)
    html = http.get("/", headers={"accept-language": "fr"}).content.decode()
    assert "Urgences, jour et nuit :" in html
