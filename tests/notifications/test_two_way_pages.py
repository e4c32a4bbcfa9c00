"""What staff see of two-way SMS: the manager's explanation of senders, replies in the outbox
and on the client's page (bounded queries), strangers kept out."""

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from notifications.models import Channel, InboundSms, Kind, Notification, Status
from tests.booking.factories import at

NOW = at(date(2026, 6, 1), 10, 5)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_manager_learns_replies_work_with_twilio_and_a_number(twilio_settings, as_manager):
    html = as_manager.get(reverse("notifications:templates")).content.decode()
    assert "Replies by text message" in html
    assert 'data-testid="replies-possible"' in html
    assert "http://testserver/notifications/webhooks/sms/twilio/inbound/" in html


def test_the_manager_is_warned_when_an_alphanumeric_sender_cannot_be_answered(
    twilio_settings, as_manager
):
    twilio_settings.NOTIFICATIONS_TWILIO_FROM = "CLINIQUE"
    html = as_manager.get(reverse("notifications:templates")).content.decode()
    assert 'data-testid="replies-impossible"' in html
    assert "Replies are impossible:" in html
    assert "the sender “CLINIQUE” is a name" in html
    assert "ACCUEIL_TWILIO_FROM" in html


def test_a_one_way_provider_says_clients_cannot_answer(as_manager):
    html = as_manager.get(reverse("notifications:templates")).content.decode()
    assert "clients cannot answer by text message" in html


def test_the_manager_page_speaks_french(ovh_settings, as_manager):
    ovh_settings.NOTIFICATIONS_OVH_SENDER_FOR_RESPONSE = False
    html = as_manager.get(
        reverse("notifications:templates"), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "Réponses par SMS" in html
    assert "Réponses impossibles" in html


def _replies(client, count: int) -> None:
    for n in range(count):
        answer = Notification.objects.create(
            client=client,
            recipient="+33612345678",
            channel=Channel.SMS,
            kind=Kind.SMS_ANSWER,
            body="Tests: thank you",
            scheduled_at=NOW,
            status=Status.SENT,
            idempotency_key=f"answer-{client.pk}-{n}",
        )
        InboundSms.objects.create(
            provider="twilio",
            provider_message_id=f"SM{client.pk}-{n}",
            from_number="+33612345678",
            text=f"Merci, à demain {n}",
            received_at=NOW - timedelta(minutes=n),
            outcome=InboundSms.Outcome.MESSAGE,
            client=client,
            answer=answer,
        )


def test_the_outbox_lists_replies_in_bounded_queries(
    as_reception, client_user, other_client_user, django_assert_max_num_queries
):
    _replies(client_user.client, 3)
    InboundSms.objects.create(
        provider="twilio",
        provider_message_id="SM-stranger",
        from_number="+33698765432",
        text="qui est-ce ?",
        outcome=InboundSms.Outcome.UNKNOWN_NUMBER,
    )
    as_reception.get(reverse("notifications:outbox"))  # warm the session and the caches
    with django_assert_max_num_queries(12):
        html = as_reception.get(reverse("notifications:outbox")).content.decode()
    assert "Text messages received" in html
    assert "Merci, à demain 0" in html
    assert "Passed to the clinic as a message" in html
    assert "unknown number" in html
    _replies(other_client_user.client, 15)
    with django_assert_max_num_queries(12):
        as_reception.get(reverse("notifications:outbox"))


def test_the_clients_page_shows_only_their_replies(as_reception, client_user, other_client_user):
    _replies(client_user.client, 1)
    _replies(other_client_user.client, 1)
    InboundSms.objects.filter(client=other_client_user.client).update(text="secret d'autrui")
    html = as_reception.get(
        reverse("notifications:client_history", args=[client_user.client.pk])
    ).content.decode()
    assert "Merci, à demain 0" in html
    assert "secret d'autrui" not in html


def test_a_client_cannot_see_the_outbox_or_anothers_history(as_client, other_client_user):
    _replies(other_client_user.client, 1)
    assert as_client.get(reverse("notifications:outbox")).status_code == 403
    response = as_client.get(
        reverse("notifications:client_history", args=[other_client_user.client.pk])
    )
    assert response.status_code in (403, 404)
    assert "Merci" not in response.content.decode()


def test_the_reminders_page_shows_the_answer_it_got(twilio_settings, as_reception, client_user):
    reminder = Notification.objects.create(
        client=client_user.client,
        recipient="+33612345678",
        channel=Channel.SMS,
        kind=Kind.APPOINTMENT_REMINDER,
        body="Tests: reminder",
        scheduled_at=NOW,
        status=Status.DELIVERED,
        idempotency_key="reminder-page",
    )
    InboundSms.objects.create(
        provider="twilio",
        provider_message_id="SM-page",
        from_number="+33612345678",
        text="oui",
        outcome=InboundSms.Outcome.CONFIRMED,
        client=client_user.client,
        notification=reminder,
    )
    html = as_reception.get(reverse("notifications:detail", args=[reminder.pk])).content.decode()
    assert "Delivered" in html
    assert "Text messages received" in html
    assert "Appointment confirmed" in html
