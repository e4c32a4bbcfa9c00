"""A move to where the appointment already is changes nothing and says so (issue #18)."""

from unittest import mock

import pytest
from django.urls import reverse

from booking import services
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at, make_appointment

# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def released():
    with mock.patch("booking.events.slot_released") as listener:
        yield listener


@pytest.fixture
def appointment(client_user, filou, consultation, dubois):
    return make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )


def stamp(dt) -> str:
    return str(int(dt.timestamp()))


def test_moving_to_the_current_time_writes_nothing_and_says_so(
    appointment, client_user, notify, released, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(services.Unchanged, match="already at this time"),
    ):
        services.move(
            appointment, starts_at=at(DAY, 9), by_user=client_user, by_clinic=False, now=NOW
        )
    appointment.refresh_from_db()
    assert appointment.version == 1
    assert appointment.starts_at == at(DAY, 9)
    assert not notify.moved.called
    assert not released.called
    assert callbacks == []


def test_the_same_move_twice_moves_once(
    appointment, client_user, notify, released, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.move(
            appointment, starts_at=at(DAY, 10), by_user=client_user, by_clinic=False, now=NOW
        )
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.Unchanged):
        services.move(
            appointment, starts_at=at(DAY, 10), by_user=client_user, by_clinic=False, now=NOW
        )
    appointment.refresh_from_db()
    assert appointment.starts_at == at(DAY, 10)
    assert appointment.version == 2
    assert notify.moved.call_count == 1
    assert released.call_count == 1
    assert released.call_args.args[0].starts_at == at(DAY, 9)


def test_staff_moving_to_the_same_time_and_vet_is_a_no_op_but_another_vet_moves(
    appointment, reception, dubois, fontaine, notify, released, django_capture_on_commit_callbacks
):
    for practitioner in (None, dubois):
        with pytest.raises(services.Unchanged):
            services.move(
                appointment,
                starts_at=at(DAY, 9),
                practitioner=practitioner,
                by_user=reception,
                by_clinic=True,
                now=NOW,
            )
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.move(
            appointment,
            starts_at=at(DAY, 9),
            practitioner=fontaine,
            by_user=reception,
            by_clinic=True,
            now=NOW,
        )
    assert moved.practitioner == fontaine
    assert moved.version == 2
    assert notify.moved.call_count == 1


def test_the_client_posting_a_move_twice_gets_one_move_and_a_plain_answer(
    as_client, appointment, notify, released, django_capture_on_commit_callbacks
):
    url = reverse("booking:move", args=[appointment.pk])
    with django_capture_on_commit_callbacks(execute=True):
        first = as_client.post(url, {"start": stamp(at(DAY, 10))})
        second = as_client.post(url, {"start": stamp(at(DAY, 10))}, follow=True)
    assert first.url == reverse("booking:detail", args=[appointment.pk])
    assert second.redirect_chain[-1][0] == reverse("booking:detail", args=[appointment.pk])
    assert "already at this time" in second.content.decode()
    appointment.refresh_from_db()
    assert appointment.version == 2
    assert appointment.starts_at == at(DAY, 10)
    assert notify.moved.call_count == 1
    assert released.call_count == 1


def test_staff_posting_a_move_twice_gets_one_move_and_a_plain_answer(
    as_reception, appointment, dubois, notify, released, django_capture_on_commit_callbacks
):
    url = reverse("booking:staff_move", args=[appointment.pk])
    data = {"start": stamp(at(DAY, 10)), "practitioner": dubois.pk}
    with django_capture_on_commit_callbacks(execute=True):
        as_reception.post(url, data)
        second = as_reception.post(url, data, follow=True)
    assert second.redirect_chain[-1][0] == reverse(
        "booking:staff_appointment", args=[appointment.pk]
    )
    assert "already at this time" in second.content.decode()
    appointment.refresh_from_db()
    assert appointment.version == 2
    assert notify.moved.call_count == 1
    assert released.call_count == 1


def test_a_cancellation_can_keep_the_time_from_the_waitlist(
    appointment, reception, notify, released, django_capture_on_commit_callbacks
):
    # For closures and time off: the clinic cancels, the client is told, nothing is offered.
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(appointment, by_user=reception, by_clinic=True, now=NOW, release=False)
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert notify.cancelled.call_count == 1
    assert not released.called


@pytest.mark.parametrize(
    ("start", "message", "status"),
    [
        (at(DAY, 9), "already at this time", 200),  # where it already is: no fault
        (at(DAY, 3), "not open for booking", 400),  # tampered: 03:00
        (at(DAY, 9, 10), "not open for booking", 400),  # off the grid
    ],
)
def test_the_move_page_checks_the_time_before_offering_its_button(
    as_client, appointment, notify, start, message, status
):
    url = reverse("booking:move", args=[appointment.pk])
    response = as_client.get(url, {"start": stamp(start)})
    html = response.content.decode()
    assert response.status_code == status
    assert message in html
    assert "Move to this time" not in html
    assert "Choose another time" in html
    ok = as_client.get(url, {"start": stamp(at(DAY, 10))}).content.decode()
    assert "Move to this time" in ok
