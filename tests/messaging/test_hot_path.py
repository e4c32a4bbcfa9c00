"""A message's way through the consumer stays cheap, without giving up a check (issue 10, Speed).

The consumer's queries are compiled once at connect (messaging/prepared.py); every event still
re-checks access in one query, a catch-up reads the new messages in one more, and the
announcements leave from the event loop, not from the database thread.
"""

from datetime import timedelta
from importlib import import_module
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from messaging import live, services
from messaging.consumers import ConversationConsumer
from messaging.models import Message, QuickReply
from messaging.prepared import Prepared
from portal.models import AccessLog, User

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clearable_access_log"),
]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def connected(http, conversation) -> ConversationConsumer:
    """A consumer as its connect leaves it, in this thread, so that its queries are counted."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    session = store(session_key=http.cookies[settings.SESSION_COOKIE_NAME].value)
    user = User.objects.get(pk=session[SESSION_KEY])
    socket = ConversationConsumer()
    socket.scope = {
        "user": user,
        "session": session,
        "headers": [(b"user-agent", b"test")],
        "client": ["127.0.0.1", 5000],
        "url_route": {"kwargs": {"conversation_id": conversation.pk}},
    }
    socket.conversation_id = conversation.pk
    socket.language = "en"
    socket.channel_name = "test!socket"
    assert socket._conversation(socket._connecting_user()) is not None
    socket._time_zone()  # the clinic's, read once and kept a few seconds per socket
    return socket


def test_an_announced_message_reaches_a_socket_in_two_queries(
    as_vet, vet, client_user, conversation, django_assert_num_queries
):
    socket = connected(as_vet, conversation)
    socket.last_sent = 1
    services.assign(conversation=conversation, assignee=vet)
    services.post_message(
        conversation_id=conversation.pk, author=client_user, body="Il boite <un peu>"
    )
    with django_assert_num_queries(2):  # the access re-check, then the messages after 1
        html = socket._catch_up_html(False, 2)
    assert 'id="m-2"' in html
    assert 'id="m-1"' not in html  # already shown: never twice
    assert "Il boite &lt;un peu&gt;" in html
    assert "Camille Martin" in html  # the client's name, read with the re-check
    assert f"Assigned to {vet}" in html  # and the assignee, for the status line
    assert "Waiting for the clinic" in html
    assert socket.last_sent == 2
    with django_assert_num_queries(1):  # nothing new: the re-check only
        assert socket._catch_up_html(False, 2) == ""


def test_attachments_are_read_only_for_messages_that_have_some(
    as_client, vet, conversation, settings, tmp_path, django_assert_num_queries
):
    settings.MEDIA_ROOT = tmp_path
    socket = connected(as_client, conversation)
    socket.last_sent = 1
    services.post_message(
        conversation_id=conversation.pk,
        author=vet,
        body="Voici la radio",
        uploads=[SimpleUploadedFile("radio.png", PNG, content_type="image/png")],
    )
    services.post_message(conversation_id=conversation.pk, author=vet, body="Et sans fichier")
    with django_assert_num_queries(3):  # re-check, messages, the one message's attachments
        html = socket._catch_up_html(False, 3)
    assert html.count("<img") == 1
    assert "Photo radio.png" in html
    assert "Et sans fichier" in html
    assert f"{vet.first_name} · the clinic" in html  # the author, read with the message


def test_a_message_over_the_socket_is_stored_and_its_announcements_left_to_the_loop(
    as_client, conversation, django_assert_max_num_queries
):
    socket = connected(as_client, conversation)
    in_thread = mock.patch.object(
        live, "get_channel_layer", side_effect=AssertionError("announced from the database thread")
    )
    # The re-check; then BEGIN, the row lock, the token, the insert, the update, COMMIT.
    with in_thread, django_assert_max_num_queries(7):
        html, context, sends = socket._post("Il tousse encore", "tok-1")
    assert 'id="compose"' in html
    assert context["client_token"] != "tok-1"  # a fresh form for the next message
    announced = [(group, dict(event)) for group, event in sends]
    assert (
        live.conversation_group(conversation.pk),
        {"type": "conversation.messages", "last_seq": 2},
    ) in announced
    assert (live.STAFF_INBOX_GROUP, {"type": "inbox.changed"}) in announced
    assert Message.objects.get(conversation=conversation, seq=2).client_token == "tok-1"


def test_the_fresh_form_is_rendered_once_and_given_a_new_token_each_time(as_vet, conversation):
    socket = connected(as_vet, conversation)
    first, first_context, _ = socket._post("Bonjour", "t-1")
    second, second_context, _ = socket._post("Encore", "t-2")
    assert first_context["client_token"] != second_context["client_token"]
    assert f'value="{second_context["client_token"]}"' in second
    assert second.replace(second_context["client_token"], "") == first.replace(
        first_context["client_token"], ""
    )
    QuickReply.objects.create(title="Horaires", body="Ouvert de 9 h à 19 h")
    third, _, _ = socket._post("Et voici", "t-3")
    assert "Horaires" in third  # a manager's new quick reply shows on the next form
    refused, _, _ = socket._post("", "t-4")
    assert "Write a message" in refused
    assert 'value="t-4"' in refused  # the same token, to send again


@pytest.mark.asyncio
async def test_a_session_that_expires_mid_connection_gets_nothing_more(
    as_client, conversation, vet
):
    from tests.messaging.test_consumer import opened

    comm, _ = await opened(as_client, conversation.pk, last_seq=1)
    expired = timezone.now() - timedelta(seconds=1)
    await sync_to_async(Session.objects.update)(expire_date=expired)
    await sync_to_async(services.post_message)(
        conversation_id=conversation.pk, author=vet, body="confidentiel"
    )
    output = await comm.receive_output(timeout=3)
    assert output["type"] == "websocket.close"
    assert output["code"] == 4403
    denied = AccessLog.objects.filter(
        action=AccessLog.Action.DENIED, detail="websocket event after access was revoked"
    )
    assert await sync_to_async(denied.count)() == 1


def test_a_prepared_query_runs_again_with_its_new_values(conversation, vet):
    for body in ("deux", "trois"):
        services.post_message(conversation_id=conversation.pk, author=vet, body=body)
    query = Prepared(
        Message.objects.filter(conversation=conversation, seq__gt=2_147_000_001)
        .order_by("seq")
        .values("seq", "created_at"),
        seq=2_147_000_001,
    )
    assert [row["seq"] for row in query.rows(seq=1)] == [2, 3]
    assert [row["seq"] for row in query.rows(seq=2)] == [3]
    assert query.rows(seq=3) == []
    assert timezone.is_aware(query.rows(seq=0)[0]["created_at"])  # converted as the ORM does
    with pytest.raises(ValueError, match="once"):
        Prepared(Message.objects.filter(seq__gt=5).values("seq"), seq=6)
