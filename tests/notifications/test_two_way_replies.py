"""Replies by text message: read leniently, matched to the client and the reminder, acted on
once, answered through the outbox; forged, replayed and stray webhooks change nothing."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from booking.models import Appointment, BookingRules
from messaging.models import Conversation, Message
from notifications.models import (
    Channel,
    InboundSms,
    Kind,
    Notification,
    Preference,
    PreferenceChange,
    Status,
    Topic,
)
from notifications.replies import intent_of
from tests import factories
from tests.booking.factories import at, make_appointment, make_practitioner, make_service
from tests.notifications.sms_stub import twilio_inbound, twilio_post, twilio_status

DAY = date(2026, 6, 2)  # Tuesday; the reminder went on Monday 1 June at 10:00
NOW = at(date(2026, 6, 1), 10, 5)
INBOUND = "notifications:twilio_inbound"
Outcome = InboundSms.Outcome
_sids = iter(range(1, 10_000))


def sid() -> str:
    return f"SM{next(_sids):032d}"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def camille(client_user):
    client = client_user.client
    client.phone = "+33612345678"
    client.preferred_language = "en"
    client.save(update_fields=["phone", "preferred_language"])
    Preference.objects.update_or_create(
        client=client, defaults={"phone_verified": True, "marketing_opt_in": True}
    )
    return client


@pytest.fixture
def appointment(camille, site, vet):
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    return make_appointment(
        client=camille,
        patient=factories.make_patient(camille, name="Filou"),
        service=make_service(site, [dubois]),
        practitioner=dubois,
        starts_at=at(DAY, 10),
    )


@pytest.fixture
def reminder(appointment):
    """The reminder that asked for an answer, sent through Twilio yesterday... an hour ago."""
    return Notification.objects.create(
        client=appointment.client,
        recipient="+33612345678",
        channel=Channel.SMS,
        kind=Kind.APPOINTMENT_REMINDER,
        body="Tests: reminder, your appointment on Tuesday 2 June at 10:00.",
        scheduled_at=NOW - timedelta(minutes=5),
        status=Status.SENT,
        sent_at=NOW - timedelta(minutes=5),
        provider_id="SM" + "7" * 32,
        idempotency_key=f"reminder-{appointment.pk}",
        subject_type="appointment",
        subject_id=appointment.pk,
        subject_version=appointment.version,
    )


def reply(http, text: str, *, message_sid: str | None = None, sender="+33612345678"):
    return twilio_post(http, reverse(INBOUND), twilio_inbound(message_sid or sid(), text, sender))


def answers() -> list[str]:
    return list(
        Notification.objects.filter(kind=Kind.SMS_ANSWER)
        .order_by("pk")
        .values_list("body", flat=True)
    )


# --- Reading the words ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("OUI", "yes"),
        (" oui ", "yes"),
        ("Oui !", "yes"),
        ("o k", "yes"),
        ("1", "yes"),
        ("Ok.", "yes"),
        ("non", "no"),
        ("2", "no"),
        ("Annuler", "no"),
        ("ANNULÉ", "no"),
        ("Stop", "stop"),
        ("arrêt", "stop"),
        ("👍", "text"),
        ("oui mais je serai en retard", "text"),
        ("   ", "empty"),
    ],
)
def test_keywords_are_read_whatever_the_case_spaces_accents_and_punctuation(text, intent):
    assert intent_of(text) == intent


# --- Confirm and cancel --------------------------------------------------------------------


def test_oui_in_lower_case_with_spaces_confirms_by_sms_and_answers(
    twilio_settings, reminder, appointment, client
):
    response = reply(client, "  oui  ")
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.confirmed_via == "sms"
    assert appointment.confirmed_at == NOW
    assert answers() == ["Tests: thank you, your appointment is confirmed."]
    answer = Notification.objects.get(kind=Kind.SMS_ANSWER)
    assert (answer.recipient, answer.urgent, answer.status) == ("+33612345678", True, "scheduled")


def test_a_replayed_message_sid_acts_once(twilio_settings, reminder, appointment, client):
    message_sid = sid()
    reply(client, "OUI", message_sid=message_sid)
    appointment.refresh_from_db()
    first = appointment.confirmed_at
    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        again = reply(client, "OUI", message_sid=message_sid)
    assert again.status_code == 200
    appointment.refresh_from_db()
    assert appointment.confirmed_at == first
    assert InboundSms.objects.count() == 1
    assert len(answers()) == 1


def test_a_second_oui_says_it_was_already_confirmed(twilio_settings, reminder, appointment, client):
    reply(client, "oui")
    reply(client, "OK")
    assert InboundSms.objects.order_by("pk").last().outcome == Outcome.ALREADY
    assert answers()[-1] == "Tests: your appointment was already confirmed. Thank you."


def test_non_cancels_within_the_rules(twilio_settings, reminder, appointment, client):
    rules = BookingRules.current()
    rules.cutoff_hours = 2  # the appointment is tomorrow at 10:00: still time
    rules.save()
    reply(client, "NON")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert not appointment.cancelled_by_clinic
    assert answers() == ["Tests: your appointment is cancelled. Thank you for telling us."]


def test_non_after_the_cut_off_changes_nothing_and_gives_the_clinic_number(
    twilio_settings, reminder, appointment, client
):
    rules = BookingRules.current()
    rules.cutoff_hours = 48
    rules.save()
    reply(client, "2")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    assert InboundSms.objects.get().outcome == Outcome.TOO_LATE
    assert answers() == [
        "Tests: it is too late to cancel by text message. Please call us on 04 78 00 00 00."
    ]


@pytest.mark.parametrize("change", ["moved", "cancelled"])
def test_a_reply_after_the_appointment_moved_or_was_cancelled_changes_nothing(
    twilio_settings, reminder, appointment, client, change
):
    appointment.version += 1
    if change == "cancelled":
        appointment.status = Appointment.Status.CANCELLED
    appointment.save(update_fields=["version", "status"])
    reply(client, "OUI")
    appointment.refresh_from_db()
    assert appointment.confirmed_at is None
    assert InboundSms.objects.get().outcome == Outcome.GONE
    assert answers() == [
        "Tests: we found no appointment waiting for this answer. Please call us on 04 78 00 00 00."
    ]


# --- Strangers, forgeries, nothing to read ----------------------------------------------------


def test_an_unknown_number_gets_nothing_back(twilio_settings, reminder, appointment, client):
    response = reply(client, "OUI", sender="+33698765432")
    assert response.status_code == 200
    assert response.content.decode().endswith("<Response></Response>")
    stored = InboundSms.objects.get()
    assert (stored.outcome, stored.client_id) == (Outcome.UNKNOWN_NUMBER, None)
    assert answers() == []
    appointment.refresh_from_db()
    assert appointment.confirmed_at is None


def test_a_forged_signature_changes_nothing(twilio_settings, reminder, appointment, client):
    params = twilio_inbound(sid(), "OUI")
    forged = twilio_post(client, reverse(INBOUND), params, token="not-the-auth-token")
    unsigned = client.post(reverse(INBOUND), params)
    tampered = twilio_post(client, reverse(INBOUND), params)  # signed, then one field changed
    assert (forged.status_code, unsigned.status_code) == (403, 403)
    assert tampered.status_code == 200  # the genuine one went through...
    params["Body"] = "NON"
    signature = tampered.wsgi_request.headers["X-Twilio-Signature"]
    replayed = client.post(reverse(INBOUND), params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert replayed.status_code == 403  # ...its signature does not cover another body
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    assert InboundSms.objects.count() == 1


def test_an_emoji_alone_goes_to_the_team_as_a_message(
    twilio_settings, reminder, appointment, client
):
    reply(client, "👍")
    stored = InboundSms.objects.get()
    assert stored.outcome == Outcome.MESSAGE
    conversation = Conversation.objects.get(client=appointment.client)
    assert conversation.subject == "Text message"
    assert Message.objects.filter(conversation=conversation, kind="client").count() == 1
    assert answers() == [
        "Tests: your message has been passed on to the team. In an emergency, call 04 78 00 00 99."
    ]
    appointment.refresh_from_db()
    assert appointment.confirmed_at is None


def test_emergency_words_in_a_text_message_apply(twilio_settings, reminder, appointment, client):
    reply(client, "Filou a mangé du chocolat, que faire ?")
    conversation = Conversation.objects.get(client=appointment.client)
    assert conversation.urgent
    assert Message.objects.filter(conversation=conversation, kind="emergency").exists()


def test_an_empty_text_is_kept_and_not_answered(twilio_settings, reminder, client):
    reply(client, "   ")
    assert InboundSms.objects.get().outcome == Outcome.EMPTY
    assert answers() == []


# --- STOP ------------------------------------------------------------------------------------


def test_stop_turns_campaigns_off_then_again_every_text_message(
    twilio_settings, reminder, camille, client
):
    reply(client, "STOP")
    preference = Preference.objects.get(client=camille)
    assert not preference.marketing_opt_in
    assert preference.channels_for(Topic.APPOINTMENTS) == ["email", "sms"]  # reminders go on
    journal = PreferenceChange.objects.filter(client=camille, how="sms_reply")
    assert [(j.what, j.new_value) for j in journal] == [("marketing_opt_in", "no")]
    assert "Appointment reminders continue; send STOP again" in answers()[-1]

    reply(client, "stop")
    preference.refresh_from_db()
    assert all("sms" not in preference.channels_for(topic) for topic in Topic)
    assert "no more text messages from us" in answers()[-1]
    assert InboundSms.objects.order_by("pk").last().outcome == Outcome.STOP_ALL


# --- Receipts -----------------------------------------------------------------------------------


def test_a_late_sent_after_delivered_does_not_step_back(twilio_settings, reminder, client):
    path = reverse("notifications:twilio_status")
    assert (
        twilio_post(client, path, twilio_status(reminder.provider_id, "delivered")).status_code
        == 200
    )
    twilio_post(client, path, twilio_status(reminder.provider_id, "sent"))
    twilio_post(client, path, twilio_status(reminder.provider_id, "failed", "30003"))
    reminder.refresh_from_db()
    assert reminder.status == Status.DELIVERED
    assert list(reminder.events.values_list("status", flat=True)) == ["delivered"]


def test_undelivered_fails_the_row_with_the_reason(twilio_settings, reminder, client):
    path = reverse("notifications:twilio_status")
    twilio_post(client, path, twilio_status(reminder.provider_id, "undelivered", "30005"))
    reminder.refresh_from_db()
    assert reminder.status == Status.FAILED
    assert "Twilio error 30005" in reminder.reason


def test_a_receipt_for_an_unknown_message_changes_nothing(twilio_settings, reminder, client):
    path = reverse("notifications:twilio_status")
    response = twilio_post(client, path, twilio_status("SM" + "0" * 32, "delivered"))
    assert response.status_code == 200
    reminder.refresh_from_db()
    assert reminder.status == Status.SENT


def test_a_forged_receipt_changes_nothing(twilio_settings, reminder, client):
    path = reverse("notifications:twilio_status")
    forged = twilio_post(client, path, twilio_status(reminder.provider_id, "failed"), token="x")
    assert forged.status_code == 403
    reminder.refresh_from_db()
    assert reminder.status == Status.SENT


def test_webhooks_are_rate_limited_per_address(twilio_settings, reminder, client, settings):
    settings.NOTIFICATIONS_SMS_WEBHOOK_RATE_PER_MINUTE = 2
    path = reverse("notifications:twilio_status")
    codes = [
        twilio_post(client, path, twilio_status(reminder.provider_id, "sent")).status_code
        for _ in range(3)
    ]
    other = twilio_post(
        client, path, twilio_status(reminder.provider_id, "sent"), REMOTE_ADDR="192.0.2.7"
    )
    assert codes == [200, 200, 429]
    assert other.status_code == 200


def test_the_log_line_holds_no_text_and_no_number(twilio_settings, reminder, client, caplog):
    with caplog.at_level("INFO", logger="notifications.views"):
        reply(client, "oui merci docteur")
    lines = [r.getMessage() for r in caplog.records if r.name == "notifications.views"]
    assert lines == ["sms webhook provider=twilio what=inbound result=message status=200"]


def test_an_old_unconfirmed_reminder_is_still_the_one_answered(twilio_settings, reminder, client):
    """The latest reminder sent to the number is the one a keyword answers, whenever it went."""
    Notification.objects.filter(pk=reminder.pk).update(
        sent_at=datetime(2026, 5, 31, 8, 0, tzinfo=NOW.tzinfo)
    )
    reply(client, "oui")
    assert InboundSms.objects.get().notification_id == reminder.pk


# --- Faults ------------------------------------------------------------------------------------


def test_a_cache_that_does_not_answer_does_not_stop_replies(
    twilio_settings, reminder, appointment, client, monkeypatch
):
    """Redis away: the rate limit cannot count (the Redis cache answers from local memory
    meanwhile; a cache that raises anyway lets the webhook through) and the reply still acts."""
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "incr", down)
    monkeypatch.setattr(cache, "add", down)
    assert reply(client, "OUI").status_code == 200
    appointment.refresh_from_db()
    assert appointment.confirmed_via == "sms"


def test_a_provider_gone_when_answering_retries_the_answer_later(
    twilio_settings, reminder, appointment, client, run_tasks, django_capture_on_commit_callbacks
):
    """The reply is acted on at once; our answer waits in the outbox while Twilio is away."""
    twilio_settings.NOTIFICATIONS_TWILIO_API_URL = "http://127.0.0.1:9"  # nothing listens
    with django_capture_on_commit_callbacks(execute=True):
        reply(client, "OUI")
    run_tasks()
    answer = Notification.objects.get(kind=Kind.SMS_ANSWER)
    assert answer.status == Status.SCHEDULED
    assert "unreachable" in answer.reason
    appointment.refresh_from_db()
    assert appointment.confirmed_via == "sms"


# --- Personal data ----------------------------------------------------------------------------


def test_erasing_the_client_deletes_their_text_messages(
    twilio_settings, reminder, camille, client, manager
):
    from privacy.services import erase_client

    reply(client, "Filou tousse depuis hier")
    assert InboundSms.objects.filter(client=camille).exists()
    erase_client(camille, by=manager)
    assert not InboundSms.objects.filter(text__contains="tousse").exists()
    assert not InboundSms.objects.filter(from_number="+33612345678").exists()


def test_a_strangers_text_is_deleted_after_thirty_days(twilio_settings, reminder, client):
    reply(client, "qui est-ce ?", sender="+33698765432")
    assert InboundSms.objects.filter(client=None).count() == 1
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        reply(client, "OUI")  # any reply received later
    assert not InboundSms.objects.filter(client=None).exists()


def test_the_database_away_answers_503_and_keeps_nothing_half_done(
    twilio_settings, reminder, appointment, client, monkeypatch
):
    """PostgreSQL restarting while a reply comes in: the provider gets a 503 with Retry-After
    (the reply's transaction is whole or not made); appointment unchanged, nothing stored."""
    from django.db import OperationalError

    from notifications import replies

    def away(**kwargs):
        raise OperationalError("the database is restarting")

    monkeypatch.setattr(replies, "receive", away)
    client.raise_request_exception = False
    response = reply(client, "OUI")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    appointment.refresh_from_db()
    assert appointment.confirmed_at is None
    assert not InboundSms.objects.exists()
