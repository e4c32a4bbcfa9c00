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
