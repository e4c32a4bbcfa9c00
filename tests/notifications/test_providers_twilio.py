"""Twilio's adapter against a stub on 127.0.0.1: the documented request, its answers, its
refusals; and the signature Twilio puts on its webhooks."""

import pytest
from django.urls import reverse

from notifications.backends import PermanentError, Sms, TransientError, get_sms_backend
from notifications.providers import twilio
from tests.notifications.sms_stub import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    TWILIO_INVALID_TO,
    TWILIO_NUMBER,
    basic_auth,
)

SMS = Sms(to="+33612345678", sender="Tests", body="Tests: rappel, RDV mardi à 10:00.", key="k-1")


def test_it_posts_the_documented_form_with_basic_auth(twilio_settings, provider_stub):
    provider_id = get_sms_backend().send(SMS)
    assert provider_id == "SM" + "1".zfill(32)
    [request] = provider_stub.requests
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert basic_auth(request) == (ACCOUNT_SID, AUTH_TOKEN)
    assert request["form"] == {
        "To": "+33612345678",
        "From": TWILIO_NUMBER,
        "Body": "Tests: rappel, RDV mardi à 10:00.",
        "StatusCallback": "http://testserver" + reverse("notifications:twilio_status"),
    }


def test_a_messaging_service_sid_is_sent_as_such(twilio_settings, provider_stub):
    twilio_settings.NOTIFICATIONS_TWILIO_FROM = "MG" + "0" * 32
    get_sms_backend().send(SMS)
    form = provider_stub.requests[0]["form"]
    assert form["MessagingServiceSid"] == "MG" + "0" * 32
    assert "From" not in form


def test_a_refused_number_is_permanent_with_twilios_reason(twilio_settings, provider_stub):
    provider_stub.answers.append((400, TWILIO_INVALID_TO))
    with pytest.raises(PermanentError, match="error 21211"):
        get_sms_backend().send(SMS)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_busy_or_broken_is_transient(twilio_settings, provider_stub, status):
    provider_stub.answers.append((status, {"code": 20429, "message": "Too Many Requests"}))
    with pytest.raises(TransientError, match=f"HTTP {status}"):
        get_sms_backend().send(SMS)


def test_an_answer_without_a_sid_is_transient(twilio_settings, provider_stub):
    provider_stub.answers.append((201, {"status": "queued"}))
    with pytest.raises(TransientError, match="without a message id"):
        get_sms_backend().send(SMS)


def test_unreachable_is_transient(twilio_settings, provider_stub):
    twilio_settings.NOTIFICATIONS_TWILIO_API_URL = "http://127.0.0.1:9"  # nothing listens
    with pytest.raises(TransientError, match="unreachable"):
        get_sms_backend().send(SMS)


def test_the_signature_matches_twilios_documented_example():
    """Twilio's security page example: auth token 12345, this URL and these parameters."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert twilio.signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_replies_are_possible_only_from_a_number_or_a_messaging_service(twilio_settings):
    backend = get_sms_backend()
    assert backend.replies_possible("Tests")  # ACCUEIL_TWILIO_FROM is a number
    twilio_settings.NOTIFICATIONS_TWILIO_FROM = "CLINIQUE"
    assert not backend.replies_possible("Tests")


def test_a_receipt_faster_than_our_own_write_is_applied_once_the_row_is_sent(
    twilio_settings, provider_stub, client, client_user
):
    """Twilio's "delivered" can reach the webhook before the worker has recorded "sent": it
    waits in the cache and dispatch applies it."""
    import time_machine
    from django.utils import timezone

    from notifications import services
    from notifications.models import Channel, Kind, Notification, Status
    from tests.notifications.sms_stub import twilio_post, twilio_status

    with time_machine.travel(timezone.now(), tick=False):
        row = Notification.objects.create(
            client=client_user.client,
            recipient="+33612345678",
            channel=Channel.SMS,
            kind=Kind.SMS_ANSWER,
            urgent=True,
            body="Tests: thank you",
            scheduled_at=timezone.now(),
            idempotency_key="early-receipt",
        )
        first_sid = "SM" + "1".zfill(32)  # the stub's first message id
        early = twilio_post(
            client, reverse("notifications:twilio_status"), twilio_status(first_sid, "delivered")
        )
        assert early.status_code == 200
        row.refresh_from_db()
        assert row.status == Status.SCHEDULED
        assert services.dispatch(row.pk) == "sent"
    row.refresh_from_db()
    assert (row.provider_id, row.status) == (first_sid, Status.DELIVERED)
