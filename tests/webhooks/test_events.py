"""Each event writes one delivery per interested endpoint, in the writer's own transaction, with
ids and times only."""

import json

import pytest
from django.db import transaction

from booking import services as booking
from booking.models import Appointment
from messaging import services as messaging
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at
from tests.messaging.factories import make_conversation
from webhooks import services
from webhooks.models import Delivery, Event, Status

pytestmark = pytest.mark.usefixtures("frozen")


def _book(client_user, filou, consultation, **extra):
    return booking.book(
        client=client_user.client,
        patient=filou,
        service=consultation,
        starts_at=at(DAY, 9),
        booked_by=client_user,
        now=NOW,
        **extra,
    ).appointment


def _types() -> list[str]:
    return list(Delivery.objects.order_by("pk").values_list("event_type", flat=True))


def test_a_booking_commits_with_its_delivery_even_if_the_enqueue_is_lost(
    endpoint, client_user, filou, consultation, django_capture_on_commit_callbacks
):
    # execute=False: the after-commit enqueue never runs, as when the process dies right there.
    with django_capture_on_commit_callbacks(execute=False):
        appointment = _book(client_user, filou, consultation)
    row = Delivery.objects.get()
    assert row.endpoint == endpoint
    assert row.event_type == Event.APPOINTMENT_BOOKED
    assert row.status == Status.PENDING
    assert json.loads(row.body)["data"]["appointment_id"] == appointment.pk


def test_a_rolled_back_booking_leaves_no_delivery(endpoint, client_user, filou, consultation):
    seen_inside = []

    def book_then_fail() -> None:
        with transaction.atomic():
            _book(client_user, filou, consultation)
            seen_inside.append(Delivery.objects.count())  # written in the booking's transaction
            raise RuntimeError("the request failed after booking")

    with pytest.raises(RuntimeError):
        book_then_fail()
    assert seen_inside == [1]
    assert not Appointment.objects.exists()
    assert not Delivery.objects.exists()


def test_the_payload_carries_ids_and_times_and_nothing_medical(
    endpoint, client_user, filou, consultation, dubois
):
    client_user.first_name, client_user.last_name = "Camille", "Durand"
    client_user.save()
    appointment = _book(
        client_user, filou, consultation, reason="Vomit du sang après avoir mangé du chocolat"
    )
    body = Delivery.objects.get().body
    for private in ("Filou", "Camille", "Durand", "sang", "chocolat", "Consultation", "Dubois"):
        assert private not in body
    payload = json.loads(body)
    assert payload["type"] == "appointment.booked"
    assert payload["id"].startswith("evt_")
    assert payload["occurred_at"] == "2026-05-29T08:00:00Z"  # NOW: 10:00 in Paris
    assert payload["data"] == {
        "appointment_id": appointment.pk,
        "starts_at": "2026-06-01T07:00:00Z",  # 9:00 in Paris, summer time
        "ends_at": "2026-06-01T07:30:00Z",
        "practitioner_id": appointment.practitioner_id,
        "site_id": appointment.site_id,
        "service_id": consultation.pk,
        "version": 1,
    }


def test_a_move_and_a_cancellation_also_release_their_old_slot(
    endpoint, client_user, filou, consultation
):
    appointment = _book(client_user, filou, consultation)
    booking.move(appointment, starts_at=at(DAY, 10), by_user=client_user, by_clinic=False, now=NOW)
    booking.cancel(appointment, by_user=client_user, by_clinic=False, now=NOW)
    assert _types() == [
        "appointment.booked",
        "appointment.moved",
        "slot.released",
        "appointment.cancelled",
        "slot.released",
    ]
    released = [
        json.loads(r.body)
        for r in Delivery.objects.filter(event_type="slot.released").order_by("pk")
    ]
    assert released[0]["data"]["starts_at"] == "2026-06-01T07:00:00Z"  # the time moved away from
    assert released[1]["data"]["starts_at"] == "2026-06-01T08:00:00Z"
    assert set(released[0]["data"]) == {"starts_at", "ends_at", "practitioner_id", "site_id"}


def test_a_cancellation_for_a_closure_releases_nothing(endpoint, client_user, filou, consultation):
    appointment = _book(client_user, filou, consultation)
    booking.cancel(appointment, by_user=None, by_clinic=True, now=NOW, release=False)
    assert _types() == ["appointment.booked", "appointment.cancelled"]


def test_confirmed_and_no_show_are_sent(endpoint, client_user, filou, consultation, reception):
    appointment = _book(client_user, filou, consultation)
    assert booking.confirm(appointment, version=1, now=NOW)
    booking.mark_outcome(
        appointment, status=Appointment.Status.NO_SHOW, by_user=reception, now=at(DAY, 10)
    )
    assert _types() == ["appointment.booked", "appointment.confirmed", "appointment.no_show"]


def test_only_active_endpoints_that_asked_get_the_event(
    endpoint, client_user, filou, consultation, manager
):
    only_booked, _ = services.create_endpoint(
        name="Agenda", url="https://example.org/h", events=["appointment.booked"], by=manager
    )
    disabled, _ = services.create_endpoint(
        name="Old", url="https://example.org/o", events=list(Event.values), by=manager
    )
    services.set_active(endpoint=disabled, active=False)
    appointment = _book(client_user, filou, consultation)
    booking.cancel(appointment, by_user=client_user, by_clinic=False, now=NOW)
    assert sorted(only_booked.deliveries.values_list("event_type", flat=True)) == [
        "appointment.booked"
    ]
    assert not disabled.deliveries.exists()
    assert endpoint.deliveries.count() == 3
    # One event, one id, whoever receives it.
    booked = Delivery.objects.filter(event_type="appointment.booked")
    assert len({row.event_id for row in booked}) == 1


def test_no_endpoint_no_delivery_and_the_booking_is_untouched(client_user, filou, consultation):
    _book(client_user, filou, consultation)
    assert not Delivery.objects.exists()
    assert Appointment.objects.count() == 1


def test_a_failing_webhook_listener_does_not_refuse_the_booking(
    endpoint, client_user, filou, consultation, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(services, "_record", broken)
    _book(client_user, filou, consultation)
    assert Appointment.objects.count() == 1
    assert "appointment listener" in caplog.text


def test_an_urgent_message_sends_its_conversation_and_time_only(endpoint, client_user):
    conversation = make_conversation(client_user, subject="Urgence", body="Bonjour")
    assert not Delivery.objects.exists()  # an ordinary message is no event
    messaging.post_message(
        conversation_id=conversation.pk,
        author=client_user,
        body="Mon chien ne respire plus, il a mangé du chocolat",
        now=NOW,
    )
    row = Delivery.objects.get()
    assert row.event_type == "message.urgent"
    payload = json.loads(row.body)
    assert payload["data"] == {"conversation_id": conversation.pk, "at": "2026-05-29T08:00:00Z"}
    assert "respire" not in row.body
    assert "chocolat" not in row.body
