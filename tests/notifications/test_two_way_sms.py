"""Done when: a reminder leaves through Twilio's adapter to a stub on 127.0.0.1, the stub's
signed "OUI" comes back to the inbound webhook, and the agenda shows "confirmé (SMS)".

Real HTTP both ways: our adapter posts to the stub server; the stub's callbacks (built and
signed as Twilio does) go through the Django test client to the real webhook views.
"""

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from booking.models import Appointment
from notifications.models import Channel, InboundSms, Kind, Notification, Preference, Status
from tests import factories
from tests.booking.factories import at, book, make_practitioner, make_service
from tests.notifications.sms_stub import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    TWILIO_NUMBER,
    basic_auth,
    twilio_inbound,
    twilio_post,
    twilio_status,
)

# Tuesday 2 June 2026 at 10:00 Paris; booked the Friday before; the 24 h text reminder goes
# on Monday 1 June at 10:00 (no Sunday, no holiday: Whit Monday 2026 is 25 May).
DAY = date(2026, 6, 2)
BOOKED_AT = at(date(2026, 5, 29), 10)
REMINDER_AT = at(date(2026, 6, 1), 10)


@pytest.fixture(autouse=True)
def _reminder_morning():
    """Frozen before the other fixtures, so the staff session is opened the morning it is used
    (one opened at make test's March instant would be past its limits by June)."""
    with time_machine.travel(REMINDER_AT, tick=False):
        yield


@pytest.fixture
def camille(client_user):
    client = client_user.client
    client.phone = "+33612345678"
    client.preferred_language = "fr"
    client.save(update_fields=["phone", "preferred_language"])
    Preference.objects.update_or_create(client=client, defaults={"phone_verified": True})
    return client


@pytest.fixture
def appointment(camille, client_user, site, vet, plan):
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    consultation = make_service(site, [dubois])
    filou = factories.make_patient(camille, name="Filou")
    with time_machine.travel(BOOKED_AT, tick=False):
        booked = plan(
            book, client_user, filou, consultation, at(DAY, 10), now=BOOKED_AT, practitioner=dubois
        )
    return booked.appointment


def test_a_reminder_goes_through_twilio_and_a_signed_oui_confirms_it(
    twilio_settings,
    provider_stub,
    appointment,
    as_reception,
    client,
    run_tasks,
    django_capture_on_commit_callbacks,
):
    # 1. The reminder leaves through the Twilio adapter to the stub.
    with time_machine.travel(REMINDER_AT, tick=False):
        run_tasks()
    reminder = Notification.objects.get(
        kind=Kind.APPOINTMENT_REMINDER, channel=Channel.SMS, status=Status.SENT
    )
    sent = [r for r in provider_stub.requests if r["form"]["Body"] == reminder.body]
    assert len(sent) == 1
    request = sent[0]
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert basic_auth(request) == (ACCOUNT_SID, AUTH_TOKEN)
    assert request["form"]["To"] == "+33612345678"
    assert request["form"]["From"] == TWILIO_NUMBER
    assert request["form"]["StatusCallback"] == "http://testserver" + reverse(
        "notifications:twilio_status"
    )
    assert reminder.provider_id.startswith("SM")
    # It tells Camille how to answer (replies are possible: Twilio, from a number).
    assert reminder.body.endswith("Répondez OUI pour confirmer, NON pour annuler.")

    # 2. Twilio says it was delivered (signed status callback).
    with time_machine.travel(REMINDER_AT + timedelta(seconds=20), tick=False):
        delivered = twilio_post(
            client,
            reverse("notifications:twilio_status"),
            twilio_status(reminder.provider_id, "delivered"),
        )
    assert delivered.status_code == 200
    reminder.refresh_from_db()
    assert reminder.status == Status.DELIVERED

    # 3. Camille answers " oui " and Twilio posts it, signed, to the inbound webhook.
    replied_at = REMINDER_AT + timedelta(minutes=7)
    with (
        time_machine.travel(replied_at, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        answer = twilio_post(
            client,
            reverse("notifications:twilio_inbound"),
            twilio_inbound("SM" + "9" * 32, " oui "),
        )
        assert answer.status_code == 200
        assert answer["Content-Type"].startswith("text/xml")
        assert answer.content.decode().endswith("<Response></Response>")
    with time_machine.travel(replied_at, tick=False):
        run_tasks()  # our answer goes out through the outbox
    appointment.refresh_from_db()
    assert appointment.confirmed_at == replied_at
    assert appointment.confirmed_via == Appointment.ConfirmedVia.SMS
    inbound = InboundSms.objects.get()
    assert (inbound.outcome, inbound.client_id, inbound.notification_id) == (
        InboundSms.Outcome.CONFIRMED,
        appointment.client_id,
        reminder.pk,
    )
    assert provider_stub.texts()[-1] == "Tests : merci, votre rendez-vous est confirmé."
    assert inbound.answer.status == Status.SENT

    # 4. Reception sees "Confirmé (SMS)" on the agenda, in French.
    with time_machine.travel(replied_at + timedelta(minutes=1), tick=False):
        page = as_reception.get(
            reverse("booking:agenda"), {"day": DAY.isoformat()}, HTTP_ACCEPT_LANGUAGE="fr"
        )
    html = page.content.decode()
    assert page.status_code == 200
    assert "Confirmé (SMS)" in html
    assert f'id="appointment-{appointment.pk}"' in html
