"""Idempotency-Key: a retry returns the first answer and writes nothing; the same key with
another body is 409 and writes nothing."""

from datetime import timedelta

import pytest
import time_machine

from api.models import IdempotentRequest
from booking.models import Appointment
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def _book(api, world, key: str, starts_at="2026-06-01T09:00:00+02:00"):
    return api.post(
        "/api/v1/appointments",
        {
            "client_id": world.client.pk,
            "patient_id": world.filou.pk,
            "service_id": world.consultation.pk,
            "starts_at": starts_at,
        },
        **{"Idempotency-Key": key},
    )


def test_a_retry_gets_the_same_answer_and_books_once(api, world):
    first = _book(api, world, "call-42-booking")
    assert first.status_code == 201
    notices = Notification.objects.count()
    retry = _book(api, world, "call-42-booking")
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Appointment.objects.count() == 1
    assert Notification.objects.count() == notices  # no second confirmation


def test_the_same_key_with_another_body_is_409_and_changes_nothing(api, world):
    first = _book(api, world, "call-43")
    response = _book(api, world, "call-43", starts_at="2026-06-01T10:00:00+02:00")
    assert response.status_code == 409
    assert response.json()["type"] == "/api/docs#idempotency-mismatch"
    assert list(Appointment.objects.values_list("pk", flat=True)) == [first.json()["id"]]


def test_spacing_and_key_order_do_not_make_another_body(api, world):
    first = _book(api, world, "call-44")
    raw = (
        f'{{ "starts_at": "2026-06-01T09:00:00+02:00", "service_id": {world.consultation.pk},'
        f' "patient_id": {world.filou.pk}, "client_id": {world.client.pk} }}'
    )
    retry = api.http.post(
        "/api/v1/appointments",
        raw,
        content_type="application/json",
        headers={**api.headers, "Idempotency-Key": "call-44"},
    )
    assert retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]


def test_a_refusal_is_kept_too(api, world):
    first = _book(api, world, "call-45", starts_at="2026-05-01T09:00:00+02:00")
    assert first.status_code == 422
    again = _book(api, world, "call-45", starts_at="2026-05-01T09:00:00+02:00")
    assert again.status_code == 422
    assert again.json() == first.json()
    assert again["Content-Type"] == "application/problem+json"
    assert not Appointment.objects.exists()


def test_keys_are_per_api_key(world, api):
    from tests.api.conftest import Api, make_key

    _k, other = make_key(world.manager, name="Partner")
    first = _book(api, world, "same-words")
    second = _book(Api(other), world, "same-words")
    # Another integration's key: its own request, refused because Filou is now busy.
    assert first.status_code == 201
    assert second.status_code == 409
    assert IdempotentRequest.objects.count() == 2


def test_a_cancel_retried_is_answered_not_refused(api, world):
    booked = _book(api, world, "b-1").json()
    path = f"/api/v1/appointments/{booked['id']}/cancel"
    first = api.post(path, {}, **{"Idempotency-Key": "c-1"})
    retry = api.post(path, {}, **{"Idempotency-Key": "c-1"})
    assert first.status_code == retry.status_code == 200
    assert retry.json()["status"] == "cancelled"


def test_an_answer_is_kept_a_day_then_the_key_is_a_new_request(api, world):
    first = _book(api, world, "call-7")
    assert first.status_code == 201
    with time_machine.travel(timedelta(hours=23), tick=False):
        assert _book(api, world, "call-7")["Idempotent-Replayed"] == "true"
    with time_machine.travel(timedelta(hours=25), tick=False):
        later = _book(api, world, "call-7")
    # Not a replay: the request runs again, and booking's own double-submit guard (the
    # request_key the idempotency key gave the booking) answers the same appointment.
    assert "Idempotent-Replayed" not in later
    assert later.status_code == 200
    assert later.json()["id"] == first.json()["id"]
    assert Appointment.objects.count() == 1
    assert IdempotentRequest.objects.count() == 1
