"""The client's messages are planned in the booking's own transaction (issue #18): a process
killed between commit and on_commit loses no confirmation and no reminder."""

import pytest

from booking import services
from notifications.models import Kind, Notification
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at

# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")


def kinds(appointment) -> list[tuple[str, int]]:
    """What is planned to go out (scheduled) about the appointment, by kind and version."""
    rows = Notification.objects.filter(subject_id=appointment.pk, status="scheduled")
    return sorted(set(rows.values_list("kind", "subject_version")))


def test_a_booking_commits_with_its_confirmation_and_reminders_planned(
    client_user, filou, consultation, django_capture_on_commit_callbacks
):
    # execute=False: the after-commit step never runs, as when the process dies right there.
    with django_capture_on_commit_callbacks(execute=False):
        booked = services.book(
            client=client_user.client,
            patient=filou,
            service=consultation,
            starts_at=at(DAY, 9),
            booked_by=client_user,
            now=NOW,
        )
    assert kinds(booked.appointment) == [
        (Kind.APPOINTMENT_CONFIRMED, 1),
        (Kind.APPOINTMENT_REMINDER, 1),
    ]


def test_a_move_and_a_cancellation_commit_with_their_notices(
    client_user, filou, consultation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        appointment = services.book(
            client=client_user.client,
            patient=filou,
            service=consultation,
            starts_at=at(DAY, 9),
            booked_by=client_user,
            now=NOW,
        ).appointment
        services.move(
            appointment, starts_at=at(DAY, 10), by_user=client_user, by_clinic=False, now=NOW
        )
    assert (Kind.APPOINTMENT_MOVED, 2) in kinds(appointment)
    assert (Kind.APPOINTMENT_REMINDER, 2) in kinds(appointment)
    assert (Kind.APPOINTMENT_REMINDER, 1) not in kinds(appointment)  # the old plan is dropped
    with django_capture_on_commit_callbacks(execute=False):
        services.cancel(appointment, by_user=client_user, by_clinic=False, now=NOW)
    cancelled = Notification.objects.filter(
        subject_id=appointment.pk, kind=Kind.APPOINTMENT_CANCELLED
    )
    assert cancelled.exists()
    assert not Notification.objects.filter(
        subject_id=appointment.pk, kind=Kind.APPOINTMENT_REMINDER, status="scheduled"
    ).exists()


def test_a_refused_booking_plans_nothing(client_user, filou, consultation):
    with pytest.raises(services.BookingError):
        services.book(
            client=client_user.client,
            patient=filou,
            service=consultation,
            starts_at=at(DAY, 3),
            booked_by=client_user,
            now=NOW,
        )
    assert not Notification.objects.exists()


def test_a_planning_failure_keeps_the_booking_and_tries_again_after_commit(
    client_user, filou, consultation, django_capture_on_commit_callbacks
):
    from unittest import mock

    from notifications import services as notifications

    real = notifications.appointment_booked
    with (
        mock.patch.object(
            notifications, "appointment_booked", side_effect=[RuntimeError("template bug"), None]
        ) as planned,
        django_capture_on_commit_callbacks(execute=True),
    ):
        booked = services.book(
            client=client_user.client,
            patient=filou,
            service=consultation,
            starts_at=at(DAY, 9),
            booked_by=client_user,
            now=NOW,
        )
    assert booked.appointment.pk
    assert planned.call_count == 2  # in the transaction, then once more after commit
    assert real is not planned
