"""Sending: once and only once, retries on provider faults, receipts, bad numbers, crashes."""

import json
import smtplib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from notifications import backends, services
from notifications.backends import Sms, sign_receipt
from notifications.models import (
    Channel,
    Kind,
    Notification,
    NotificationEvent,
    Preference,
    PreferenceChange,
    Status,
)
from tests.notifications.factories import with_phone

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 Paris
WEBHOOK_SECRET = "shared-secret"
HANG_UP = 0  # a provider answer: read the request, close the connection without a word


@pytest.fixture(autouse=True)
def _tuesday_morning():
    """Sending meets quiet hours (evenings and Sundays): these tests mean a weekday morning,
    whatever the wall clock says. Quiet hours themselves are tested in test_timing.py."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def camille(client_user):
    return with_phone(client_user.client, sms_for=("documents",))


def a_text(client, key: str = "doc:1", **fields) -> Notification:
    defaults = {
        "recipient": "+33612345678",
        "channel": Channel.SMS,
        "kind": Kind.DOCUMENT_AVAILABLE,
        "body": "Tests: a document is waiting in your space.",
        "scheduled_at": timezone.now(),
        "idempotency_key": key,
    }
    defaults.update(fields)
    return Notification.objects.create(client=client, **defaults)


# --- Once and only once --------------------------------------------------------------------------


def test_it_sends_a_row_once_when_its_task_runs_twice(camille, sms_outbox):
    row = a_text(camille)
    assert services.dispatch(row.pk) == "sent"
    assert services.dispatch(row.pk) == "not mine"
    assert len(sms_outbox) == 1


def test_it_sends_nothing_before_the_row_is_due(camille, sms_outbox):
    row = a_text(camille, scheduled_at=timezone.now() + timedelta(hours=1))
    assert services.dispatch(row.pk) == "not mine"
    assert sms_outbox == []


def test_it_ignores_a_second_insert_of_the_same_key_at_the_database(camille):
    """What settles two callers planning the same message at the same instant: the unique
    key, with the loser's insert ignored (no exception reaches the caller's transaction)."""
    first = a_text(camille, key="same")
    clone = Notification(
        client=camille,
        channel=Channel.SMS,
        kind=Kind.DOCUMENT_AVAILABLE,
        body="x",
        scheduled_at=timezone.now(),
        idempotency_key="same",
    )
    Notification.objects.bulk_create([clone], ignore_conflicts=True)
    assert list(Notification.objects.values_list("pk", flat=True)) == [first.pk]


# --- Crash between "accepted by the provider" and "marked sent" ----------------------------------


def test_it_resubmits_an_interrupted_text_with_the_same_key(camille, settings, tmp_path):
    settings.NOTIFICATIONS_SMS_BACKEND = "file"
    settings.NOTIFICATIONS_SMS_FILE_DIR = tmp_path
    row = a_text(camille)
    # The worker handed it to the provider, then died before marking it sent.
    backends.FileBackend().send(Sms("+33612345678", "Tests", row.body, row.idempotency_key))
    ten_minutes_ago = timezone.now() - timedelta(minutes=10)
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENDING,
        claimed_at=ten_minutes_ago,
        handed_over_at=ten_minutes_ago,
        attempts=1,
    )
    assert services.recover() == {"retried": 0, "resent": 1, "failed": 0, "requeued": 0}
    assert services.dispatch(row.pk) == "sent"
    assert len(list(tmp_path.iterdir())) == 1  # the provider kept one message for the key
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 2)


def test_it_fails_an_interrupted_email_visibly_rather_than_risk_a_double(camille):
    row = a_text(camille, channel=Channel.EMAIL, recipient="c@example.com", key="mail:1")
    ten_minutes_ago = timezone.now() - timedelta(minutes=10)
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENDING, claimed_at=ten_minutes_ago, handed_over_at=ten_minutes_ago
    )
    services.recover()
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert "Interrupted while sending" in row.reason


def test_it_requeues_a_due_row_whose_task_was_lost(
    camille, run_tasks, sms_outbox, django_capture_on_commit_callbacks
):
    a_text(camille, scheduled_at=timezone.now() - timedelta(hours=1))  # never enqueued
    with django_capture_on_commit_callbacks(execute=True):
        result = services.recover()
    assert result["requeued"] == 1
    run_tasks()
    assert len(sms_outbox) == 1


def test_it_does_not_requeue_a_late_row_whose_task_is_still_waiting(
    camille, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from notifications.tasks import dispatch_notification

    row = a_text(camille, scheduled_at=timezone.now() - timedelta(hours=1))  # a long backlog
    dispatch_notification.enqueue(row.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.recover()["requeued"] == 0
    assert DBTaskResult.objects.count() == 1


def test_it_leaves_a_row_being_sent_alone_within_the_lease(camille):
    row = a_text(camille)
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENDING, claimed_at=timezone.now() - timedelta(seconds=30)
    )
    assert services.recover() == {"retried": 0, "resent": 0, "failed": 0, "requeued": 0}


# --- The HTTP provider, played by a local server -------------------------------------------------


class Provider:
    """Answers the next queued responses: (status, body, delay in seconds)."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict, float]] = []
        self.requests: list[dict] = []


@pytest.fixture
def provider(settings) -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state.requests.append(
                {"headers": dict(self.headers), "json": json.loads(self.rfile.read(length))}
            )
            status, body, delay = state.answers.pop(0) if state.answers else (200, {"id": "x"}, 0)
            time.sleep(delay)
            if status == HANG_UP:  # the provider goes away mid-send: no answer at all
                self.close_connection = True
                return
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except BrokenPipeError:
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    settings.NOTIFICATIONS_SMS_BACKEND = "http"
    settings.NOTIFICATIONS_SMS_HTTP_URL = f"http://127.0.0.1:{server.server_port}/sms"
    settings.NOTIFICATIONS_SMS_HTTP_API_KEY = "key-123"
    settings.NOTIFICATIONS_SMS_HTTP_TIMEOUT = 1
    yield state
    server.shutdown()
    server.server_close()


@time_machine.travel(NOW, tick=False)
def test_it_posts_to_the_provider_with_key_and_credentials(camille, provider, plan, run_tasks):
    provider.answers.append((200, {"id": "prov-1"}, 0))
    plan(services.document_available, client_ids=[camille.pk], document_id=5)
    with time_machine.travel(NOW + services.MERGE_WINDOW, tick=False):
        run_tasks()
    row = Notification.objects.get(channel=Channel.SMS)
    assert (row.status, row.provider_id) == (Status.SENT, "prov-1")
    request = provider.requests[0]
    assert request["headers"]["Authorization"] == "Bearer key-123"
    assert request["headers"]["Idempotency-Key"] == row.idempotency_key
    assert request["json"]["to"] == "+33612345678"
    assert request["json"]["from"] == "Tests"


def test_it_retries_a_5xx_with_backoff_then_sends(camille, provider, run_tasks):
    provider.answers += [(503, {}, 0), (502, {}, 0), (200, {"id": "prov-2"}, 0)]
    with time_machine.travel(NOW, tick=False):
        row = a_text(camille)
        services.dispatch(row.pk)
        row.refresh_from_db()
        assert (row.status, row.attempts) == (Status.SCHEDULED, 1)
        assert row.reason == "provider answered HTTP 503"
        assert row.scheduled_at == NOW + timedelta(seconds=60)
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        services.dispatch(row.pk)
        row.refresh_from_db()
        assert row.scheduled_at == NOW + timedelta(seconds=61 + 120)  # doubled
    with time_machine.travel(NOW + timedelta(seconds=200), tick=False):
        services.dispatch(row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.provider_id) == (Status.SENT, 3, "prov-2")
    history = list(row.events.values_list("status", flat=True))
    assert history == ["scheduled", "scheduled", "sent"]


def test_it_fails_with_the_reason_after_the_last_attempt(camille, provider, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    settings.NOTIFICATIONS_RETRY_SECONDS = 0
    provider.answers += [(500, {}, 0), (500, {}, 0)]
    row = a_text(camille)
    services.dispatch(row.pk)
    services.dispatch(row.pk)
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert row.reason == "Gave up after 2 attempts: provider answered HTTP 500"


def test_it_retries_a_provider_timeout(camille, provider):
    provider.answers.append((200, {"id": "late"}, 2.5))
    row = a_text(camille)
    services.dispatch(row.pk)
    row.refresh_from_db()
    assert row.status == Status.SCHEDULED
    assert "provider unreachable" in row.reason
    assert "timed out" in row.reason


def test_it_retries_when_the_provider_hangs_up_mid_send_then_sends_once(camille, provider):
    provider.answers += [(HANG_UP, {}, 0), (200, {"id": "prov-3"}, 0)]
    row = a_text(camille)
    services.dispatch(row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SCHEDULED, 1)
    assert row.reason.startswith("provider unreachable")
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        services.dispatch(row.pk)
    row.refresh_from_db()
    assert (row.status, row.provider_id) == (Status.SENT, "prov-3")
    # Both submissions carried the same key: a provider that took the first drops the second.
    keys = {request["headers"]["Idempotency-Key"] for request in provider.requests}
    assert keys == {row.idempotency_key}


def test_it_retries_when_the_provider_is_down(camille, settings):
    settings.NOTIFICATIONS_SMS_BACKEND = "http"
    settings.NOTIFICATIONS_SMS_HTTP_URL = "http://127.0.0.1:9/sms"  # nothing listens there
    row = a_text(camille)
    services.dispatch(row.pk)
    row.refresh_from_db()
    assert row.status == Status.SCHEDULED
    assert "provider unreachable" in row.reason


def test_it_fails_at_once_when_the_provider_refuses_the_number(camille, provider):
    services.change_preferences(client=camille, by=None, how="staff", phone_verified=True)
    provider.answers.append((400, {"error": "unknown subscriber"}, 0))
    row = a_text(camille)
    services.dispatch(row.pk)
    row.refresh_from_db()
    assert (row.status, row.reason) == (Status.FAILED, "provider answered HTTP 400")
    assert Preference.objects.get(client=camille).phone_verified is False
    assert PreferenceChange.objects.filter(what="phone_verified", how="system").exists()


# --- Delivery receipts ---------------------------------------------------------------------------


@pytest.fixture
def sent_text(camille, settings):
    settings.NOTIFICATIONS_SMS_WEBHOOK_SECRET = "shared-secret"
    return a_text(camille, status=Status.SENT, provider_id="prov-9", sent_at=timezone.now())


def post_receipt(http, payload: dict, secret: str = WEBHOOK_SECRET, signature: str | None = None):
    body = json.dumps(payload).encode()
    return http.post(
        reverse("notifications:sms_receipt"),
        data=body,
        content_type="application/json",
        headers={"X-Signature": sign_receipt(body, secret) if signature is None else signature},
    )


def test_it_marks_a_text_delivered_on_a_signed_receipt(client, sent_text):
    response = post_receipt(client, {"id": "prov-9", "status": "delivered"})
    assert response.json() == {"applied": True}
    sent_text.refresh_from_db()
    assert sent_text.status == Status.DELIVERED
    assert sent_text.delivered_at is not None


def test_it_records_a_failed_delivery_with_the_reason(client, sent_text):
    post_receipt(client, {"id": "prov-9", "status": "failed", "error": "handset off"})
    sent_text.refresh_from_db()
    assert sent_text.status == Status.FAILED
    assert "handset off" in sent_text.reason


@pytest.mark.parametrize("signature", ["", "0" * 64, "not hex"])
def test_it_rejects_a_receipt_with_a_bad_signature(client, sent_text, signature):
    events = NotificationEvent.objects.count()
    response = post_receipt(client, {"id": "prov-9", "status": "delivered"}, signature=signature)
    assert response.status_code == 403
    sent_text.refresh_from_db()
    assert sent_text.status == Status.SENT
    assert NotificationEvent.objects.count() == events


def test_it_rejects_a_receipt_signed_with_another_secret(client, sent_text):
    response = post_receipt(client, {"id": "prov-9", "status": "delivered"}, secret="guess")
    assert response.status_code == 403
    sent_text.refresh_from_db()
    assert sent_text.status == Status.SENT


def test_it_rejects_every_receipt_when_no_secret_is_set(client, sent_text, settings):
    settings.NOTIFICATIONS_SMS_WEBHOOK_SECRET = ""
    assert (
        post_receipt(client, {"id": "prov-9", "status": "delivered"}, secret="").status_code == 403
    )


def test_it_ignores_a_receipt_for_an_unknown_message(client, sent_text):
    response = post_receipt(client, {"id": "nope", "status": "delivered"})
    assert response.json() == {"applied": False}


def test_it_refuses_a_malformed_receipt(client, sent_text):
    body = b"not json"
    response = client.post(
        reverse("notifications:sms_receipt"),
        data=body,
        content_type="application/json",
        headers={"X-Signature": sign_receipt(body, "shared-secret")},
    )
    assert response.status_code == 400


# --- Bad numbers, bounced e-mail -----------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_it_suppresses_a_text_to_an_invalid_number_with_the_reason(client_user, plan, sms_outbox):
    client = with_phone(client_user.client, phone="06 12", sms_for=("documents",))
    plan(services.document_available, client_ids=[client.pk], document_id=1)
    row = Notification.objects.get(channel=Channel.SMS)
    assert row.status == Status.SUPPRESSED
    assert row.reason == "Invalid phone number: 06 12"


@time_machine.travel(NOW, tick=False)
def test_it_suppresses_a_text_to_a_landline(client_user, plan):
    client = with_phone(client_user.client, phone="04 78 00 00 00", sms_for=("documents",))
    plan(services.document_available, client_ids=[client.pk], document_id=1)
    assert "Not a mobile number" in Notification.objects.get(channel=Channel.SMS).reason


@time_machine.travel(NOW, tick=False)
def test_it_reads_national_numbers_in_the_clinics_region(client_user, plan, clinic):
    clinic.phone = "+3225551212"  # a Belgian clinic
    clinic.save()
    client = with_phone(client_user.client, phone="0470 12 34 56", sms_for=("documents",))
    plan(services.document_available, client_ids=[client.pk], document_id=1)
    assert Notification.objects.get(channel=Channel.SMS).recipient == "+32470123456"


def test_it_fails_an_email_the_server_refuses(camille, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"c@example.com": (550, b"no such user")})

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    row = a_text(camille, channel=Channel.EMAIL, recipient="c@example.com", key="mail:2")
    services.dispatch(row.pk)
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert row.reason.startswith("e-mail address refused")


def test_it_retries_when_the_mail_server_is_down(camille, monkeypatch):
    def down(self, *args, **kwargs):
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", down)
    row = a_text(camille, channel=Channel.EMAIL, recipient="c@example.com", key="mail:3")
    services.dispatch(row.pk)
    row.refresh_from_db()
    assert row.status == Status.SCHEDULED
    assert "mail server" in row.reason


@time_machine.travel(NOW, tick=False)
def test_it_suppresses_an_email_without_address(client_user, plan):
    client = client_user.client
    client.email = ""
    client.save(update_fields=["email"])
    client.user.email = ""
    client.user.save(update_fields=["email"])
    plan(services.document_available, client_ids=[client.pk], document_id=1)
    assert Notification.objects.get().reason == "No e-mail address on file."


# --- No medical detail in any text message -------------------------------------------------------


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("kind", ["vaccination", "antiparasitic", "checkup", "renewal"])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_it_never_names_the_animal_or_the_care_in_a_text(client_user, plan, kind, language):
    client = with_phone(client_user.client, sms_for=("care",), language=language)
    plan(
        services.care_reminder,
        client_ids=[client.pk],
        key=f"{kind}:1",
        kind=kind,
        patient_name="Filou",
        due_date=datetime(2027, 3, 1).date(),
        booking_url="http://x/b/",
    )
    sms = Notification.objects.get(channel=Channel.SMS)
    email = Notification.objects.get(channel=Channel.EMAIL)
    assert "Filou" in email.body
    assert "Filou" not in sms.body
    for word in ("vaccin", "antiparasit", "check", "renewal", "renouvel", "bilan", "traitement"):
        assert word not in sms.body.lower()
    assert sms.body.startswith("Tests")


@time_machine.travel(NOW, tick=False)
def test_it_never_names_the_animal_in_appointment_texts(camille, plan):
    from tests.notifications.factories import make_notice

    notice = make_notice(camille, NOW + timedelta(days=3))
    plan(services.appointment_booked, notice)
    plan(services.appointment_cancelled, notice, by_clinic=False)
    for sms in Notification.objects.filter(channel=Channel.SMS):
        assert "Filou" not in sms.body
        assert "Vaccination" not in sms.body
        assert sms.body.startswith("Tests: ")
