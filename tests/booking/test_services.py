"""Booking, moving, cancelling and confirming through booking.services."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from booking import services
from booking.models import Appointment, Closure, TimeOff
from booking.notices import build_notice
from portal.lib.links import read_token
from tests import factories
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at, make_appointment, make_practitioner, make_service
from tests.booking.factories import book as factories_book

PARIS = ZoneInfo("Europe/Paris")  # Friday 29 May 2026, 10:00 in Paris


def book(client_user, patient, service, starts_at, **kwargs):
    kwargs.setdefault("now", NOW)
    return factories_book(client_user, patient, service, starts_at, **kwargs)


def test_it_books_first_available_with_the_least_loaded_practitioner(
    client_user, filou, consultation, dubois, fontaine, notify, django_capture_on_commit_callbacks
):
    make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 16),
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = book(client_user, filou, consultation, at(DAY, 9))
    appointment = result.appointment
    assert appointment.practitioner == fontaine  # Dubois already has one that day
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=30)
    assert appointment.version == 1
    assert appointment.status == "booked"
    notice = notify.booked.call_args.args[0]
    assert notice.appointment_id == appointment.pk
    assert notice.patient_name == "Filou"
    assert notice.practitioner_name == "Dr Fontaine"


def test_it_refuses_a_taken_slot_with_the_nearest_free_ones(
    client_user, other_client_user, filou, strangers_cat, consultation, dubois, notify
):
    book(client_user, filou, consultation, at(DAY, 9), practitioner=dubois)
    with pytest.raises(services.SlotTaken) as caught:
        book(
            other_client_user,
            strangers_cat,
            consultation,
            at(DAY, 9),
            practitioner=dubois,
            booked_by=other_client_user,
        )
    starts = [slot.start for slot in caught.value.alternatives]
    assert starts
    assert at(DAY, 9) not in starts
    assert min(abs(s - at(DAY, 9)) for s in starts) <= timedelta(minutes=30)
    assert Appointment.objects.count() == 1


def test_it_refuses_a_partially_overlapping_request(
    client_user, other_client_user, filou, strangers_cat, consultation, dubois, notify
):
    book(client_user, filou, consultation, at(DAY, 9), practitioner=dubois)
    with pytest.raises(services.SlotTaken):
        book(
            other_client_user,
            strangers_cat,
            consultation,
            at(DAY, 9, 15),
            practitioner=dubois,
            booked_by=other_client_user,
        )
    assert Appointment.objects.count() == 1


def test_it_keeps_the_buffer_of_the_booked_service_free(client_user, filou, site, dubois, notify):
    surgery = make_service(site, [dubois], slug="surgery", duration=30, buffer=15)
    book(client_user, filou, surgery, at(DAY, 9))
    with pytest.raises(services.SlotTaken):
        book(client_user, filou, surgery, at(DAY, 9, 30))
    assert book(client_user, filou, surgery, at(DAY, 9, 45)).appointment.pk


@pytest.mark.parametrize(
    ("starts_at", "message"),
    [
        (NOW - timedelta(hours=1), "already passed"),
        (at(DAY, 7), "not open"),
        (at(DAY, 12, 45), "not open"),
        (NOW + timedelta(minutes=60), "too soon"),
        (at(DAY + timedelta(days=70), 9), "too far ahead"),
        (at(DAY, 9, 10), "not open"),  # not on the slot step
    ],
)
def test_it_refuses_slots_that_were_never_bookable(
    client_user, filou, consultation, notify, starts_at, message
):
    with pytest.raises(services.BookingError, match=message):
        book(client_user, filou, consultation, starts_at)
    assert not Appointment.objects.exists()


def test_it_refuses_a_closure_and_time_off(client_user, filou, consultation, dubois, fontaine):
    Closure.objects.create(start=DAY, end=DAY, label="Holiday")
    with pytest.raises(services.BookingError, match="not open"):
        book(client_user, filou, consultation, at(DAY, 9))
    TimeOff.objects.create(
        practitioner=dubois,
        start=at(DAY, 0) + timedelta(days=1),
        end=at(DAY, 23) + timedelta(days=1),
    )
    tuesday = DAY + timedelta(days=1)
    assert book(client_user, filou, consultation, at(tuesday, 9)).appointment.practitioner == (
        fontaine
    )
    with pytest.raises(services.BookingError):
        book(client_user, filou, consultation, at(tuesday, 9, 30), practitioner=dubois)
    assert Appointment.objects.count() == 1


def test_it_refuses_online_booking_of_a_phone_only_service_or_range(
    client_user, filou, site, reception
):
    evening = make_practitioner(
        site,
        name="Dr Soir",
        hours=[
            (__import__("datetime").time(9), __import__("datetime").time(10), True),
            (__import__("datetime").time(18), __import__("datetime").time(19), False),
        ],
    )
    surgery = make_service(site, [evening], slug="surgery-consult", online=False)
    vaccination = make_service(site, [evening], slug="vaccination")
    with pytest.raises(services.BookingError, match="cannot be booked online"):
        book(client_user, filou, surgery, at(DAY, 9))
    with pytest.raises(services.BookingError, match="not open"):
        book(client_user, filou, vaccination, at(DAY, 18))
    # Staff on the phone may use both.
    assert book(client_user, filou, surgery, at(DAY, 9), online=False, booked_by=reception)
    assert book(client_user, filou, vaccination, at(DAY, 18), online=False, booked_by=reception)


def test_it_refuses_another_clients_animal(client_user, strangers_cat, consultation):
    with pytest.raises(services.BookingError, match="not linked"):
        book(client_user, strangers_cat, consultation, at(DAY, 9))
    assert not Appointment.objects.exists()


def test_it_refuses_a_service_for_another_species(client_user, filou, site, dubois):
    cats = make_service(site, [dubois], slug="cat-check", species="cat")
    with pytest.raises(services.BookingError, match="not offered"):
        book(client_user, filou, cats, at(DAY, 9))


def test_it_caps_upcoming_appointments_per_client(client_user, filou, consultation, rules):
    rules.max_upcoming = 2
    rules.save()
    book(client_user, filou, consultation, at(DAY, 9))
    book(client_user, filou, consultation, at(DAY, 10))
    with pytest.raises(services.BookingError, match="2 upcoming"):
        book(client_user, filou, consultation, at(DAY, 11))
    assert Appointment.objects.count() == 2


def test_a_double_submit_creates_one_appointment(client_user, filou, consultation):
    first = book(client_user, filou, consultation, at(DAY, 9), request_key="k1")
    again = book(client_user, filou, consultation, at(DAY, 9), request_key="k1")
    assert again.appointment.pk == first.appointment.pk
    assert not again.created
    assert Appointment.objects.count() == 1


def test_it_moves_and_bumps_the_version(
    client_user, filou, consultation, dubois, notify, django_capture_on_commit_callbacks
):
    appointment = book(client_user, filou, consultation, at(DAY, 9), practitioner=dubois)
    appointment = appointment.appointment
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.move(
            appointment, starts_at=at(DAY, 9, 15), by_user=client_user, by_clinic=False, now=NOW
        )
    assert moved.starts_at == at(DAY, 9, 15)
    assert moved.version == 2
    assert moved.practitioner == dubois  # the same vet when still free
    assert notify.moved.call_args.kwargs == {"previous_version": 1}
    assert not services.still_valid(appointment.pk, 1)
    assert services.still_valid(appointment.pk, 2)


def test_a_client_cannot_move_or_cancel_after_the_cut_off(client_user, filou, consultation):
    appointment = book(client_user, filou, consultation, at(DAY, 9)).appointment
    late = at(DAY, 8) - timedelta(hours=2)
    with pytest.raises(services.BookingError, match="too late"):
        services.cancel(appointment, by_user=client_user, by_clinic=False, now=late)
    with pytest.raises(services.BookingError, match="too late"):
        services.move(
            appointment, starts_at=at(DAY, 10), by_user=client_user, by_clinic=False, now=late
        )
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert appointment.version == 1


def test_it_cancels_once(
    client_user, filou, consultation, reception, notify, django_capture_on_commit_callbacks
):
    appointment = book(client_user, filou, consultation, at(DAY, 9)).appointment
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(appointment, by_user=reception, by_clinic=True, reason="Vet ill", now=NOW)
    assert notify.cancelled.call_args.kwargs == {"by_clinic": True}
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert appointment.version == 2
    with pytest.raises(services.AlreadyDone):
        services.cancel(appointment, by_user=reception, by_clinic=True, now=NOW)
    # The freed slot can be booked again.
    assert book(client_user, filou, consultation, at(DAY, 9))


def test_it_marks_attended_only_from_the_day_on(client_user, filou, consultation, vet):
    appointment = book(client_user, filou, consultation, at(DAY, 9)).appointment
    with pytest.raises(services.BookingError, match="from its day"):
        services.mark_outcome(appointment, status="attended", by_user=vet, now=NOW)
    marked = services.mark_outcome(appointment, status="no_show", by_user=vet, now=at(DAY, 11))
    assert marked.status == "no_show"


def test_a_second_mark_over_the_first_is_refused_until_undone(
    client_user, filou, consultation, vet
):
    # Two colleagues on the same row: one marks "no-show", the other's "attended" arrives after.
    appointment = book(client_user, filou, consultation, at(DAY, 9)).appointment
    services.mark_outcome(appointment, status="no_show", by_user=vet, now=at(DAY, 11))
    with pytest.raises(services.AlreadyDone, match="already marked"):
        services.mark_outcome(appointment, status="attended", by_user=vet, now=at(DAY, 11))
    appointment.refresh_from_db()
    assert appointment.status == "no_show"
    services.mark_outcome(appointment, status="booked", by_user=vet, now=at(DAY, 11))
    marked = services.mark_outcome(appointment, status="attended", by_user=vet, now=at(DAY, 11))
    assert marked.status == "attended"


def test_the_notice_links_are_signed_and_stop_at_the_cut_off(client_user, filou, consultation):
    appointment = book(client_user, filou, consultation, at(DAY, 9)).appointment
    notice = build_notice(appointment, now=NOW)
    token = notice.cancel_url.rstrip("/").rsplit("/", 1)[-1]
    assert notice.cancel_url.startswith("http")
    assert read_token("appointment", token, now=NOW) == {
        "a": appointment.pk,
        "v": 1,
        "act": "cancel",
    }
    late = build_notice(appointment, now=at(DAY, 7))
    assert late.cancel_url == ""
    assert late.move_url == ""
    assert late.confirm_url
    assert "DTSTART:20260601T070000Z\r\n" in notice.ics


def test_the_opening_provider_answers_from_weekly_hours(consultation):
    assert services.next_opening(at(DAY, 10)) == at(DAY, 10)
    assert services.next_opening(at(DAY, 12, 30)) == at(DAY, 14)
    Closure.objects.create(start=DAY + timedelta(days=1), end=DAY + timedelta(days=1))
    assert services.next_opening(at(DAY, 20)) == at(DAY + timedelta(days=2), 9)


def test_the_database_refuses_overlaps_on_postgresql(client_user, filou, consultation, dubois):
    if connection.vendor != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL only")
    from django.db import IntegrityError, transaction

    make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        make_appointment(
            client=client_user.client,
            patient=filou,
            service=consultation,
            practitioner=dubois,
            starts_at=at(DAY, 9, 10),
        )


def test_factories_build_a_stranger(other_client_user):
    assert factories.make_patient(other_client_user).clients.get() == other_client_user.client


def test_booking_registers_its_checker_and_opening_hours(client_user, filou, consultation):
    from notifications.contracts import subject_still_valid
    from portal.lib.hours import is_open, next_opening

    appointment = book(client_user, filou, consultation, at(DAY, 9)).appointment
    assert subject_still_valid("appointment", appointment.pk, 1)
    services.cancel(appointment, by_user=client_user, by_clinic=False, now=NOW)
    assert not subject_still_valid("appointment", appointment.pk, 1)
    assert not subject_still_valid("appointment", appointment.pk, 2)  # cancelled
    assert next_opening(at(DAY, 12, 30)) == at(DAY, 14)
    assert is_open(at(DAY, 10)) is True


def test_the_ics_escapes_folds_and_ends_lines_with_crlf():
    from booking import ics

    event = ics.Event(
        uid="a@b",
        start=at(DAY, 9),
        end=at(DAY, 9, 30),
        stamp=NOW,
        summary="Vaccin; rappel, chat\\chien",
        description="Ligne 1\nLigne 2 " + "é" * 80,
    )
    text = ics.calendar([event])
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert "SUMMARY:Vaccin\\; rappel\\, chat\\\\chien\r\n" in text
    assert "DTSTART:20260601T070000Z\r\n" in text
    assert "DTSTAMP:20260529T080000Z\r\n" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    unfolded = text.replace("\r\n ", "")
    assert "DESCRIPTION:Ligne 1\\nLigne 2 " + "é" * 80 in unfolded


def test_it_books_both_passes_of_the_repeated_autumn_hour_as_distinct_instants(
    client_user, filou, site
):
    from datetime import UTC, datetime, time

    night = make_practitioner(site, name="Dr Nuit", hours=[(time(1), time(4), True)])
    service = make_service(site, [night], slug="night", duration=30)
    autumn_now = datetime(2026, 10, 20, 12, tzinfo=UTC)
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, an hour later
    for start in (first, second):
        services.book(
            client=client_user.client,
            patient=filou,
            service=service,
            starts_at=start,
            booked_by=client_user,
            now=autumn_now,
        )
    assert Appointment.objects.filter(service=service).count() == 2
    # On the spring day the wall clock jumps from 02:00 to 03:00: no slot carries a 02:xx
    # label, and 01:00-04:00 is two real hours.
    from datetime import date

    from booking import slots as slot_reader
    from booking.models import BookingRules

    spring = slot_reader.free_slots(
        slot_reader.Scope.of(service),
        start_day=date(2026, 3, 29),
        end_day=date(2026, 3, 29),
        tz=PARIS,
        now=datetime(2026, 3, 25, 12, tzinfo=UTC),
        online=True,
        rules=BookingRules.current(),
    )
    labels = [slot.start.astimezone(PARIS).strftime("%H:%M") for slot in spring]
    assert labels[0] == "01:00"
    assert labels[-1] == "03:30"
    assert not [label for label in labels if label.startswith("02:")]
    assert spring[-1].end - spring[0].start == timedelta(hours=2)
