"""One slot, callers through the API and through the web at once: the database lets exactly one
booking through, whichever door it came by (PostgreSQL's exclusion constraint; booking's
services are the only writer either way)."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from api.models import Channel
from booking.models import Appointment
from tests import factories
from tests.api.conftest import DAY, Api, at, make_key

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clearable_access_log"),
]

CALLERS = 8  # through each door


def test_api_and_web_race_for_one_slot_and_book_it_once(world):
    # Only Dr Dubois offers the service: one slot, one seat.
    world.consultation.practitioners.set([world.dubois])
    start = at(DAY, 9)
    _k, token = make_key(world.manager, channel=Channel.ONLINE, rate_per_minute=1000)
    callers = []
    for n in range(2 * CALLERS):
        user = factories.make_client_user(first_name=f"Race{n}", last_name="Caller")
        patient = factories.make_patient(user, name=f"Animal{n}")
        callers.append((user, patient))
    barrier = threading.Barrier(2 * CALLERS)
    results: list[tuple[str, int]] = []
    errors: list[BaseException] = []

    def by_api(user, patient, n):
        api = Api(token)
        try:
            barrier.wait(timeout=30)
            response = api.post(
                "/api/v1/appointments",
                {
                    "client_id": user.client.pk,
                    "patient_id": patient.pk,
                    "service_id": world.consultation.pk,
                    "starts_at": start.isoformat(),
                },
                **{"Idempotency-Key": f"race-{n}"},
            )
            results.append(("api", response.status_code))
        except BaseException as error:  # reported below: a thread must not die silently
            errors.append(error)
        finally:
            connection.close()

    def by_web(user, patient):
        http = factories.http_client(user)
        try:
            barrier.wait(timeout=30)
            response = http.post(
                reverse("booking:confirm"),
                {
                    "patient": patient.pk,
                    "service": world.consultation.slug,
                    "practitioner": world.dubois.pk,
                    "start": int(start.timestamp()),
                },
            )
            results.append(("web", response.status_code))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = []
    for n, (user, patient) in enumerate(callers):
        if n % 2:
            threads.append(threading.Thread(target=by_api, args=(user, patient, n)))
        else:
            threads.append(threading.Thread(target=by_web, args=(user, patient)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == 2 * CALLERS
    active = Appointment.objects.active().filter(practitioner=world.dubois, starts_at=start)
    assert active.count() == 1, "double booking"
    won = [r for r in results if r in (("api", 201), ("web", 302))]
    assert len(won) == 1, results
    lost = [r for r in results if r not in won]
    assert all(status == 409 for _door, status in lost), results


def test_the_same_idempotency_key_sent_twice_at_once_books_once(world):
    """A phone line that retries before the first answer came back: the two requests race with
    one Idempotency-Key; one books, the other waits on the unique index and replays its answer."""
    _k, token = make_key(world.manager, rate_per_minute=1000)
    body = {
        "client_id": world.client.pk,
        "patient_id": world.filou.pk,
        "service_id": world.consultation.pk,
        "starts_at": at(DAY, 9).isoformat(),
    }
    barrier = threading.Barrier(CALLERS)
    answers: list[tuple[int, int | None]] = []
    errors: list[BaseException] = []

    def call():
        try:
            barrier.wait(timeout=30)
            response = Api(token).post(
                "/api/v1/appointments", body, **{"Idempotency-Key": "dropped-line-1"}
            )
            answers.append((response.status_code, response.json().get("id")))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    appointment = Appointment.objects.get()
    assert answers == [(201, appointment.pk)] * CALLERS
