"""How long a sign-in lasts: idle and absolute limits per role, said plainly on the sign-in page.

Staff are signed out after 30 minutes without a request and 12 hours after signing in; clients
after 7 days idle and 30 days in all. The person lands on the sign-in page, which says why, and
comes back to the page they were on. An htmx request gets the whole page sent to sign-in.
"""

from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.test import Client as HttpClient
from django.utils import translation

from portal.sessions import LIFETIME, SEEN, STARTED, describe_device, duration
from tests import factories

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=PARIS)  # a Wednesday morning

pytestmark = pytest.mark.django_db


def _browser(user, language: str = "en", *, staff: bool = False) -> HttpClient:
    http = HttpClient(headers={"accept-language": language})
    if staff:
        verified = factories.verified_http_client(user)
        http.cookies = verified.cookies
    else:
        http.force_login(user)
    return http


def _row(http: HttpClient) -> Session:
    return Session.objects.get(session_key=http.session.session_key)


def _login_url(next_path: str) -> str:
    return f"/accounts/login/?next={quote(next_path, safe='/')}"


def test_a_client_idle_for_seven_days_is_signed_out_and_told_why_in_french(client_user):
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(client_user, "fr")
        assert http.get("/booking/").status_code == 200
        clock.shift(timedelta(days=7, minutes=1))
        response = http.get("/booking/?tab=past")
        assert response.status_code == 302
        assert response.url == _login_url("/booking/?tab=past")
        page = http.get(response.url).content.decode()
    assert "Session fermée après 7\u00a0jours sans activité." in page
    assert "Reconnectez-vous pour reprendre là où vous en étiez." in page
    assert "_auth_user_id" not in http.session


def test_a_client_away_six_days_is_still_signed_in(client_user):
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(client_user)
        http.get("/")
        clock.shift(timedelta(days=6, hours=23))
        response = http.get("/booking/")
    assert response.status_code == 200
    assert "Camille" in response.content.decode() or response.context["user"] == client_user


def test_staff_idle_for_thirty_minutes_are_signed_out_in_english(vet):
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(vet, staff=True)
        assert http.get("/booking/staff/agenda/").status_code == 200
        clock.shift(timedelta(minutes=29))
        assert http.get("/booking/staff/agenda/").status_code == 200  # active again: kept
        clock.shift(timedelta(minutes=30, seconds=1))
        response = http.get("/booking/staff/agenda/")
        assert response.status_code == 302
        assert response.url == _login_url("/booking/staff/agenda/")
        page = http.get(response.url).content.decode()
    assert "You were signed out after 30 minutes without activity." in page
    assert "Sign in again to carry on where you were." in page


# A page that needs a session ("/" answers everyone: the clinic's public page).
SIGNED_IN_PAGE = "/account/2fa/"


def test_staff_busy_all_day_are_signed_out_after_twelve_hours(vet):
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(vet, staff=True)
        for _ in range(12 * 4 - 1):  # a request every quarter of an hour
            assert http.get(SIGNED_IN_PAGE).status_code == 200
            clock.shift(timedelta(minutes=15))
        assert http.get(SIGNED_IN_PAGE).status_code == 200  # 11 h 45 after signing in
        clock.shift(timedelta(minutes=15))
        response = http.get(SIGNED_IN_PAGE)
        page = http.get(response.url).content.decode()
    assert response.status_code == 302
    assert "For your security, a sign-in lasts at most 12 hours." in page


def test_after_signing_in_again_the_client_is_back_where_they_were(client_user):
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(client_user)
        http.get("/")
        clock.shift(timedelta(days=8))
        login = http.get("/booking/").url
        response = http.post(
            login, {"login": client_user.email, "password": factories.PASSWORD, "next": "/booking/"}
        )
    assert response.status_code == 302
    assert response.url == "/booking/"


def test_an_htmx_request_on_an_expired_session_sends_the_whole_page_to_sign_in(vet):
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(vet, staff=True)
        http.get("/")
        clock.shift(timedelta(hours=1))
        response = http.get(
            "/staff/clients/?q=mar",
            headers={
                "HX-Request": "true",
                "HX-Current-URL": "http://testserver/staff/clients/?q=ma",
            },
        )
    assert response["HX-Redirect"] == _login_url("/staff/clients/?q=ma")
    assert "<form" not in response.content.decode()  # no sign-in form swapped into a fragment


def test_an_htmx_request_past_the_limit_before_the_row_expires_also_goes_whole(vet):
    """The middleware's own check (the row normally expires first)."""
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(vet, staff=True)
        http.get("/")
        clock.shift(timedelta(minutes=29, seconds=59))
        row = _row(http)
        row.expire_date = T0 + timedelta(hours=1)  # as if the row outlived the limit
        row.save()
        clock.shift(timedelta(seconds=2))
        response = http.get(
            "/staff/clients/?q=mar",
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/staff/clients/"},
        )
        assert response["HX-Redirect"] == _login_url("/staff/clients/")
        page = http.get(response["HX-Redirect"]).content.decode()
    assert "You were signed out after 30 minutes without activity." in page
    assert not Session.objects.filter(session_key=row.session_key).exists()


def test_a_form_posted_on_an_expired_session_returns_to_the_page_it_came_from(client_user):
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(client_user)
        http.get("/")
        clock.shift(timedelta(days=8))
        response = http.post(
            "/account/profile/",
            {"phone": "0600000000"},
            headers={"Referer": "http://testserver/account/profile/"},
        )
    assert response.status_code == 302
    assert response.url == _login_url("/account/profile/")
    client_user.client.refresh_from_db()
    assert client_user.client.phone != "0600000000"  # nothing written


def test_a_foreign_referer_is_not_a_place_to_return_to(client_user):
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(client_user)
        http.get("/")
        clock.shift(timedelta(days=8))
        row = _row(http)
        row.expire_date = T0 + timedelta(days=30)  # the middleware's own check, not the row's
        row.save()
        response = http.post(
            "/account/profile/", {}, headers={"Referer": "https://evil.example/phish/"}
        )
    assert response.url == _login_url("/")


def test_the_session_is_written_at_most_once_a_minute(client_user):
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(client_user)
        http.get("/")
        first = _row(http).expire_date
        clock.shift(timedelta(seconds=30))
        http.get("/")
        assert _row(http).expire_date == first  # not written again
        clock.shift(timedelta(seconds=31))
        http.get("/")
        assert _row(http).expire_date == first + timedelta(seconds=61)


def test_the_row_expires_with_the_idle_limit_even_for_a_browser_session(vet):
    """Websockets read the row's expiry: it must end when the sign-in would."""
    with time_machine.travel(T0, tick=False):
        http = _browser(vet, staff=True)
        session = http.session
        session.set_expiry(0)  # "remember me" not ticked
        session.save()
        http.get("/")
        row = _row(http)
        assert row.expire_date == T0 + timedelta(minutes=30)
        data = row.get_decoded()
    assert data[STARTED] == data[SEEN] == int(T0.timestamp())
    assert data[LIFETIME] == 30 * 60
    assert data["_session_expiry"] == 0  # the cookie still ends with the browser


def test_near_the_absolute_limit_the_row_expires_with_it(vet):
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(vet, staff=True)
        http.get("/")
        for _ in range(12 * 4 - 1):
            clock.shift(timedelta(minutes=15))
            http.get("/")
        assert _row(http).expire_date == T0 + timedelta(hours=12)


def test_a_fresh_sign_in_starts_a_fresh_clock(client_user):
    with time_machine.travel(T0, tick=False) as clock:
        http = _browser(client_user)
        http.get("/")
        clock.shift(timedelta(days=29))
        http.force_login(client_user)  # signs in again
        http.get("/")
        clock.shift(timedelta(days=2))
        assert http.get("/").status_code == 200


def test_anonymous_visitors_are_untouched(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert STARTED not in client.session


def test_durations_read_in_the_largest_whole_unit():
    with translation.override("en"):
        assert duration(30 * 60) == "30 minutes"
        assert duration(60) == "1 minute"
        assert duration(12 * 3600) == "12 hours"
        assert duration(7 * 86400) == "7 days"
        assert duration(86400) == "1 day"
    with translation.override("fr"):
        # A no-break space between the number and its unit, as French typography has it.
        assert duration(30 * 60) == "30\u00a0minutes"
        assert duration(86400) == "1\u00a0jour"


def test_devices_are_named_shortly():
    android = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
    assert describe_device(android) == "Chrome, Android"
    assert describe_device("Mozilla/5.0 (Windows NT 10.0; rv:133.0) Firefox/133.0") == (
        "Firefox, Windows"
    )
    with translation.override("en"):
        assert describe_device("curl/8.0") == "Unknown device"
    with translation.override("fr"):
        assert describe_device("curl/8.0") == "Appareil inconnu"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ACCUEIL_SESSION_IDLE_STAFF_MINUTES", "zero", "must be a whole number"),
        ("ACCUEIL_SESSION_IDLE_STAFF_MINUTES", "1", "must be at least 2"),
        ("ACCUEIL_SESSION_IDLE_STAFF_MINUTES", "900", "must not be longer than"),
        ("ACCUEIL_SESSION_MAX_CLIENT_HOURS", "24", "must not be longer than"),
    ],
)
def test_bad_session_settings_are_refused_at_start_up(monkeypatch, variable, value, message):
    import importlib.util

    monkeypatch.setenv(variable, value)
    spec = importlib.util.find_spec("portal.settings")
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(ImproperlyConfigured, match=message):
        spec.loader.exec_module(module)
