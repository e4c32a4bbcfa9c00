"""Where the API meets a fault: the database gone answers a retryable 503 problem and writes
nothing; a booking made anywhere is visible in the next free-slots answer (the cached answer
follows the availability generation)."""

from unittest import mock

import pytest
from django.db import OperationalError

from booking.models import Appointment
from tests.api.conftest import DAY, NOW, at
from tests.booking.factories import book

pytestmark = pytest.mark.django_db


def test_the_database_gone_is_a_503_problem_with_retry_after(api, world):
    with mock.patch(
        "booking.services.book", side_effect=OperationalError("server closed the connection")
    ):
        response = api.post(
            "/api/v1/appointments",
            {
                "client_id": world.client.pk,
                "patient_id": world.filou.pk,
                "service_id": world.consultation.pk,
                "starts_at": "2026-06-01T09:00:00+02:00",
            },
        )
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "30"
    assert response.json()["type"] == "/api/docs#unavailable"
    assert not Appointment.objects.exists()


def test_the_database_gone_while_checking_the_key_is_a_503_too(api, world):
    with mock.patch("api.models.ApiKey.objects.by_token", side_effect=OperationalError("gone")):
        response = api.get("/api/v1/clinic")
    assert response.status_code == 503


def test_a_booking_on_the_web_is_gone_from_the_next_answer(
    api, world, django_capture_on_commit_callbacks
):
    query = {"service_id": world.consultation.pk, "day": DAY.isoformat()}
    nine = "2026-06-01T09:00:00+02:00"
    first = api.get("/api/v1/slots", query).json()["slots"][0]
    assert first["start"] == nine
    assert len(first["practitioner_ids"]) == 2
    with django_capture_on_commit_callbacks(execute=True):  # the generation bump, as in prod
        book(world.user, world.filou, world.consultation, at(DAY, 9), now=NOW)
    again = api.get("/api/v1/slots", query).json()["slots"][0]
    assert again["start"] == nine
    assert len(again["practitioner_ids"]) == 1  # one vet left at 9:00
