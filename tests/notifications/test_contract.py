"""The contract with booking: its confirmation, move and cancellation notices are planned inside
booking's own transaction, so a rollback plans nothing and a process killed between commit and
on_commit loses nothing (the periodic sweep, `recover()`, sends what was never enqueued)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from notifications import services
from notifications.models import Channel, Kind, Notification, Status
from tests.notifications.factories import make_notice, with_phone

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 Paris
STARTS = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)  # Friday 15:30 Paris
AFTER_THE_LEASE = NOW + timedelta(seconds=settings.NOTIFICATIONS_SENDING_LEASE_SECONDS + 1)


@pytest.fixture(autouse=True)
def _tuesday_morning():
    """Frozen before any other fixture, so accounts and sessions are made on the same day the
    test runs (a session made at ACCUEIL_TEST_NOW would have expired by then)."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def camille(client_user):
    return with_phone(client_user.client)


class BookingFailed(Exception):
    pass


def notice_calls(camille):
    """(the call booking makes, the kind its client is told at once) for each of the three."""
    first = make_notice(camille, STARTS)
    moved = make_notice(
        camille, STARTS + timedelta(days=1), appointment_id=first.appointment_id, version=2
    )
    return {
        "booked": (lambda: services.appointment_booked(first), Kind.APPOINTMENT_CONFIRMED),
        "moved": (
            lambda: services.appointment_moved(moved, previous_version=1),
            Kind.APPOINTMENT_MOVED,
        ),
        "cancelled": (
            lambda: services.appointment_cancelled(first, by_clinic=False),
            Kind.APPOINTMENT_CANCELLED,
        ),
    }


@pytest.mark.parametrize("call", ["booked", "moved", "cancelled"])
def test_it_plans_nothing_and_enqueues_nothing_when_bookings_transaction_rolls_back(
    camille, call, django_capture_on_commit_callbacks
):
    function, _kind = notice_calls(camille)[call]
    written = []

    def booking_that_fails() -> None:
        with transaction.atomic():
            function()
            written.append(Notification.objects.count())  # in the caller's transaction
            raise BookingFailed

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(BookingFailed),
    ):
        booking_that_fails()
    assert written[0] > 0
    assert Notification.objects.count() == 0
    assert callbacks == []
    assert DBTaskResult.objects.count() == 0


@pytest.mark.parametrize("call", ["booked", "moved", "cancelled"])
def test_it_sends_what_a_killed_process_never_enqueued_on_the_next_sweep(
    camille, call, run_tasks, mail_outbox, sms_outbox, django_capture_on_commit_callbacks
):
    function, kind = notice_calls(camille)[call]
    # Booking commits, then the process dies before its on_commit callbacks run.
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        function()
    assert callbacks  # the enqueues that never happened
    assert DBTaskResult.objects.count() == 0
    told = Notification.objects.filter(kind=kind)
    assert set(told.values_list("status", flat=True)) == {Status.SCHEDULED}
    assert mail_outbox == sms_outbox == []

    with time_machine.travel(AFTER_THE_LEASE, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            result = services.recover()
        run_tasks()
    assert result["requeued"] == told.count() == 2
    assert set(told.values_list("status", flat=True)) == {Status.SENT}
    assert len(mail_outbox) == 1
    assert len(sms_outbox) == 1


def test_it_sends_a_lost_reminder_when_it_falls_due(
    camille, run_tasks, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        services.appointment_booked(make_notice(camille, STARTS))
    reminder = Notification.objects.get(kind=Kind.APPOINTMENT_REMINDER, channel=Channel.SMS)
    with time_machine.travel(reminder.scheduled_at + timedelta(minutes=6), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            services.recover()
        run_tasks()
    reminder.refresh_from_db()
    assert reminder.status == Status.SENT
    assert any("reminder" in sms.body for sms in sms_outbox)
