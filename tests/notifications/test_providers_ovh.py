"""OVHcloud SMS against a stub on 127.0.0.1: the signed job request, its answers; its unsigned
callbacks guarded by the token in their URL; the settings refuse it without credentials."""

import hashlib
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from booking.models import Appointment
from notifications.backends import PermanentError, Sms, TransientError, get_sms_backend
from notifications.models import Channel, InboundSms, Kind, Notification, Preference, Status
from tests import factories
from tests.booking.factories import at, make_appointment, make_practitioner, make_service
from tests.notifications.sms_stub import OVH_INVALID, OVH_TOKEN

ROOT = Path(__file__).resolve().parents[2]
SMS = Sms(to="+33612345678", sender="Tests", body="Tests: rappel, RDV mardi à 10:00.", key="k-1")
NOW = at(date(2026, 6, 1), 10, 5)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_it_posts_a_signed_job(ovh_settings, provider_stub):
    provider_id = get_sms_backend().send(SMS)
    assert provider_id == "264376021"
    [request] = provider_stub.requests
    assert request["path"] == "/1.0/sms/sms-ab12345-1/jobs"
    job = request["json"]
    assert job["receivers"] == ["+33612345678"]
    assert job["message"] == "Tests: rappel, RDV mardi à 10:00."
    assert job["senderForResponse"] is True  # a short number clients can answer
    assert "sender" not in job
    assert job["callBack"] == "http://testserver" + reverse(
        "notifications:ovh_status", args=[OVH_TOKEN]
    )
    headers = request["headers"]
    assert headers["X-Ovh-Application"] == "app-key"
    assert headers["X-Ovh-Consumer"] == "consumer-key"
    timestamp = headers["X-Ovh-Timestamp"]
    assert int(timestamp) == int(NOW.timestamp())
    url = provider_stub.url + "/1.0/sms/sms-ab12345-1/jobs"
    expected = "+".join(
        ["app-secret", "consumer-key", "POST", url, request["raw"].decode(), timestamp]
    )
    assert headers["X-Ovh-Signature"] == "$1$" + hashlib.sha1(expected.encode()).hexdigest()  # noqa: S324


def test_an_alphanumeric_sender_means_no_replies(ovh_settings, provider_stub):
    ovh_settings.NOTIFICATIONS_OVH_SENDER_FOR_RESPONSE = False
    backend = get_sms_backend()
    backend.send(SMS)
    assert provider_stub.requests[0]["json"]["sender"] == "Tests"
    assert not backend.replies_possible("Tests")


def test_an_invalid_receiver_is_permanent(ovh_settings, provider_stub):
    provider_stub.answers.append((200, OVH_INVALID))
    with pytest.raises(PermanentError, match="invalid"):
        get_sms_backend().send(SMS)


def test_a_refusal_is_permanent_and_a_5xx_transient(ovh_settings, provider_stub):
    provider_stub.answers.append((403, {"message": "This call has not been granted"}))
    with pytest.raises(PermanentError, match="not been granted"):
        get_sms_backend().send(SMS)
    provider_stub.answers.append((503, {"message": "busy"}))
    with pytest.raises(TransientError):
        get_sms_backend().send(SMS)


# --- Callbacks ------------------------------------------------------------------------------


@pytest.fixture
def reminder(client_user, site, vet):
    camille = client_user.client
    camille.phone = "+33612345678"
    camille.preferred_language = "en"
    camille.save(update_fields=["phone", "preferred_language"])
    Preference.objects.update_or_create(client=camille, defaults={"phone_verified": True})
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    appointment = make_appointment(
        client=camille,
        patient=factories.make_patient(camille, name="Filou"),
        service=make_service(site, [dubois]),
        practitioner=dubois,
        starts_at=at(date(2026, 6, 2), 10),
    )
    return Notification.objects.create(
        client=camille,
        recipient="+33612345678",
        channel=Channel.SMS,
        kind=Kind.APPOINTMENT_REMINDER,
        body="reminder",
        scheduled_at=NOW,
        status=Status.SENT,
        sent_at=NOW,
        provider_id="264376021",
        idempotency_key="r-1",
        subject_type="appointment",
        subject_id=appointment.pk,
        subject_version=appointment.version,
    )


def test_a_delivery_report_with_the_token_is_applied(ovh_settings, reminder, client):
    url = reverse("notifications:ovh_status", args=[OVH_TOKEN])
    response = client.get(url, {"id": "264376021", "dlr": "1", "descriptionDlr": "Delivered"})
    assert response.status_code == 200
    reminder.refresh_from_db()
    assert reminder.status == Status.DELIVERED
    # A late intermediate report does not step it back.
    client.get(url, {"id": "264376021", "dlr": "8"})
    reminder.refresh_from_db()
    assert reminder.status == Status.DELIVERED


def test_a_wrong_token_changes_nothing(ovh_settings, reminder, client):
    url = reverse("notifications:ovh_status", args=["x" * len(OVH_TOKEN)])
    assert client.get(url, {"id": "264376021", "dlr": "2"}).status_code == 403
    inbound = reverse("notifications:ovh_inbound", args=["x" * len(OVH_TOKEN)])
    params = {"id": "9001", "senderid": "+33612345678", "message": "OUI"}
    assert client.get(inbound, params).status_code == 403
    reminder.refresh_from_db()
    assert reminder.status == Status.SENT
    assert not InboundSms.objects.exists()


def test_a_reply_through_ovh_confirms_once(ovh_settings, reminder, client):
    url = reverse("notifications:ovh_inbound", args=[OVH_TOKEN])
    params = {
        "id": "9001",
        "senderid": "0612345678",  # OVHcloud may give the national form
        "message": "Oui",
        "date": (NOW - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S"),
    }
    assert client.get(url, params).status_code == 200
    assert client.get(url, params).status_code == 200  # a retry
    appointment = Appointment.objects.get(pk=reminder.subject_id)
    assert appointment.confirmed_via == "sms"
    assert InboundSms.objects.get().outcome == InboundSms.Outcome.CONFIRMED
    assert Notification.objects.filter(kind=Kind.SMS_ANSWER).count() == 1


def test_a_reply_stamped_days_ago_is_a_replay(ovh_settings, reminder, client):
    url = reverse("notifications:ovh_inbound", args=[OVH_TOKEN])
    params = {
        "id": "9002",
        "senderid": "+33612345678",
        "message": "NON",
        "date": (NOW - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S"),
    }
    assert client.get(url, params).status_code == 200
    assert not InboundSms.objects.exists()
    assert Appointment.objects.get(pk=reminder.subject_id).status == "booked"


# --- Settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "missing"),
    [("twilio", "ACCUEIL_TWILIO_AUTH_TOKEN"), ("ovh", "ACCUEIL_OVH_CALLBACK_TOKEN")],
)
def test_the_portal_refuses_a_provider_without_its_credentials(backend, missing, tmp_path):
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE", "REDIS", "ACCUEIL_TWILIO", "ACCUEIL_OVH"))
    }
    environment.update(
        {
            "ACCUEIL_VAR_DIR": str(tmp_path),
            "ACCUEIL_SMS_BACKEND": backend,
            "ACCUEIL_TWILIO_ACCOUNT_SID": "AC0",
            "ACCUEIL_TWILIO_FROM": "+33757000001",
            "ACCUEIL_OVH_APPLICATION_KEY": "a",
            "ACCUEIL_OVH_APPLICATION_SECRET": "b",
            "ACCUEIL_OVH_CONSUMER_KEY": "c",
            "ACCUEIL_OVH_SERVICE_NAME": "sms-x-1",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert f"ACCUEIL_SMS_BACKEND={backend} needs" in result.stderr
    assert missing in result.stderr
