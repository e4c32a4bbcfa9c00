"""Reception's day: arrived, in consultation, attended or no-show, and the waiting room."""

import asyncio
import threading
from datetime import UTC, timedelta
from html import unescape

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import translation

from booking import events, services
from booking.models import Appointment
from tests import factories
from tests.booking.conftest import DAY
from tests.booking.factories import at, make_appointment

# The whole module happens on DAY (a Monday in June, Paris), at 09:05; Filou is booked at 09:00.
MORNING = at(DAY, 9, 5)
STALE = "This appointment changed meanwhile: here is its current state."


@pytest.fixture(autouse=True)
def _on_the_day():
    with time_machine.travel(MORNING, tick=False):
        yield


def mark(http, appointment: Appointment, what: str, *, version: int | None = None, htmx=True):
    """POST a mark as the page would, with the version it showed (the current one by default)."""
    data = {"mark": what, "version": appointment.version if version is None else version}
    headers = {"HX-Request": "true"} if htmx else {}
    return http.post(reverse("booking:staff_mark", args=[appointment.pk]), data, headers=headers)


def offered(html: str) -> set[str]:
    return {m for m in services.Mark.ALL if f'name="mark" value="{m}"' in html}


def arrive(appointment: Appointment, when) -> Appointment:
    return services.mark_arrived(appointment, by_user=None, version=appointment.version, now=when)


# --- the rules -----------------------------------------------------------------------------------


def test_it_marks_arrival_then_consultation_then_attended_and_the_stage_follows(reception, booked):
    assert booked.stage == "booked"
    arrived = services.mark_arrived(booked, by_user=reception, version=1, now=MORNING)
    assert (arrived.stage, arrived.arrived_at, arrived.version) == ("arrived", MORNING, 2)
    later = MORNING + timedelta(minutes=12)
    taken_in = services.mark_in_consultation(booked, by_user=reception, version=2, now=later)
    assert (taken_in.stage, taken_in.consultation_at, taken_in.version) == (
        "consultation",
        later,
        3,
    )
    done = services.mark_outcome(
        booked, status="attended", by_user=reception, version=3, now=later + timedelta(minutes=20)
    )
    booked.refresh_from_db()
    assert (done.stage, booked.status, booked.version) == ("attended", "attended", 4)
    assert booked.arrived_at == MORNING
    assert booked.consultation_at == later


def test_a_confirmed_appointment_shows_as_confirmed_until_the_client_arrives(reception, booked):
    booked.confirmed_at = MORNING - timedelta(days=1)
    assert booked.stage == "confirmed"
    booked.arrived_at = MORNING
    assert booked.stage == "arrived"


def test_the_vet_may_take_someone_in_whose_arrival_was_not_marked(reception, booked):
    taken_in = services.mark_in_consultation(booked, by_user=reception, version=1, now=MORNING)
    assert taken_in.stage == "consultation"
    assert taken_in.arrived_at is None


def test_stage_labels_read_in_french_and_english(booked):
    labels = {
        "booked": ("Booked", "Réservé"),
        "confirmed": ("Confirmed", "Confirmé"),
        "arrived": ("Arrived", "Arrivé"),
        "consultation": ("In consultation", "En consultation"),
        "attended": ("Attended", "Venu"),
        "no_show": ("No-show", "Absent"),
        "cancelled": ("Cancelled", "Annulé"),
    }
    assert set(labels) == set(Appointment.Stage.values)
    for stage, (english, french) in labels.items():
        with translation.override("en"):
            assert str(Appointment.Stage(stage).label) == english
        with translation.override("fr"):
            assert str(Appointment.Stage(stage).label) == french
    with translation.override("fr"):
        booked.arrived_at = MORNING
        assert booked.stage_label == "Arrivé"


def test_arrival_and_consultation_are_marked_only_on_the_appointments_day(reception, booked):
    tomorrow = make_appointment(
        client=booked.client,
        patient=booked.patient,
        service=booked.service,
        practitioner=booked.practitioner,
        starts_at=at(DAY + timedelta(days=1), 9),
    )
    yesterday = make_appointment(
        client=booked.client,
        patient=booked.patient,
        service=booked.service,
        practitioner=booked.practitioner,
        starts_at=at(DAY - timedelta(days=1), 9),
    )
    for appointment in (tomorrow, yesterday):
        for service in (services.mark_arrived, services.mark_in_consultation):
            with pytest.raises(services.BookingError, match="only on the day of the appointment"):
                service(appointment, by_user=reception, version=1, now=MORNING)
    assert not Appointment.objects.exclude(arrived_at=None).exists()
    assert not Appointment.objects.exclude(consultation_at=None).exists()
    # Yesterday's may still be marked attended (forgotten at the desk), tomorrow's may not.
    services.mark_outcome(yesterday, status="attended", by_user=reception, version=1, now=MORNING)
    with pytest.raises(services.BookingError, match="only from its day on"):
        services.mark_outcome(tomorrow, status="attended", by_user=reception, now=MORNING)


def test_the_day_is_the_clinics_not_utcs(reception, booked):
    # 00:30 in Paris on DAY is still the day before in UTC: an early arrival counts for DAY.
    early = at(DAY, 0, 30)
    assert early.astimezone(UTC).date() == DAY - timedelta(days=1)
    arrived = services.mark_arrived(booked, by_user=reception, version=1, now=early)
    assert arrived.arrived_at == early


def test_a_cancelled_appointment_takes_no_mark(reception, booked, notify):
    services.cancel(booked, by_user=reception, by_clinic=True, now=MORNING)
    booked.refresh_from_db()
    for what in services.Mark.ALL:
        with pytest.raises(services.AlreadyDone, match=r"This appointment was cancelled\."):
            services.apply_mark(
                booked, mark=what, by_user=reception, version=booked.version, now=MORNING
            )
    booked.refresh_from_db()
    assert (booked.arrived_at, booked.consultation_at, booked.status) == (None, None, "cancelled")


def test_an_arrival_marked_by_mistake_is_undone_until_the_consultation_starts(reception, booked):
    arrive(booked, MORNING)
    undone = services.undo_arrival(booked, by_user=reception, version=2, now=MORNING)
    assert (undone.arrived_at, undone.stage, undone.version) == (None, "booked", 3)
    arrive(undone, MORNING)
    services.mark_in_consultation(booked, by_user=reception, version=4, now=MORNING)
    with pytest.raises(services.AlreadyDone, match="can no longer be undone"):
        services.undo_arrival(booked, by_user=reception, version=5, now=MORNING)
    booked.refresh_from_db()
    assert booked.arrived_at == MORNING
    assert booked.version == 5


def test_a_client_who_arrived_cannot_be_marked_no_show(reception, booked):
    arrive(booked, MORNING)
    with pytest.raises(services.AlreadyDone, match="cannot be marked no-show"):
        services.mark_outcome(booked, status="no_show", by_user=reception, version=2, now=MORNING)
    booked.refresh_from_db()
    assert booked.status == "booked"


def test_marks_are_not_made_twice(reception, booked):
    arrive(booked, MORNING)
    with pytest.raises(services.AlreadyDone, match="already marked"):
        services.mark_arrived(booked, by_user=reception, now=MORNING)
    services.mark_outcome(booked, status="attended", by_user=reception, now=MORNING)
    with pytest.raises(services.AlreadyDone, match="undo it first"):
        services.mark_in_consultation(booked, by_user=reception, now=MORNING)


def test_the_grid_is_told_after_commit(
    reception, booked, django_capture_on_commit_callbacks, monkeypatch
):
    # A layer of the test's own: what matters here is what is sent and when, whatever carries
    # it (Redis has its own tests in test_agenda_live.py).
    layer = InMemoryChannelLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.agenda_group(DAY), channel)

    async def next_message(timeout: float):
        return await asyncio.wait_for(layer.receive(channel), timeout)

    with django_capture_on_commit_callbacks(execute=False) as pending:
        arrive(booked, MORNING)
    with pytest.raises(TimeoutError):  # nothing before the commit
        async_to_sync(next_message)(0.05)
    for callback in pending:
        callback()
    message = async_to_sync(next_message)(1)
    assert message == {"type": "agenda.changed", "day": "2026-06-01", "site_id": booked.site_id}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_desks_marking_the_same_arrival_at_once_write_it_once(
    reception, booked, clearable_access_log
):
    """Desk A holds the row; desk B's mark waits on the lock, then reads A's mark and is told."""
    outcome: list[object] = []

    def desk_b() -> None:
        try:
            outcome.append(services.mark_arrived(booked, by_user=reception, version=1, now=MORNING))
        except Exception as failed:  # a refusal, or whatever went wrong, for the asserts below
            outcome.append(failed)
        finally:
            connections.close_all()

    with transaction.atomic():
        Appointment.objects.select_for_update().get(pk=booked.pk)
        thread = threading.Thread(target=desk_b)
        thread.start()
        # PostgreSQL says when B waits on our lock (no event to await from another connection).
        with connection.cursor() as cursor:
            for _attempt in range(250):
                # Inside a transaction the statistics are a snapshot: take a new one each time.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
                if cursor.fetchone()[0]:
                    break
                threading.Event().wait(0.02)
            else:
                pytest.fail(f"desk B never waited on the row's lock: {outcome}")
        services.mark_arrived(booked, by_user=reception, version=1, now=MORNING)
    thread.join(10)

    assert len(outcome) == 1
    assert isinstance(outcome[0], services.Stale)
    booked.refresh_from_db()
    assert (booked.arrived_at, booked.version) == (MORNING, 2)


# --- the endpoint --------------------------------------------------------------------------------


def test_reception_marks_arrival_from_the_page_and_gets_the_fresh_actions(as_reception, booked):
    page = as_reception.get(reverse("booking:staff_appointment", args=[booked.pk])).content
    assert offered(page.decode()) == {"arrived", "consultation", "attended", "no_show"}

    response = mark(as_reception, booked, "arrived")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<div id="status-actions-{booked.pk}"')
    assert "Arrived" in html
    assert "arrived at 09:05" in html
    assert offered(html) == {"consultation", "attended", "undo_arrived"}
    assert 'name="version" value="2"' in html
    booked.refresh_from_db()
    assert booked.arrived_at == MORNING


def test_without_htmx_a_mark_returns_to_the_appointment_page(as_reception, booked):
    response = mark(as_reception, booked, "consultation", htmx=False)
    assert response.status_code == 302
    assert response.url == reverse("booking:staff_appointment", args=[booked.pk])
    page = as_reception.get(response.url).content.decode()
    assert "In consultation" in page
    assert "in consultation since 09:05" in page
    assert offered(page) == {"attended"}


def test_a_stale_page_changes_nothing_and_shows_the_current_state(as_reception, reception, booked):
    arrive(booked, MORNING - timedelta(minutes=3))  # a colleague, at the other desk
    response = mark(as_reception, booked, "arrived", version=1)
    html = response.content.decode()
    assert STALE in html
    assert "arrived at 09:02" in html
    assert 'name="version" value="2"' in html
    booked.refresh_from_db()
    assert (booked.arrived_at, booked.version) == (MORNING - timedelta(minutes=3), 2)


def test_a_stale_grid_acting_on_a_cancelled_appointment_is_told_so(as_reception, booked, notify):
    services.cancel(booked, by_user=None, by_clinic=False, now=MORNING - timedelta(days=3))
    response = mark(as_reception, booked, "arrived", version=1)
    html = response.content.decode()
    assert STALE in html
    assert "Cancelled" in html
    assert offered(html) == set()
    booked.refresh_from_db()
    assert booked.arrived_at is None
    # Without htmx: the same words, on the appointment's page.
    page = as_reception.get(mark(as_reception, booked, "arrived", version=1, htmx=False).url)
    assert STALE in page.content.decode()


def test_a_stale_page_on_a_moved_appointment_changes_nothing(as_reception, booked, notify):
    services.move(booked, starts_at=at(DAY, 10), by_user=None, by_clinic=True, now=MORNING)
    response = mark(as_reception, booked, "no_show", version=1)
    assert STALE in response.content.decode()
    booked.refresh_from_db()
    assert booked.status == "booked"
    assert booked.version == 2


def test_bad_input_is_refused_with_a_clear_message(as_reception, booked):
    url = reverse("booking:staff_mark", args=[booked.pk])
    for data in (
        {"mark": "teleported", "version": 1},
        {"mark": "arrived", "version": "soon"},
        {"mark": "arrived"},
        {},
    ):
        response = as_reception.post(url, data, headers={"HX-Request": "true"})
        assert "This mark is not possible: nothing was changed." in response.content.decode()
    assert as_reception.post(reverse("booking:staff_mark", args=[99999]), {}).status_code == 404
    assert as_reception.get(url).status_code == 405
    booked.refresh_from_db()
    assert (booked.arrived_at, booked.version) == (None, 1)


def test_a_refused_mark_is_shown_in_the_fragment_and_as_a_message(as_reception, booked):
    arrive(booked, MORNING)
    refused = mark(as_reception, booked, "no_show", version=2)
    assert "cannot be marked no-show" in refused.content.decode()
    followed = as_reception.post(
        reverse("booking:staff_mark", args=[booked.pk]),
        {"mark": "no_show", "version": 2},
        follow=True,
    )
    assert "cannot be marked no-show" in followed.content.decode()
    booked.refresh_from_db()
    assert booked.status == "booked"


@pytest.mark.parametrize("who", ["as_client", "as_other_client"])
def test_a_client_posting_a_mark_is_refused(who, request, booked):
    http = request.getfixturevalue(who)
    response = mark(http, booked, "arrived")
    assert response.status_code == 403
    booked.refresh_from_db()
    assert (booked.arrived_at, booked.version) == (None, 1)


def test_an_anonymous_post_goes_to_the_sign_in(client, booked):
    response = mark(client, booked, "arrived", htmx=False)
    assert response.status_code == 302
    assert "login" in response.url
    booked.refresh_from_db()
    assert booked.arrived_at is None


def test_a_vet_without_the_appointments_duty_sees_the_stage_but_no_button(
    vet, as_vet, booked, monkeypatch
):
    monkeypatch.setattr("portal.access.duties_of", lambda user, fresh=False: frozenset())
    page = as_vet.get(reverse("booking:staff_appointment", args=[booked.pk])).content.decode()
    assert 'data-testid="status"' in page
    assert offered(page) == set()
    assert mark(as_vet, booked, "arrived").status_code == 403


def test_the_buttons_read_in_french(reception, booked):
    http = factories.verified_http_client(reception)
    http.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    url = reverse("booking:staff_appointment", args=[booked.pk])
    page = http.get(url, headers={"accept-language": "fr"}).content.decode()
    assert "Marquer arrivé" in page
    assert "Marquer en consultation" in page
    assert "Réservé" in page
    arrived = mark(http, booked, "arrived").content.decode()
    assert "Arrivé" in arrived
    assert "arrivé à 09:05" in arrived
    assert "Annuler l'arrivée" in unescape(arrived)
    stale = mark(http, booked, "arrived", version=1).content.decode()
    assert "Ce rendez-vous a changé entre-temps : voici son état actuel." in stale


# --- the waiting room ----------------------------------------------------------------------------


@pytest.fixture
def mornings_patients(client_user, other_client_user, consultation, dubois, fontaine, booked):
    """Filou (09:00, Dr Dubois), Pistache (09:00, Dr Fontaine), Mistigri (09:30, Dr Dubois)
    and Rex tomorrow."""
    pistache = factories.make_patient(client_user, name="Pistache")
    mistigri = factories.make_patient(other_client_user, name="Mistigri", species="cat")
    rex = factories.make_patient(other_client_user, name="Rex")
    return {
        "filou": booked,
        "pistache": make_appointment(
            client=client_user.client,
            patient=pistache,
            service=consultation,
            practitioner=fontaine,
            starts_at=at(DAY, 9),
        ),
        "mistigri": make_appointment(
            client=other_client_user.client,
            patient=mistigri,
            service=consultation,
            practitioner=dubois,
            starts_at=at(DAY, 9, 30),
        ),
        "rex": make_appointment(
            client=other_client_user.client,
            patient=rex,
            service=consultation,
            practitioner=dubois,
            starts_at=at(DAY + timedelta(days=1), 9),
        ),
    }


def test_the_waiting_room_lists_who_arrived_first_come_first_in_one_query(
    mornings_patients, django_assert_num_queries
):
    appointments = mornings_patients
    arrive(appointments["mistigri"], at(DAY, 8, 50))
    arrive(appointments["filou"], at(DAY, 8, 55))
    arrive(appointments["pistache"], at(DAY, 8, 58))
    services.mark_in_consultation(
        appointments["pistache"], by_user=None, version=2, now=at(DAY, 9, 1)
    )
    # Rex came a day early: he waits in no room of DAY.
    Appointment.objects.filter(pk=appointments["rex"].pk).update(arrived_at=at(DAY, 8, 45))

    with django_assert_num_queries(1):
        waiting = services.waiting_room(DAY, at(DAY, 0).tzinfo, now=MORNING)
        names = [w.appointment.patient.name for w in waiting]
        vets = [w.appointment.practitioner.name for w in waiting]

    assert names == ["Mistigri", "Filou"]
    assert vets == ["Dr Dubois", "Dr Dubois"]
    assert [w.minutes for w in waiting] == [15, 10]
    assert [w.since for w in waiting] == [at(DAY, 8, 50), at(DAY, 8, 55)]


def test_the_waiting_room_is_on_the_staff_dashboard_in_french_and_english(
    reception, mornings_patients
):
    arrive(mornings_patients["filou"], at(DAY, 8, 53))
    http = factories.verified_http_client(reception)
    english = unescape(http.get("/").content.decode())
    assert "Waiting room" in english
    assert "waiting since 08:53 (12 min)" in english
    assert "Filou" in english
    http.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    french = unescape(http.get("/", headers={"accept-language": "fr"}).content.decode())
    assert "Salle d'attente" in french
    assert "en attente depuis 08:53 (12\u00a0min)" in french
    # Taken in: out of the waiting room.
    services.mark_in_consultation(mornings_patients["filou"], by_user=None, version=2, now=MORNING)
    emptied = unescape(http.get("/", headers={"accept-language": "fr"}).content.decode())
    assert "Personne n'attend." in emptied
    assert "Filou" not in emptied.split("Salle d'attente")[1].split("</article>")[0]


def test_the_dashboard_stays_bounded_with_a_full_waiting_room(
    reception, mornings_patients, django_assert_max_num_queries
):
    for key in ("filou", "pistache", "mistigri"):
        arrive(mornings_patients[key], at(DAY, 8, 50))
    http = factories.verified_http_client(reception)
    http.get("/")  # warm the caches (clinic, duties)
    with django_assert_max_num_queries(30) as captured:
        http.get("/")
    waiting_queries = [
        q for q in captured.captured_queries if '"arrived_at" IS NOT NULL' in q["sql"]
    ]
    assert len(waiting_queries) == 1
