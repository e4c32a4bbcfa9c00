import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import override_settings
from django.utils import translation

from messaging import services
from messaging.models import Conversation, Kind, Message, Presence, Status
from messaging.stats import median_first_response
from portal.lib import hours
from portal.lib.crypto import DecryptionError
from tests import factories
from tests.messaging.factories import make_conversation


def test_it_numbers_messages_and_encrypts_bodies(conversation, vet):
    services.post_message(conversation_id=conversation.pk, author=vet, body="Venez demain.")
    seqs = list(conversation.messages.values_list("seq", flat=True))
    assert seqs == [1, 2]
    raw = Message.objects.get(conversation=conversation, seq=2)
    assert b"Venez" not in bytes(raw.body_blob)
    assert raw.body == "Venez demain."


def test_it_binds_the_ciphertext_to_its_row(conversation, vet):
    services.post_message(conversation_id=conversation.pk, author=vet, body="Secret")
    first, second = Message.objects.filter(conversation=conversation).order_by("seq")
    first.body_key, first.body_blob = second.body_key, second.body_blob
    with pytest.raises(DecryptionError):
        _ = first.body


def test_it_does_not_double_a_resubmitted_message(conversation, client_user):
    one = services.post_message(
        conversation_id=conversation.pk, author=client_user, body="Re", client_token="t1"
    )
    two = services.post_message(
        conversation_id=conversation.pk, author=client_user, body="Re", client_token="t1"
    )
    assert two.duplicate
    assert two.messages[0].pk == one.messages[0].pk
    assert conversation.messages.count() == 2


def test_it_refuses_another_clients_conversation(conversation, other_client_user):
    with pytest.raises(PermissionDenied):
        services.post_message(conversation_id=conversation.pk, author=other_client_user, body="x")
    assert conversation.messages.count() == 1


def test_it_refuses_a_patient_of_another_client(client_user, other_client_user):
    strangers_dog = factories.make_patient(other_client_user, name="Rex")
    with pytest.raises(PermissionDenied):
        make_conversation(client_user, patient=strangers_dog)
    assert not Conversation.objects.exists()


def test_it_refuses_empty_and_too_long_bodies(conversation, client_user):
    with pytest.raises(ValidationError):
        services.post_message(conversation_id=conversation.pk, author=client_user, body="   ")
    with override_settings(ACCUEIL_MESSAGING_MAX_BODY=100), pytest.raises(ValidationError):
        services.post_message(conversation_id=conversation.pk, author=client_user, body="x" * 101)


def test_it_moves_the_status_with_who_wrote_last(conversation, client_user, vet):
    assert conversation.status == Status.WAITING_CLINIC
    services.post_message(conversation_id=conversation.pk, author=vet, body="Oui")
    conversation.refresh_from_db()
    assert conversation.status == Status.WAITING_CLIENT
    assert conversation.clinic_read_seq == conversation.last_seq
    services.set_closed(conversation=conversation, closed=True)
    services.post_message(conversation_id=conversation.pk, author=client_user, body="Encore")
    conversation.refresh_from_db()
    assert conversation.status == Status.WAITING_CLINIC


def test_it_answers_emergency_words_at_once_and_flags_urgent(client_user, clinic):
    conversation = make_conversation(client_user, body="Mon chien SAIGNE de la patte")
    kinds = list(conversation.messages.values_list("kind", flat=True))
    assert kinds == [Kind.CLIENT, Kind.EMERGENCY]
    conversation.refresh_from_db()
    assert conversation.urgent
    reply = conversation.messages.get(kind=Kind.EMERGENCY).body
    assert "78 00 00 00" in reply
    assert "78 00 00 99" in reply
    assert "diagnos" not in reply.lower()


def test_it_writes_the_emergency_reply_in_the_clients_language(client_user, clinic):
    client_user.client.preferred_language = "en"
    client_user.client.save(update_fields=["preferred_language"])
    conversation = make_conversation(client_user, body="She is not breathing")
    reply = conversation.messages.get(kind=Kind.EMERGENCY).body
    assert reply.startswith("Automatic reply")


def test_it_sends_no_closed_note_while_hours_are_unknown(conversation, client_user, hours_unknown):
    assert not conversation.messages.filter(kind=Kind.CLOSED_NOTE).exists()
    hours_unknown.set_opening_provider(lambda now: None)  # registered, but no hours set
    services.post_message(conversation_id=conversation.pk, author=client_user, body="Encore")
    assert not conversation.messages.filter(kind=Kind.CLOSED_NOTE).exists()


def test_it_sends_no_closed_note_while_open(conversation, client_user, hours_unknown):
    hours_unknown.set_opening_provider(lambda now: now)
    services.post_message(conversation_id=conversation.pk, author=client_user, body="Encore")
    assert not conversation.messages.filter(kind=Kind.CLOSED_NOTE).exists()


def test_it_notes_out_of_hours_once_with_the_next_opening(client_user, clinic):
    opening = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 09:00 in Paris
    hours.set_opening_provider(lambda now: opening)
    try:
        now = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
        conversation = services.start_conversation(
            client=client_user.client, author=client_user, subject="Soir", body="Bonsoir", now=now
        ).conversation
        services.post_message(
            conversation_id=conversation.pk, author=client_user, body="Encore", now=now
        )
    finally:
        hours.set_opening_provider(None)
    notes = conversation.messages.filter(kind=Kind.CLOSED_NOTE)
    assert notes.count() == 1
    assert "09:00" in notes.get().body


def test_it_asks_for_the_offline_notice_only_for_clinic_messages(
    conversation, vet, notices, django_capture_on_commit_callbacks
):
    notices.assert_not_called()
    with django_capture_on_commit_callbacks(execute=True):
        posted = services.post_message(conversation_id=conversation.pk, author=vet, body="Oui")
    notices.assert_called_once_with(
        client_id=conversation.client_id,
        message_id=posted.messages[0].pk,
        delay=timedelta(minutes=10),
    )


def test_the_checker_holds_while_unread_and_away(conversation, vet, client_user):
    message = services.post_message(conversation_id=conversation.pk, author=vet, body="Oui")
    message = message.messages[0]
    assert services.message_still_unread(message.pk, 0)
    services.connection_opened(channel_name="c1", user=client_user, conversation_id=conversation.pk)
    assert not services.message_still_unread(message.pk, 0)
    services.connection_closed(channel_name="c1")
    assert services.message_still_unread(message.pk, 0)
    conversation.refresh_from_db()
    services.mark_read(conversation=conversation, user=client_user, seq=message.seq)
    assert not services.message_still_unread(message.pk, 0)


def test_the_checker_ignores_a_presence_left_by_a_dead_process(conversation, vet, client_user):
    message = services.post_message(conversation_id=conversation.pk, author=vet, body="Oui")
    Presence.objects.create(
        channel_name="gone",
        user=client_user,
        conversation=conversation,
        seen_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    assert services.message_still_unread(message.messages[0].pk, 0)


def test_the_registered_checker_is_messagings():
    from notifications.contracts import _checkers

    assert _checkers["message"] is services.message_still_unread


def test_read_marks_only_move_forward(conversation, vet, client_user):
    services.post_message(conversation_id=conversation.pk, author=vet, body="1")
    conversation.refresh_from_db()
    assert services.mark_read(conversation=conversation, user=client_user, seq=2)
    assert not services.mark_read(conversation=conversation, user=client_user, seq=1)
    assert not services.mark_read(conversation=conversation, user=client_user, seq=99)
    conversation.refresh_from_db()
    assert conversation.client_read_seq == 2


@pytest.mark.usefixtures("one_clock_minute")
def test_it_rate_limits_floods(conversation, client_user):
    with override_settings(ACCUEIL_MESSAGING_RATE_PER_MINUTE=3):
        for _ in range(2):  # the first message already counted
            services.post_message(conversation_id=conversation.pk, author=client_user, body="x")
        with pytest.raises(services.RateLimited) as refused:
            services.post_message(conversation_id=conversation.pk, author=client_user, body="x")
    with translation.override("en"):
        assert "too fast" in str(refused.value)
    assert conversation.messages.count() == 3


def test_it_computes_the_median_first_response_per_day(client_user, vet):
    asked = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for minutes in (10, 20, 60):
        posted = services.start_conversation(
            client=client_user.client, author=client_user, subject="Q", body="?", now=asked
        )
        services.post_message(
            conversation_id=posted.conversation.pk,
            author=vet,
            body="!",
            now=asked + timedelta(minutes=minutes),
        )
    rows = median_first_response(now=asked + timedelta(days=1))
    assert [(row.day.isoformat(), row.median_minutes, row.conversations) for row in rows] == [
        ("2026-11-23", 20, 3)
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clearable_access_log")
def test_concurrent_posts_take_distinct_increasing_numbers(client_user, vet):
    conversation = make_conversation(client_user)
    errors: list[Exception] = []

    def post(author, count):
        try:
            for index in range(count):
                services.post_message(
                    conversation_id=conversation.pk, author=author, body=f"m{index}"
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    with override_settings(ACCUEIL_MESSAGING_RATE_PER_MINUTE=1000):
        threads = [threading.Thread(target=post, args=(user, 15)) for user in (client_user, vet)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    seqs = sorted(conversation.messages.values_list("seq", flat=True))
    assert seqs == list(range(1, 32))


def test_the_emergency_reply_follows_the_language_the_client_writes_in(client_user, clinic):
    posted = services.start_conversation(
        client=client_user.client,
        author=client_user,
        subject="Help",
        body="He is bleeding",
        language="en",
    )
    reply = posted.conversation.messages.get(kind=Kind.EMERGENCY).body
    assert reply.startswith("Automatic reply")


@pytest.mark.django_db
def test_rotate_keys_rewraps_message_bodies_without_rewriting_them(
    conversation, client_user, settings
):
    import io

    from django.core.management import call_command

    from messaging.models import Message
    from portal.lib.crypto import generate_master_key_entry

    services.post_message(conversation_id=conversation.pk, author=client_user, body="Filou tousse")
    messages = list(Message.objects.filter(conversation=conversation).order_by("seq"))
    before = {m.pk: (m.body, bytes(m.body_blob), m.body_key) for m in messages}
    old = settings.ACCUEIL_MASTER_KEYS
    settings.ACCUEIL_MASTER_KEYS = f"{generate_master_key_entry('k2')},{old}"

    out = io.StringIO()
    call_command("rotate_keys", stdout=out, stderr=io.StringIO())

    assert f"messaging.Message.body_key: {len(messages)} re-wrapped" in out.getvalue()
    settings.ACCUEIL_MASTER_KEYS = settings.ACCUEIL_MASTER_KEYS.split(",")[0]  # old key gone
    for message in Message.objects.filter(conversation=conversation):
        body, blob, key = before[message.pk]
        assert message.body == body
        assert bytes(message.body_blob) == blob  # the ciphertext itself is untouched
        assert message.body_key != key
    assert "Filou tousse" in {body for body, _, _ in before.values()}
