"""Sending: signed POSTs to a receiver on 127.0.0.1 that answers 200, 500 or hangs; back-off
times on a frozen clock; recovery of lost tasks and interrupted workers; replay."""

import json
import socket
import threading
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from booking import services as booking
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at
from webhooks import services, signing
from webhooks.models import Attempt, Delivery, Status
from webhooks.tasks import deliver_webhook

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def delivery(
    endpoint, client_user, filou, consultation, django_capture_on_commit_callbacks
) -> Delivery:
    with django_capture_on_commit_callbacks(execute=True):
        booking.book(
            client=client_user.client,
            patient=filou,
            service=consultation,
            starts_at=at(DAY, 9),
            booked_by=client_user,
            now=NOW,
        )
    return Delivery.objects.get()


def _tasks() -> list[int]:
    rows = DBTaskResult.objects.filter(
        task_path=deliver_webhook.module_path, status="READY", queue_name="webhooks"
    )
    return [row.args_kwargs["args"][0] for row in rows]


def test_a_booking_queues_its_delivery_on_commit_and_calls_no_receiver(delivery, receiver):
    assert _tasks() == [delivery.pk]
    assert receiver.received == []  # the web request never waits for a receiver


def test_a_200_marks_it_delivered_with_a_signature_the_receiver_can_check(
    delivery, receiver, endpoint
):
    assert services.deliver(delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED
    assert delivery.delivered_at == NOW
    (got,) = receiver.received
    assert got.body == delivery.body.encode()
    assert got.headers["webhook-id"] == delivery.event_id
    assert got.headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert signing.verify(endpoint.secret, got.headers, got.body, now=int(NOW.timestamp()))
    assert got.json["type"] == "appointment.booked"
    (attempt,) = Attempt.objects.filter(delivery=delivery)
    assert attempt.status_code == 200
    assert attempt.error == ""
    assert services.deliver(delivery.pk) == "not mine"  # a second task for it does nothing
    assert len(receiver.received) == 1


def test_a_500_is_retried_after_1_5_30_minutes_2_and_12_hours_then_fails(
    delivery, receiver, django_capture_on_commit_callbacks
):
    receiver.mode = "error"
    now = NOW
    for delay in (
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=12),
    ):
        with (
            time_machine.travel(now, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            assert services.deliver(delivery.pk) == "retrying"
            delivery.refresh_from_db()
            assert delivery.status == Status.RETRYING
            assert delivery.next_attempt_at == now + delay
            assert delivery.last_error == "answered HTTP 500"
            assert delivery.pk in _tasks()  # the retry is queued for then
        with time_machine.travel(now + delay - timedelta(seconds=1), tick=False):
            assert services.deliver(delivery.pk) == "not mine"  # not due yet
        now += delay
    with time_machine.travel(now, tick=False):
        assert services.deliver(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert delivery.attempts == 6
    assert delivery.last_error == "Gave up after 6 attempts: answered HTTP 500"
    codes = list(Attempt.objects.filter(delivery=delivery).values_list("status_code", flat=True))
    assert codes == [500] * 6
    assert len(receiver.received) == 6
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # same id every time


def test_a_receiver_that_hangs_is_cut_at_the_timeout_and_retried(delivery, receiver, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 1
    receiver.mode = "hang"
    assert services.deliver(delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert delivery.status == Status.RETRYING
    assert delivery.last_error == "no answer within 1 s"
    assert delivery.next_attempt_at == NOW + timedelta(minutes=1)
    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert 900 <= attempt.duration_ms < 3000


def test_nothing_listening_is_an_unreachable_receiver():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    answer = services._post(f"http://127.0.0.1:{port}/", b"{}", {})
    assert answer.status_code is None
    assert answer.error.startswith("unreachable")


def test_a_disabled_endpoint_fails_what_waits_for_it(delivery, receiver, endpoint):
    services.set_active(endpoint=endpoint, active=False)
    assert services.deliver(delivery.pk) == "endpoint disabled"
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert delivery.last_error == "The endpoint is disabled."
    assert receiver.received == []


def test_replay_sends_the_same_bytes_under_the_same_id(
    delivery, receiver, django_capture_on_commit_callbacks
):
    services.deliver(delivery.pk)
    with django_capture_on_commit_callbacks(execute=True):
        copy = services.replay(delivery=delivery)
    assert copy.pk != delivery.pk
    assert (copy.event_id, copy.body, copy.replay_of) == (
        delivery.event_id,
        delivery.body,
        delivery,
    )
    assert copy.status == Status.PENDING
    assert copy.pk in _tasks()
    assert services.deliver(copy.pk) == "delivered"
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body


def test_recovery_requeues_a_delivery_whose_task_was_lost(
    endpoint, client_user, filou, consultation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the process died after commit
        booking.book(
            client=client_user.client,
            patient=filou,
            service=consultation,
            starts_at=at(DAY, 9),
            booked_by=client_user,
            now=NOW,
        )
    row = Delivery.objects.get()
    assert _tasks() == []
    assert services.recover()["requeued"] == 0  # not overdue yet: a worker may be busy
    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert services.recover()["requeued"] == 1
        assert _tasks() == [row.pk]
        with django_capture_on_commit_callbacks(execute=True):
            assert services.recover()["requeued"] == 0  # its task waits: no second one


def test_recovery_takes_back_a_delivery_whose_worker_died_while_sending(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Status.SENDING, claimed_at=NOW, claim_token="dead-worker"
    )
    assert services.recover()["interrupted"] == 0  # within the lease: still its worker's
    later = NOW + timedelta(minutes=3)
    with time_machine.travel(later, tick=False):
        assert services.recover()["interrupted"] == 1
    delivery.refresh_from_db()
    assert delivery.status == Status.RETRYING
    assert delivery.attempts == 1
    assert delivery.next_attempt_at == later + timedelta(minutes=1)
    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.error == "interrupted: the worker stopped while sending"


def test_a_late_worker_does_not_overwrite_what_recovery_decided(delivery, receiver):
    token_before = "slow-worker"
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Status.SENDING, claimed_at=NOW, claim_token=token_before
    )
    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        services.recover()
        row = Delivery.objects.get(pk=delivery.pk)
        answer = services.Answer(200, "", 5)
        assert services._settle(row, token_before, timezone.now(), answer) == "taken over"
    delivery.refresh_from_db()
    assert delivery.status == Status.RETRYING


def test_the_body_is_compact_json_with_the_event_id(delivery):
    payload = json.loads(delivery.body)
    assert payload["id"] == delivery.event_id
    assert " " not in delivery.body


def test_a_receiver_that_answers_garbage_is_retried_with_the_reason():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_garbage() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"garbage, not HTTP\r\n\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    answer = services._post(f"http://127.0.0.1:{listener.getsockname()[1]}/", b"{}", {})
    thread.join(5)
    listener.close()
    assert answer.status_code is None
    assert answer.error == "answered something that is not HTTP (BadStatusLine)"


def test_a_cache_outage_still_plans_a_recovery_pass(delivery, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("redis is gone")

    monkeypatch.setattr(services.cache, "add", down)
    before = DBTaskResult.objects.filter(task_path__endswith="recover_webhooks").count()
    services._plan_recovery()
    after = DBTaskResult.objects.filter(task_path__endswith="recover_webhooks").count()
    assert after == before + 1


def test_the_tasks_deliver_and_plan_recovery_while_work_waits(delivery, receiver):
    from webhooks.tasks import recover_webhooks

    planned = DBTaskResult.objects.filter(task_path__endswith="recover_webhooks").count()
    assert recover_webhooks.call() == {"interrupted": 0, "requeued": 0, "purged": 0}
    # The delivery still waits: another pass is planned.
    assert (
        DBTaskResult.objects.filter(task_path__endswith="recover_webhooks").count() == planned + 1
    )
    assert deliver_webhook.call(delivery.pk) == "delivered"
    recover_webhooks.call()
    assert (
        DBTaskResult.objects.filter(task_path__endswith="recover_webhooks").count() == planned + 1
    )


def test_a_secret_that_no_longer_decrypts_is_a_failed_attempt_not_a_stuck_row(
    delivery, receiver, endpoint
):
    type(endpoint).objects.filter(pk=endpoint.pk).update(secret_blob=b"\x01" + b"\x00" * 40)
    assert services.deliver(delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert delivery.status == Status.RETRYING
    assert delivery.last_error == "the signing secret could not be read"
    assert receiver.received == []  # nothing unsigned leaves


def test_finished_deliveries_are_purged_after_the_keep_days(delivery, settings):
    settings.WEBHOOKS_KEEP_DAYS = 30
    delivered = Delivery.objects.create(
        endpoint=delivery.endpoint,
        event_id="evt_old",
        event_type="slot.released",
        body="{}",
        status=Status.DELIVERED,
        next_attempt_at=NOW,
        created_at=NOW,
    )
    Attempt.objects.create(delivery=delivered, at=NOW, status_code=200)
    Delivery.objects.filter(pk=delivery.pk).update(created_at=NOW)  # still waiting
    with time_machine.travel(NOW + timedelta(days=30, minutes=1), tick=False):
        assert services.purge() == 2  # the delivery and its attempt
    assert list(Delivery.objects.values_list("pk", flat=True)) == [delivery.pk]
