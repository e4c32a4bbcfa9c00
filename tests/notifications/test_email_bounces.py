"""The clinic's ESP tells what became of an e-mail (anymail's tracking webhooks): a hard bounce
unticks "e-mail valid" (journaled), shows on the outbox row and the client's pages, and the next
message goes by text to a checked mobile; forged, unknown and replayed events change nothing."""

import hashlib
import hmac
import json
from base64 import b64encode
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from anymail.backends import test as anymail_test
from anymail.message import AnymailRecipientStatus
from django.core import mail
from django.urls import reverse

from notifications import anymail_hooks, services
from notifications.models import (
    Channel,
    Kind,
    Notification,
    NotificationEvent,
    Preference,
    PreferenceChange,
    Status,
    Topic,
)
from tests import factories
from tests.notifications.factories import make_notice, with_phone

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 Paris
SECRET = "esp-hook:s3cret-Passw0rd"
SIGNING_KEY = "mailgun-signing-key"
MESSAGE_ID = "<20261124090000.1.0DF563D0B3597700@mg.clinic.example>"
URL = "/notifications/anymail/mailgun/tracking/"


@pytest.fixture(autouse=True)
def _tuesday_morning():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _mailgun(settings):
    settings.EMAIL_BACKEND_NAME = "mailgun"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


@pytest.fixture
def camille(client_user):
    return with_phone(client_user.client, verified=False)  # line 167 ticks it where needed


@pytest.fixture
def sent(camille) -> Notification:
    """A reminder e-mail Mailgun took an hour ago."""
    return Notification.objects.create(
        client=camille,
        recipient=camille.email,
        channel=Channel.EMAIL,
        kind=Kind.APPOINTMENT_REMINDER,
        subject="Reminder",
        body="See you tomorrow.",
        scheduled_at=NOW - timedelta(hours=1),
        sent_at=NOW - timedelta(hours=1),
        status=Status.SENT,
        provider_id=MESSAGE_ID,
        idempotency_key="reminder-48h:appointment:1:v1:email",
    )


def mailgun_event(event: dict, *, key: str = SIGNING_KEY) -> str:
    """Mailgun's webhook body (its 2018 format, as anymail's own tests record it), signed."""
    # A replayed body carries the same token, anymail's event id for Mailgun.
    timestamp = str(int(event["timestamp"]))
    token = hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()[:50]
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": event,
        }
    )


def permanent_failure(recipient: str, message_id: str = MESSAGE_ID, at: datetime = NOW) -> dict:
    return {
        "event": "failed",
        "severity": "permanent",
        "reason": "bounce",
        "recipient": recipient,
        "timestamp": at.timestamp(),
        "log-level": "error",
        "message": {"headers": {"to": recipient, "message-id": message_id.strip("<>")}},
        "delivery-status": {
            "attempt-no": 1,
            "description": "",
            "code": 550,
            "message": "5.1.1 The email account that you tried to reach does not exist.",
        },
    }


def delivered(recipient: str, at: datetime, message_id: str = MESSAGE_ID) -> dict:
    return {
        "event": "delivered",
        "recipient": recipient,
        "timestamp": at.timestamp(),
        "message": {"headers": {"to": recipient, "message-id": message_id.strip("<>")}},
        "delivery-status": {"code": 250, "message": "OK", "description": ""},
    }


def temporary_failure(recipient: str) -> dict:
    return {
        "event": "failed",
        "severity": "temporary",
        "reason": "generic",
        "recipient": recipient,
        "timestamp": NOW.timestamp(),
        "message": {"headers": {"to": recipient, "message-id": MESSAGE_ID.strip("<>")}},
        "delivery-status": {
            "attempt-no": 3,
            "description": "Mailbox full",
            "code": 452,
            "message": "4.2.2 Mailbox full",
        },
    }


def post(body: str, *, secret: str = SECRET, http=None):
    # An ESP sends no Accept-Language (reasons are then written in French, the site's language);
    # these tests read the English source strings (French: the last test of this file).
    http = http or factories.http_client()
    auth = b64encode(secret.encode()).decode()
    return http.post(
        URL, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Basic {auth}"
    )


def preference(client) -> Preference:
    return Preference.objects.get(client=client)


# --- A hard bounce -------------------------------------------------------------------------------


def test_it_marks_the_address_bounced_fails_the_row_and_journals_it(camille, sent):
    response = post(mailgun_event(permanent_failure(camille.email)))

    assert response.status_code == 200
    choice = preference(camille)
    assert choice.email_valid is False
    assert "5.1.1" in choice.email_invalid_reason
    assert choice.email_invalid_at == NOW
    sent.refresh_from_db()
    assert sent.status == Status.FAILED
    assert sent.reason.startswith("E-mail address bounced: 5.1.1")
    line = PreferenceChange.objects.get(client=camille, what="email_valid")
    assert (line.old_value, line.new_value, line.how) == ("yes", "no", "system")
    assert line.by is None


def test_the_next_message_goes_by_text_to_a_checked_mobile(camille, sent, plan):
    Preference.objects.filter(client=camille).update(phone_verified=True)
    post(mailgun_event(permanent_failure(camille.email)))

    # Documents go by e-mail only by default: the text message takes over.
    plan(services.document_available, client_ids=[camille.pk], document_id=7)

    rows = Notification.objects.filter(client=camille, kind=Kind.DOCUMENT_AVAILABLE)
    assert [(row.channel, row.status) for row in rows] == [(Channel.SMS, Status.SCHEDULED)]
    assert rows[0].recipient == "+33612345678"


def test_without_a_checked_mobile_the_e_mail_is_recorded_not_sent(camille, sent, plan):
    post(mailgun_event(permanent_failure(camille.email)))

    plan(services.document_available, client_ids=[camille.pk], document_id=7)

    row = Notification.objects.get(client=camille, kind=Kind.DOCUMENT_AVAILABLE)
    assert (row.channel, row.status) == (Channel.EMAIL, Status.SUPPRESSED)
    assert row.reason == "E-mail address bounced."


def test_an_e_mail_planned_before_the_bounce_is_not_sent_after_it(camille, sent, plan, run_tasks):
    plan(
        services.appointment_booked,
        make_notice(camille, NOW + timedelta(days=5), appointment_id=42),
    )
    post(mailgun_event(permanent_failure(camille.email)))
    mail.outbox.clear()

    run_tasks()

    row = Notification.objects.get(
        client=camille, kind=Kind.APPOINTMENT_CONFIRMED, channel=Channel.EMAIL
    )
    assert row.status == Status.SUPPRESSED
    assert row.reason == "E-mail address bounced."
    assert mail.outbox == []


def test_a_bounce_for_an_address_the_client_has_changed_since_fails_only_the_row(camille, sent):
    camille.email = "camille.new@example.com"
    camille.save(update_fields=["email"])
    camille.user.email = "camille.new@example.com"
    camille.user.save(update_fields=["email"])

    post(mailgun_event(permanent_failure(sent.recipient)))

    sent.refresh_from_db()
    assert sent.status == Status.FAILED
    assert preference(camille).email_valid is True
    assert not PreferenceChange.objects.filter(client=camille, what="email_valid").exists()


def test_the_outbox_and_the_clients_pages_show_the_bounce(camille, sent, reception):
    post(mailgun_event(permanent_failure(camille.email)))
    staff = factories.verified_http_client(reception)

    outbox = staff.get(reverse("notifications:outbox")).content.decode()
    assert "E-mail address bounced: 5.1.1" in outbox
    history = staff.get(reverse("notifications:client_history", args=[camille.pk]))
    assert "bounced" in history.content.decode()
    page = staff.get(reverse("portal:client_detail", args=[camille.pk])).content.decode()
    assert "E-mail bounced" in page


# --- Forged, unknown, replayed ------------------------------------------------------------------


def _untouched(camille, sent) -> None:
    sent.refresh_from_db()
    assert sent.status == Status.SENT
    assert preference(camille).email_valid is True
    assert not PreferenceChange.objects.filter(client=camille).exists()


@pytest.mark.parametrize(
    "secret", ["esp-hook:wrong", "", "other:s3cret-Passw0rd"], ids=["wrong", "none", "user"]
)
def test_a_wrong_secret_is_refused_and_changes_nothing(camille, sent, secret):
    response = post(mailgun_event(permanent_failure(camille.email)), secret=secret)

    assert response.status_code == 403
    _untouched(camille, sent)


def test_a_bad_mailgun_signature_is_refused_and_changes_nothing(camille, sent):
    response = post(mailgun_event(permanent_failure(camille.email), key="not-the-key"))

    assert response.status_code == 403
    _untouched(camille, sent)


def test_an_unknown_message_id_changes_nothing(camille, sent):
    event = permanent_failure(camille.email, message_id="<someone-else@mg.clinic.example>")

    response = post(mailgun_event(event))

    assert response.status_code == 200
    _untouched(camille, sent)


def test_a_replayed_bounce_changes_nothing_more(camille, sent):
    body = mailgun_event(permanent_failure(camille.email))
    post(body)
    post(body)

    assert PreferenceChange.objects.filter(client=camille, what="email_valid").count() == 1
    assert NotificationEvent.objects.filter(notification=sent, status=Status.FAILED).count() == 1


def test_an_esp_the_clinic_did_not_configure_is_not_there(camille, sent):
    response = factories.HttpClient().post(
        "/notifications/anymail/brevo/tracking/", data="{}", content_type="application/json"
    )

    assert response.status_code == 404


def test_a_flood_from_one_address_is_cut_short(camille, sent, monkeypatch):
    monkeypatch.setattr(anymail_hooks, "RATE_PER_MINUTE", 2)
    body = mailgun_event(delivered(camille.email, NOW))
    codes = [post(body).status_code for _ in range(3)]

    assert codes == [200, 200, 429]


# --- Delivered, deferred, complained ------------------------------------------------------------


def test_delivered_sets_the_time_once_and_keeps_the_earliest(camille, sent):
    later, earlier = NOW - timedelta(minutes=10), NOW - timedelta(minutes=50)
    post(mailgun_event(delivered(camille.email, later)))
    sent.refresh_from_db()
    assert (sent.status, sent.delivered_at) == (Status.DELIVERED, later)

    post(mailgun_event(delivered(camille.email, earlier)))  # came late, happened first
    post(mailgun_event(delivered(camille.email, later)))  # replayed

    sent.refresh_from_db()
    assert sent.delivered_at == earlier
    assert NotificationEvent.objects.filter(notification=sent, status=Status.DELIVERED).count() == 1


def test_a_delivered_arriving_after_the_bounce_does_not_undo_it(camille, sent):
    post(mailgun_event(permanent_failure(camille.email)))
    post(mailgun_event(delivered(camille.email, NOW - timedelta(minutes=30))))

    sent.refresh_from_db()
    assert sent.status == Status.FAILED
    assert preference(camille).email_valid is False


def test_a_soft_bounce_is_shown_and_changes_nothing_else(camille, sent):
    body = mailgun_event(temporary_failure(camille.email))
    post(body)
    post(body)

    sent.refresh_from_db()
    assert sent.status == Status.SENT
    assert "4.2.2 Mailbox full" in sent.reason
    assert preference(camille).email_valid is True
    notes = NotificationEvent.objects.filter(notification=sent, detail__contains="Mailbox full")
    assert notes.count() == 1


def test_a_spam_complaint_unticks_the_address(camille, sent):
    outcome = services.record_email_event(
        event_type="complained", message_id=MESSAGE_ID, recipient=camille.email, at=NOW
    )

    assert outcome == "applied"
    sent.refresh_from_db()
    assert sent.status == Status.SENT
    assert sent.reason == "The recipient reported it as spam."
    assert preference(camille).email_valid is False


def test_an_event_without_a_message_id_is_matched_by_recipient(camille, sent):
    outcome = services.record_email_event(
        event_type="bounced", message_id="", recipient=camille.email.upper(), at=NOW
    )

    assert outcome == "applied"
    sent.refresh_from_db()
    assert sent.status == Status.FAILED


# --- The client says the address is right ------------------------------------------------------


def test_the_client_sees_the_warning_and_confirms_the_address(camille, sent, client_user):
    post(mailgun_event(permanent_failure(camille.email)))
    http = factories.http_client(client_user)

    page = http.get(reverse("notifications:preferences")).content.decode()
    assert "E-mails to your address bounced" in page
    response = http.post(reverse("notifications:preferences"), {"email_correct": "1"}, follow=True)

    assert "E-mails will go to your address again." in response.content.decode()
    choice = preference(camille)
    assert (choice.email_valid, choice.email_invalid_reason, choice.email_invalid_at) == (
        True,
        "",
        None,
    )
    line = PreferenceChange.objects.filter(client=camille, what="email_valid").first()
    assert (line.new_value, line.how, line.by) == ("yes", "client_page", client_user)
    assert (
        "E-mails to your address bounced"
        not in http.get(reverse("notifications:preferences")).content.decode()
    )


def test_confirming_an_address_that_did_not_bounce_changes_nothing(camille, client_user):
    http = factories.http_client(client_user)

    http.post(reverse("notifications:preferences"), {"email_correct": "1"})

    assert not PreferenceChange.objects.filter(client=camille).exists()


# --- Sending through an ESP ----------------------------------------------------------------------


def test_the_send_path_stores_the_esps_message_id(camille, settings, plan, run_tasks):
    settings.MAILERS = {"default": {"BACKEND": "anymail.backends.test.EmailBackend"}}
    mail.outbox.clear()

    plan(services.appointment_booked, make_notice(camille, NOW + timedelta(days=5)))
    run_tasks()

    row = Notification.objects.get(
        client=camille, kind=Kind.APPOINTMENT_CONFIRMED, channel=Channel.EMAIL
    )
    assert row.status == Status.SENT
    (message,) = mail.outbox
    assert row.provider_id == str(message.anymail_status.message_id)
    assert services.record_email_event(
        event_type="delivered", message_id=row.provider_id, recipient="", at=NOW
    ) == ("applied")


# --- An ESP's API over HTTP: its id, and one deadline however it trickles ------------------------

MAILGUN_OK = json.dumps({"id": MESSAGE_ID, "message": "Queued. Thank you."}).encode()


@pytest.fixture
def mailgun_api(settings):
    from tests.notifications.test_faults import StubServer

    server = StubServer()
    settings.MAILERS = {
        "default": {
            "BACKEND": "anymail.backends.mailgun.EmailBackend",
            "OPTIONS": {"api_key": "key-test", "api_url": f"http://127.0.0.1:{server.port}/v3/"},
        }
    }
    settings.NOTIFICATIONS_EMAIL_TIMEOUT = 1
    yield server
    server.close()


def an_email(client) -> Notification:
    return Notification.objects.create(
        client=client,
        recipient=client.email,
        channel=Channel.EMAIL,
        kind=Kind.DOCUMENT_AVAILABLE,
        subject="A document",
        body="A document is waiting in your space.",
        scheduled_at=NOW,
        idempotency_key="document:1:email",
    )


def test_mailgun_s_message_id_is_stored_at_sending(camille, mailgun_api):
    from tests.notifications.test_faults import read_request

    requests_seen: list[bytes] = []

    def behave(conn) -> None:
        requests_seen.append(read_request(conn))
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        conn.sendall(head + f"Content-Length: {len(MAILGUN_OK)}\r\n\r\n".encode() + MAILGUN_OK)

    mailgun_api.behaviour = behave
    row = an_email(camille)

    assert services.dispatch(row.pk) == "sent"

    row.refresh_from_db()
    assert row.provider_id == MESSAGE_ID
    assert b"/v3/localhost/messages" in requests_seen[0]


def test_a_trickling_esp_holds_the_worker_no_longer_than_the_deadline(camille, mailgun_api):
    import threading
    import time

    from tests.notifications.test_faults import read_request, trickle

    stop = threading.Event()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n"

    def behave(conn) -> None:
        read_request(conn)
        trickle(conn, head + MAILGUN_OK * 10, 0.2, stop)

    mailgun_api.behaviour = behave
    row = an_email(camille)
    started = time.monotonic()
    assert services.dispatch(row.pk) == "rescheduled"
    elapsed = time.monotonic() - started
    stop.set()

    assert 0.9 < elapsed < 2.5
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SCHEDULED, 1)
    assert row.reason == "e-mail provider: no complete answer within 1 s"


def test_reception_re_ticks_an_address_checked_with_the_client(camille, sent, reception):
    post(mailgun_event(permanent_failure(camille.email)))
    staff = factories.verified_http_client(reception)

    staff.post(reverse("notifications:client_email", args=[camille.pk]))

    assert preference(camille).email_valid is True
    line = PreferenceChange.objects.filter(client=camille, what="email_valid").first()
    assert (line.new_value, line.how, line.by) == ("yes", "staff", reception)


def test_a_client_cannot_re_tick_through_the_staff_page(camille, sent, other_client_user):
    post(mailgun_event(permanent_failure(camille.email)))

    for user in (camille.user, other_client_user):
        response = factories.http_client(user).post(
            reverse("notifications:client_email", args=[camille.pk])
        )
        assert response.status_code in (403, 404)
    assert preference(camille).email_valid is False


def test_a_client_who_stopped_text_messages_gets_none_instead(camille, sent, plan):
    no_sms = {topic.value: ["email"] for topic in Topic}  # every topic, new ones too
    Preference.objects.filter(client=camille).update(phone_verified=True, channels=no_sms)
    post(mailgun_event(permanent_failure(camille.email)))

    plan(services.document_available, client_ids=[camille.pk], document_id=7)

    row = Notification.objects.get(client=camille, kind=Kind.DOCUMENT_AVAILABLE)
    assert (row.channel, row.status) == (Channel.EMAIL, Status.SUPPRESSED)
    assert row.reason == "E-mail address bounced."


def test_the_webhook_still_works_while_redis_is_down(camille, sent, monkeypatch):
    class Down:
        """What the fail-soft cache answers while Redis is away: add stores nothing, incr
        finds no key."""

        def add(self, *args, **kwargs) -> bool:
            return False

        def incr(self, *args, **kwargs) -> int:
            raise ValueError("no key")

        def get(self, *args, **kwargs) -> None:
            return None

        def set(self, *args, **kwargs) -> None:
            return None

    monkeypatch.setattr(anymail_hooks, "cache", Down())

    assert post(mailgun_event(permanent_failure(camille.email))).status_code == 200
    assert preference(camille).email_valid is False


def test_it_writes_the_reasons_in_the_site_s_language(camille, sent):
    factories.HttpClient().post(
        URL,
        data=mailgun_event(permanent_failure(camille.email)),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + b64encode(SECRET.encode()).decode(),
    )

    sent.refresh_from_db()
    assert sent.reason.startswith("Adresse e-mail en échec (rebond) : 5.1.1")
    assert preference(camille).email_invalid_reason == sent.reason


def test_a_brevo_hard_bounce_does_the_same(camille, sent, settings):
    """Brevo's transactional webhook (one JSON event, basic auth only), with the fields
    anymail's Brevo view reads."""
    settings.EMAIL_BACKEND_NAME = "brevo"
    brevo_id = "<202611240900.12345678901@smtp-relay.mailin.fr>"
    Notification.objects.filter(pk=sent.pk).update(provider_id=brevo_id)
    event = {
        "event": "hard_bounce",
        "email": camille.email,
        "id": 1234567,
        "date": "2026-11-24 10:00:00",
        "ts": int(NOW.timestamp()),
        "ts_event": int(NOW.timestamp()),
        "ts_epoch": int(NOW.timestamp() * 1000),
        "message-id": brevo_id,
        "reason": "550 5.1.1 <camille> Recipient address rejected: User unknown",
        "tag": "",
        "sending_ip": "185.41.28.109",
    }
    auth = "Basic " + b64encode(SECRET.encode()).decode()
    http = factories.http_client()

    response = http.post(
        "/notifications/anymail/brevo/tracking/",
        data=json.dumps(event),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )

    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == Status.FAILED
    assert "User unknown" in sent.reason
    assert preference(camille).email_valid is False
    forged = http.post(
        "/notifications/anymail/brevo/tracking/",
        data=json.dumps(event),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + b64encode(b"esp-hook:guess").decode(),
    )
    assert forged.status_code == 403


def test_the_outbox_of_many_bounces_takes_a_bounded_number_of_queries(
    camille, reception, django_assert_max_num_queries
):
    for index in range(30):
        Notification.objects.create(
            client=camille,
            recipient=camille.email,
            channel=Channel.EMAIL,
            kind=Kind.DOCUMENT_AVAILABLE,
            body="A document.",
            scheduled_at=NOW,
            sent_at=NOW,
            status=Status.SENT,
            provider_id=f"<bulk-{index}@mg.clinic.example>",
            idempotency_key=f"bulk:{index}",
        )
        services.record_email_event(
            event_type="bounced",
            message_id=f"<bulk-{index}@mg.clinic.example>",
            recipient="",
            at=NOW,
            detail="550 5.1.1 unknown",
        )
    staff = factories.verified_http_client(reception)

    with django_assert_max_num_queries(10):
        outbox = staff.get(reverse("notifications:outbox"))
    with django_assert_max_num_queries(12):
        history = staff.get(reverse("notifications:client_history", args=[camille.pk]))

    assert outbox.content.decode().count("E-mail address bounced: 550 5.1.1 unknown") == 30
    assert "bounced" in history.content.decode()
    assert PreferenceChange.objects.filter(client=camille, what="email_valid").count() == 1


class RejectingBackend(anymail_test.EmailBackend):
    """anymail's test backend, answering as an ESP whose suppression list holds the address."""

    def post_to_esp(self, payload, message):
        message.anymail_test_response = {
            "recipient_status": {
                email: AnymailRecipientStatus(message_id=None, status="rejected")
                for email in payload.recipient_emails
            }
        }
        return super().post_to_esp(payload, message)


def test_an_address_the_esp_refuses_at_sending_counts_as_a_bounce(camille, settings):
    settings.MAILERS = {
        "default": {"BACKEND": f"{__name__}.RejectingBackend"},
    }
    row = an_email(camille)

    assert services.dispatch(row.pk) == Status.FAILED

    row.refresh_from_db()
    assert (row.status, row.reason) == (Status.FAILED, "the e-mail provider refused the address")
    choice = preference(camille)
    assert (choice.email_valid, choice.email_invalid_reason) == (
        False,
        "the e-mail provider refused the address",
    )


def test_the_same_event_applied_twice_changes_nothing_more_even_without_the_cache(camille, sent):
    for _ in range(2):
        services.record_email_event(
            event_type="bounced", message_id=MESSAGE_ID, recipient="", at=NOW, detail="550"
        )

    assert PreferenceChange.objects.filter(client=camille, what="email_valid").count() == 1
    assert NotificationEvent.objects.filter(notification=sent, status=Status.FAILED).count() == 1


def test_a_late_bounce_does_not_undo_the_clients_confirmation(camille, sent, client_user):
    post(mailgun_event(permanent_failure(camille.email, at=NOW - timedelta(minutes=30))))
    factories.http_client(client_user).post(
        reverse("notifications:preferences"), {"email_correct": "1"}
    )

    # The ESP retries an older bounce (another of its events, sent before the confirmation).
    older = permanent_failure(camille.email, at=NOW - timedelta(minutes=20))
    older["delivery-status"]["message"] = "5.1.1 retried"
    assert post(mailgun_event(older)).status_code == 200

    assert preference(camille).email_valid is True
    assert PreferenceChange.objects.filter(client=camille, what="email_valid").count() == 2
