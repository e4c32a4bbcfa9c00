"""Booking's notices go through the real notifications entry points without an error."""

import logging

from booking import services
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at


def test_it_hands_booked_moved_and_cancelled_notices_to_notifications(
    client_user, filou, consultation, django_capture_on_commit_callbacks, caplog
):
    # After-commit steps are robust (a failure is only logged), so the log is what tells.
    with caplog.at_level(logging.ERROR):
        with django_capture_on_commit_callbacks(execute=True) as booked:
            appointment = services.book(
                client=client_user.client,
                patient=filou,
                service=consultation,
                starts_at=at(DAY, 9),
                booked_by=client_user,
                now=NOW,
            ).appointment
        with django_capture_on_commit_callbacks(execute=True) as moved:
            services.move(
                appointment,
                starts_at=at(DAY, 10),
                by_user=client_user,
                by_clinic=False,
                now=NOW,
            )
        with django_capture_on_commit_callbacks(execute=True) as cancelled:
            services.cancel(appointment, by_user=client_user, by_clinic=False, now=NOW)
    assert booked
    assert moved
    assert cancelled
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
