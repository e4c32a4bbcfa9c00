"""The agenda, live: staff watching a day hear within a second that it changed (a client booked
online, a move, a cancel, a confirmation), through the real ASGI application; clients and
strangers cannot listen; bad frames are refused; a Redis outage never fails a booking."""

import json
import logging
import time
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from booking import services
from booking.consumers import MAX_DAYS, parse_watch
from booking.models import Appointment, Closure
from portal import sessions
from portal.asgi import application
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at, book, make_appointment

pytestmark = [
    pytest.mark.django_db(transaction=True),  # notices go out on commit, as in production
    pytest.mark.usefixtures("clearable_access_log", "quiet_notices"),
]


@pytest.fixture
def quiet_notices():
    """The client's notices, not planned here. Not the booking conftest's `notify`: its
    patch.dict of sys.modules drops every module first imported during the test (the URLconf's
    views among them), and a later import makes second copies of their classes, which the
    cache then cannot pickle (seen with the browser journeys in the same process)."""
    with (
        mock.patch("notifications.services.appointment_booked"),
        mock.patch("notifications.services.appointment_moved"),
        mock.patch("notifications.services.appointment_cancelled"),
    ):
        yield


OTHER_DAY = DAY + timedelta(days=1)


def socket(http, *, origin: str = "http://127.0.0.1") -> WebsocketCommunicator:
    headers = [(b"host", b"127.0.0.1"), (b"origin", origin.encode()), (b"accept-language", b"en")]
    if http is not None:
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={http.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/agenda/", headers)


async def watching(http, *days) -> WebsocketCommunicator:
    comm = socket(http)
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "watch", "days": [d.isoformat() for d in days]})
    assert await comm.receive_json_from(timeout=3) == {
        "type": "watching",
        "days": [d.isoformat() for d in days],
    }
    return comm


def camille_books(client_user, filou, consultation, hour: int = 9, day=DAY) -> Appointment:
    """Camille books online, as the booking page does (booking.services.book)."""
    return book(client_user, filou, consultation, at(day, hour), now=NOW).appointment


@pytest.mark.asyncio
async def test_staff_hear_within_a_second_that_a_client_booked_a_watched_day(
    as_reception, client_user, filou, consultation
):
    comm = await watching(as_reception, DAY, OTHER_DAY)
    started = time.monotonic()
    await sync_to_async(camille_books)(client_user, filou, consultation)
    assert await comm.receive_json_from(timeout=1) == {"type": "changed", "day": DAY.isoformat()}
    assert time.monotonic() - started < 1
    assert await comm.receive_nothing(timeout=0.2)  # once, and nothing for the other day
    await comm.disconnect()


@pytest.mark.asyncio
async def test_a_day_not_watched_stays_silent(as_vet, client_user, filou, consultation):
    comm = await watching(as_vet, OTHER_DAY)
    await sync_to_async(camille_books)(client_user, filou, consultation)
    assert await comm.receive_nothing(timeout=0.3)
    # A new watch replaces the last one: the old day is no longer heard.
    await comm.send_json_to({"type": "watch", "days": [DAY.isoformat()]})
    assert (await comm.receive_json_from(timeout=3))["type"] == "watching"
    await sync_to_async(camille_books)(client_user, filou, consultation, hour=10, day=OTHER_DAY)
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


@pytest.mark.asyncio
async def test_a_move_tells_the_old_day_and_the_new_one(
    as_reception, reception, client_user, filou, consultation
):
    appointment = await sync_to_async(camille_books)(client_user, filou, consultation)
    comm = await watching(as_reception, DAY, OTHER_DAY)
    await sync_to_async(services.move)(
        appointment, starts_at=at(OTHER_DAY, 10), by_user=reception, by_clinic=True, now=NOW
    )
    heard = {(await comm.receive_json_from(timeout=1))["day"] for _ in range(2)}
    assert heard == {DAY.isoformat(), OTHER_DAY.isoformat()}
    await comm.disconnect()


@pytest.mark.asyncio
async def test_a_cancel_a_confirmation_and_an_outcome_are_heard(
    as_reception, reception, client_user, filou, consultation
):
    appointment = await sync_to_async(camille_books)(client_user, filou, consultation)
    comm = await watching(as_reception, DAY)
    # The one-tap "I'll be there" from a reminder goes through services.confirm.
    assert await sync_to_async(services.confirm)(appointment, version=appointment.version, now=NOW)
    assert (await comm.receive_json_from(timeout=1))["day"] == DAY.isoformat()
    await sync_to_async(services.cancel)(appointment, by_user=client_user, by_clinic=False, now=NOW)
    assert (await comm.receive_json_from(timeout=1))["day"] == DAY.isoformat()
    other = await sync_to_async(camille_books)(client_user, filou, consultation, hour=11)
    assert (await comm.receive_json_from(timeout=1))["day"] == DAY.isoformat()
    await sync_to_async(services.mark_outcome)(
        other, status=Appointment.Status.ATTENDED, by_user=reception, now=at(DAY, 12)
    )
    assert (await comm.receive_json_from(timeout=1))["day"] == DAY.isoformat()
    await comm.disconnect()


@pytest.mark.asyncio
async def test_a_closure_entered_tells_each_day_it_covers(as_manager, manager):
    from booking import closures

    comm = await watching(as_manager, DAY, OTHER_DAY)
    closure = Closure(start=DAY, end=OTHER_DAY, label="Inventaire")
    await sync_to_async(closures.enter)(closure, by_user=manager, now=NOW)
    heard = {(await comm.receive_json_from(timeout=1))["day"] for _ in range(2)}
    assert heard == {DAY.isoformat(), OTHER_DAY.isoformat()}
    await comm.disconnect()


@pytest.mark.asyncio
async def test_clients_anonymous_visitors_and_foreign_pages_cannot_connect(
    as_client, as_reception, reception
):
    from tests import factories

    half_signed_in = await sync_to_async(factories.http_client)(reception)  # no second factor
    for comm in (
        socket(as_client),
        socket(None),
        socket(half_signed_in),
        socket(as_reception, origin="https://evil.example"),
    ):
        connected, code = await comm.connect()
        assert not connected
    connected, code = await socket(as_client).connect()
    assert code == 4403


@pytest.mark.asyncio
async def test_more_than_seven_days_and_malformed_frames_are_refused(
    as_reception, client_user, filou, consultation
):
    comm = await watching(as_reception, DAY)
    eight = [(DAY + timedelta(days=i)).isoformat() for i in range(MAX_DAYS + 1)]
    for frame in (
        json.dumps({"type": "watch", "days": eight}),
        json.dumps({"type": "watch", "days": ["2026-02-30"]}),
        json.dumps({"type": "watch", "days": "2026-06-01"}),
        json.dumps({"type": "launch"}),
        "{not json",
        json.dumps({"type": "watch", "days": ["2026-06-01" + " " * 600]}),
    ):
        await comm.send_to(text_data=frame)
        assert (await comm.receive_json_from(timeout=3))["type"] == "error"
    # The watch in place is kept: the day is still heard.
    await sync_to_async(camille_books)(client_user, filou, consultation)
    assert (await comm.receive_json_from(timeout=1))["day"] == DAY.isoformat()
    await comm.disconnect()


def test_parse_watch_reads_seven_days_once_each():
    week = [(DAY + timedelta(days=i)).isoformat() for i in range(7)]
    days = parse_watch(json.dumps({"type": "watch", "days": week}))
    assert [d.isoformat() for d in days] == week
    assert parse_watch(json.dumps({"type": "watch", "days": [week[0], week[0]]})) == [DAY]
    assert parse_watch(json.dumps({"type": "watch", "days": ["+02026-06-01"]})) == (
        "days must be YYYY-MM-DD"
    )
    assert parse_watch(json.dumps({"type": "watch", "days": []})) == []


@pytest.mark.asyncio
async def test_an_account_signed_out_everywhere_is_closed_at_once(as_reception, reception):
    comm = await watching(as_reception, DAY)
    await sync_to_async(Session.objects.all().delete)()
    await sync_to_async(sessions.tell_sockets)(reception.pk)
    assert (await comm.receive_output(timeout=3))["type"] == "websocket.close"


@pytest.mark.asyncio
async def test_a_deactivated_account_hears_nothing_more(
    as_reception, reception, client_user, filou, consultation
):
    comm = await watching(as_reception, DAY)
    reception.is_active = False
    await sync_to_async(reception.save)(update_fields=["is_active"])
    await sync_to_async(camille_books)(client_user, filou, consultation)
    output = await comm.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": 4403}


def test_a_booking_succeeds_and_is_logged_while_redis_is_down(
    settings, client_user, filou, consultation, caplog
):
    # A Redis nobody listens on: connections are refused at once.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": "redis://127.0.0.1:9/0", "socket_connect_timeout": 0.3}],
                "prefix": "agenda-outage",
            },
        }
    }
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="booking.events"):
        appointment = camille_books(client_user, filou, consultation)
    assert time.monotonic() - started < 3
    assert Appointment.objects.filter(pk=appointment.pk, status="booked").exists()
    assert "Could not announce 1 agenda change" in caplog.text


# --- two receptionists on the same appointment ---------------------------------------------------


def test_the_second_receptionist_to_cancel_is_told_and_nothing_changes(
    as_reception, as_manager, client_user, filou, consultation
):
    appointment = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=consultation.practitioners.first(),
        starts_at=at(DAY, 9),
    )
    url = reverse("booking:staff_cancel", args=[appointment.pk])
    first = as_reception.post(url, {"reason": "Le client a appelé"}, follow=True)
    assert "The appointment is cancelled" in first.content.decode()
    appointment.refresh_from_db()
    version = appointment.version
    second = as_manager.post(url, {"reason": "Doublon"}, follow=True)
    assert "This appointment is already cancelled or over." in second.content.decode()
    appointment.refresh_from_db()
    assert (appointment.version, appointment.cancel_reason) == (version, "Le client a appelé")


def test_a_move_after_a_colleague_cancelled_is_refused_with_a_clear_message(
    as_reception, reception, client_user, filou, consultation
):
    appointment = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=consultation.practitioners.first(),
        starts_at=at(DAY, 9),
    )
    services.cancel(appointment, by_user=reception, by_clinic=True, reason="Appel", now=NOW)
    appointment.refresh_from_db()
    version = appointment.version
    response = as_reception.post(
        reverse("booking:staff_move", args=[appointment.pk]),
        {"start": str(int(at(DAY, 11).timestamp()))},
        follow=True,
    )
    assert "This appointment can no longer be moved." in response.content.decode()
    appointment.refresh_from_db()
    assert (appointment.version, appointment.starts_at) == (version, at(DAY, 9))


def test_a_reload_asked_by_a_notice_does_not_keep_an_unattended_session_signed_in(
    as_reception, settings
):
    # Any signed-in page ("/" is public now): the header is what counts (the agenda's grid
    # sends it on a reload).
    url = reverse("portal:security")
    background = {"HX-Request": "true", sessions.BACKGROUND_HEADER: "1"}
    # From the sign-in on (the fixture's, on the wall clock).
    with time_machine.travel(timezone.now(), tick=False) as clock:
        clock.shift(sessions.WRITE_EVERY * 2)
        assert as_reception.get(url).status_code == 200  # the receptionist's last click
        seen = as_reception.session[sessions.SEEN]
        assert seen == int(time.time())
        clock.shift(sessions.WRITE_EVERY * 2)
        assert as_reception.get(url, headers=background).status_code == 200
        assert as_reception.session[sessions.SEEN] == seen  # not counted as activity
        clock.shift(settings.ACCUEIL_SESSION_IDLE_STAFF)
        ended = as_reception.get(url, headers=background)
    # Signed out: htmx is told to take the whole page to the sign-in form.
    assert reverse("account_login") in ended.headers.get("HX-Redirect", "")


@pytest.mark.asyncio
async def test_two_receptionists_move_the_same_appointment_the_second_is_told(
    as_manager, reception, manager, client_user, filou, consultation
):
    appointment = await sync_to_async(camille_books)(client_user, filou, consultation)
    shown = appointment.version  # both desks' pages show this version
    # The second desk's grid is open on that day.
    comm = await watching(as_manager, DAY)
    await sync_to_async(services.move)(
        appointment,
        starts_at=at(DAY, 10),
        by_user=reception,
        by_clinic=True,
        version=shown,
        now=NOW,
    )
    # The loser's grid is told first, and reloads: it shows 10:00 before they even click.
    assert await comm.receive_json_from(timeout=1) == {"type": "changed", "day": DAY.isoformat()}
    with pytest.raises(services.Stale, match="changed meanwhile") as refused:
        await sync_to_async(services.move)(
            appointment,
            starts_at=at(DAY, 11),
            by_user=manager,
            by_clinic=True,
            version=shown,
            now=NOW,
        )
    assert refused.value.appointment.starts_at == at(DAY, 10)  # the state to show instead
    await sync_to_async(appointment.refresh_from_db)()
    assert (appointment.starts_at, appointment.version) == (at(DAY, 10), shown + 1)
    assert await comm.receive_nothing(timeout=0.3)  # nothing changed, nothing announced
    await comm.disconnect()


def test_a_cancel_from_a_page_older_than_a_move_is_refused(
    reception, manager, client_user, filou, consultation
):
    appointment = camille_books(client_user, filou, consultation)
    shown = appointment.version
    services.move(appointment, starts_at=at(DAY, 10), by_user=reception, by_clinic=True, now=NOW)
    with pytest.raises(services.Stale, match="changed meanwhile"):
        services.cancel(
            appointment, by_user=manager, by_clinic=True, reason="Doublon", version=shown, now=NOW
        )
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    # With the version the page now shows, the cancel goes through.
    services.cancel(
        appointment,
        by_user=manager,
        by_clinic=True,
        reason="Doublon",
        version=appointment.version,
        now=NOW,
    )


def test_the_same_move_posted_twice_is_still_unchanged_not_stale(
    reception, client_user, filou, consultation
):
    appointment = camille_books(client_user, filou, consultation)
    shown = appointment.version
    move = dict(starts_at=at(DAY, 10), by_user=reception, by_clinic=True, version=shown, now=NOW)
    services.move(appointment, **move)
    with pytest.raises(services.Unchanged):
        services.move(appointment, **move)


@pytest.mark.usefixtures("frozen")
def test_two_desks_confirm_moves_of_the_same_appointment_the_second_is_told(
    as_reception, as_manager, client_user, filou, consultation
):
    appointment = camille_books(client_user, filou, consultation)
    url = reverse("booking:staff_move", args=[appointment.pk])
    stamp = {hour: str(int(at(DAY, hour).timestamp())) for hour in (10, 11)}
    # Both desks open the confirm page: it carries the version it shows.
    for http, hour in ((as_reception, 10), (as_manager, 11)):
        page = http.get(url, {"start": stamp[hour]}).content.decode()
        assert f'name="version" value="{appointment.version}"' in page
    first = as_reception.post(url, {"start": stamp[10], "version": appointment.version})
    assert first.status_code == 302
    second = as_manager.post(url, {"start": stamp[11], "version": appointment.version}, follow=True)
    page = second.content.decode()
    assert "This appointment changed meanwhile: here is its current state." in page
    assert second.redirect_chain[-1][0] == reverse(
        "booking:staff_appointment", args=[appointment.pk]
    )
    appointment.refresh_from_db()
    assert appointment.starts_at == at(DAY, 10)  # the first desk's move stands


@pytest.mark.usefixtures("frozen")
def test_a_cancel_from_a_page_shown_before_a_colleague_moved_it_is_refused(
    as_reception, as_manager, client_user, filou, consultation
):
    appointment = camille_books(client_user, filou, consultation)
    shown = as_manager.get(reverse("booking:staff_appointment", args=[appointment.pk]))
    assert f'name="version" value="{appointment.version}"' in shown.content.decode()
    as_reception.post(
        reverse("booking:staff_move", args=[appointment.pk]),
        {"start": str(int(at(DAY, 10).timestamp())), "version": appointment.version},
    )
    refused = as_manager.post(
        reverse("booking:staff_cancel", args=[appointment.pk]),
        {"reason": "Doublon", "version": appointment.version},
        headers={"accept-language": "fr"},
        follow=True,
    )
    assert "Ce rendez-vous a changé entre-temps : voici son état actuel." in (
        refused.content.decode()
    )
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


def test_removing_a_closure_on_the_hours_page_tells_the_days_it_covered(as_manager):
    closure = Closure.objects.create(start=DAY, end=OTHER_DAY, label="Inventaire")
    with mock.patch("booking.events._announce") as announce:
        response = as_manager.post(
            reverse("booking:hours"), {"kind": "closure", "delete": closure.pk}
        )
    assert response.status_code == 302
    assert not Closure.objects.exists()
    (sent,), _ = announce.call_args
    assert [group for group, _event in sent] == [
        f"agenda.day.{DAY.isoformat()}",
        f"agenda.day.{OTHER_DAY.isoformat()}",
    ]
