"""The websocket, through the real ASGI application: origin check, session auth, routing."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import override_settings

from messaging import services
from messaging.models import Conversation, Kind, Message
from portal.asgi import application
from portal.models import AccessLog
from tests import factories

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("clearable_access_log"),
]


def _session_cookie(http) -> str:
    return http.cookies[settings.SESSION_COOKIE_NAME].value


def socket(http, conversation_id: int | str, *, origin: str = "http://127.0.0.1"):
    headers = [(b"host", b"127.0.0.1"), (b"origin", origin.encode()), (b"accept-language", b"en")]
    if http is not None:
        cookie = f"{settings.SESSION_COOKIE_NAME}={_session_cookie(http)}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, f"/ws/conversations/{conversation_id}/", headers)


async def opened(
    http, conversation_id: int, last_seq: int = 0
) -> tuple[WebsocketCommunicator, str]:
    comm = socket(http, conversation_id)
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "hello", "last_seq": last_seq})
    first = await comm.receive_from(timeout=3)
    return comm, first


async def drain(comm: WebsocketCommunicator, until: str, limit: int = 6) -> str:
    """Frames until one contains `until` (the order of notices is not the point here)."""
    seen = []
    for _ in range(limit):
        frame = await comm.receive_from(timeout=3)
        seen.append(frame)
        if until in frame:
            return frame
    raise AssertionError(f"{until!r} never came: {seen}")


def denied_count() -> int:
    return AccessLog.objects.filter(action=AccessLog.Action.DENIED).count()


async def test_it_sends_every_later_message_in_order_once(as_client, conversation, vet):
    for body in ("deux", "trois"):
        await sync_to_async(services.post_message)(
            conversation_id=conversation.pk, author=vet, body=body
        )
    comm, catch_up = await opened(as_client, conversation.pk, last_seq=1)
    assert 'id="m-1"' not in catch_up
    assert catch_up.index('id="m-2"') < catch_up.index('id="m-3"')
    assert 'hx-swap-oob="beforeend"' in catch_up
    await sync_to_async(services.post_message)(
        conversation_id=conversation.pk, author=vet, body="quatre"
    )
    live = await comm.receive_from(timeout=3)
    assert 'id="m-4"' in live
    assert 'id="m-3"' not in live  # never twice
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


async def test_a_message_crosses_from_client_to_vet_escaped(as_client, as_vet, conversation):
    client_ws, _ = await opened(as_client, conversation.pk, last_seq=1)
    vet_ws, _ = await opened(as_vet, conversation.pk, last_seq=1)
    await client_ws.send_json_to(
        {
            "type": "message",
            "body": "Regardez <img src=x onerror=alert(1)>",
            "client_token": "tok",
            "HEADERS": {"HX-Request": "true"},
        }
    )
    seen_by_vet = await drain(vet_ws, 'id="m-2"')
    assert "&lt;img src=x onerror=alert(1)&gt;" in seen_by_vet
    assert "<img src=x" not in seen_by_vet
    assert await sync_to_async(Message.objects.filter(conversation=conversation).count)() == 2
    compose = await drain(client_ws, 'id="compose"')
    assert 'value="tok"' not in compose  # a fresh token for the next message
    await client_ws.disconnect()
    await vet_ws.disconnect()


async def test_it_refuses_the_stranger_and_logs_it(as_other_client, conversation):
    before = await sync_to_async(denied_count)()
    connected, code = await socket(as_other_client, conversation.pk).connect()
    assert not connected
    assert code == 4403
    assert await sync_to_async(denied_count)() == before + 1


async def test_it_refuses_unknown_ids_anonymous_users_and_foreign_origins(as_client, conversation):
    for comm in (
        socket(as_client, 999999),
        socket(None, conversation.pk),
        socket(as_client, conversation.pk, origin="https://evil.example"),
        socket(as_client, conversation.pk, origin="http://127.0.0.1:8080"),  # another port
        socket(as_client, conversation.pk, origin="https://127.0.0.1"),  # another scheme
    ):
        connected, _ = await comm.connect()
        assert not connected


async def test_it_refuses_staff_without_their_second_factor(reception, conversation):
    # Password only, no TOTP code yet.
    half_logged_in = await sync_to_async(factories.http_client)(reception)
    connected, _ = await socket(half_logged_in, conversation.pk).connect()
    assert not connected


async def test_it_answers_malformed_and_oversized_frames_without_storing(as_client, conversation):
    comm, _ = await opened(as_client, conversation.pk, last_seq=1)
    for frame in ("{not json", "[1, 2]", json.dumps({"type": "launch"})):
        await comm.send_to(text_data=frame)
        assert "could not be read" in await comm.receive_from(timeout=3)
    await comm.send_to(bytes_data=b"\x00\x01")
    assert "could not be read" in await comm.receive_from(timeout=3)
    huge = json.dumps({"type": "message", "body": "x" * (settings.ACCUEIL_MESSAGING_MAX_FRAME)})
    await comm.send_to(text_data=huge)
    assert "too large" in await comm.receive_from(timeout=3)
    assert await sync_to_async(Message.objects.count)() == 1
    await comm.disconnect()


async def test_a_frame_naming_another_conversation_is_ignored_and_logged(
    as_client, conversation, other_client_user
):
    other = await sync_to_async(
        lambda: (
            services.start_conversation(
                client=other_client_user.client,
                author=other_client_user,
                subject="x",
                body="secret",
            ).conversation
        )
    )()
    comm, _ = await opened(as_client, conversation.pk, last_seq=1)
    before = await sync_to_async(denied_count)()
    await comm.send_json_to({"type": "message", "conversation": other.pk, "body": "hi"})
    assert "could not be read" in await comm.receive_from(timeout=3)
    assert await sync_to_async(denied_count)() == before + 1
    assert await sync_to_async(Message.objects.filter(conversation=other).count)() == 1
    await comm.disconnect()


@pytest.mark.usefixtures("one_clock_minute")
async def test_floods_are_rate_limited_with_a_clear_message(as_client, conversation):
    comm, _ = await opened(as_client, conversation.pk, last_seq=1)
    with override_settings(ACCUEIL_MESSAGING_RATE_PER_MINUTE=3):
        replies = []
        for index in range(4):
            await comm.send_json_to({"type": "message", "body": f"m{index}"})
            replies.append(await drain(comm, 'id="compose"'))
    assert "too fast" in replies[-1]
    assert "m3" in replies[-1]  # the refused text is kept in the form
    count = await sync_to_async(Message.objects.filter(conversation=conversation).count)()
    assert count == 3
    await comm.disconnect()


async def test_a_user_signed_out_mid_connection_gets_nothing_more(as_client, conversation, vet):
    comm, _ = await opened(as_client, conversation.pk, last_seq=1)
    await sync_to_async(Session.objects.all().delete)()
    await sync_to_async(services.post_message)(
        conversation_id=conversation.pk, author=vet, body="confidentiel"
    )
    output = await comm.receive_output(timeout=3)
    assert output["type"] == "websocket.close"
    assert output["code"] == 4403


async def test_a_deactivated_account_is_cut_off_on_its_next_frame(as_vet, vet, conversation):
    comm, _ = await opened(as_vet, conversation.pk, last_seq=1)
    vet.is_active = False
    await sync_to_async(vet.save)(update_fields=["is_active"])
    await comm.send_json_to({"type": "message", "body": "encore"})
    output = await comm.receive_output(timeout=3)
    assert output["type"] == "websocket.close"
    assert await sync_to_async(Message.objects.count)() == 1


async def test_typing_and_read_marks_reach_the_other_side(as_client, as_vet, conversation, vet):
    client_ws, _ = await opened(as_client, conversation.pk, last_seq=1)
    vet_ws, _ = await opened(as_vet, conversation.pk, last_seq=1)
    await vet_ws.send_json_to({"type": "typing"})
    assert "The clinic is writing" in await client_ws.receive_from(timeout=3)
    assert await vet_ws.receive_nothing(timeout=0.2)  # not echoed to the typist
    await sync_to_async(services.post_message)(
        conversation_id=conversation.pk, author=vet, body="Réponse"
    )
    await drain(client_ws, 'id="m-2"')
    await drain(vet_ws, 'id="m-2"')
    await client_ws.send_json_to({"type": "read", "seq": 2})
    assert "Read by the client" in await drain(vet_ws, "Read by the client")
    refreshed = await sync_to_async(Conversation.objects.get)(pk=conversation.pk)
    assert refreshed.client_read_seq == 2
    await client_ws.disconnect()
    await vet_ws.disconnect()


async def test_an_emergency_word_gets_the_automatic_reply_live(as_client, conversation):
    comm, _ = await opened(as_client, conversation.pk, last_seq=1)
    await comm.send_json_to({"type": "message", "body": "Il a des convulsions !"})
    frame = await drain(comm, 'id="m-3"')
    assert "Automatic message" in frame
    kinds = await sync_to_async(
        lambda: list(conversation.messages.values_list("kind", flat=True))
    )()
    assert kinds == [Kind.CLIENT, Kind.CLIENT, Kind.EMERGENCY]
    await comm.disconnect()


async def test_presence_is_kept_while_connected(as_client, conversation, vet):
    comm, _ = await opened(as_client, conversation.pk, last_seq=1)
    posted = await sync_to_async(services.post_message)(
        conversation_id=conversation.pk, author=vet, body="Réponse"
    )
    message_id = posted.messages[0].pk
    assert not await sync_to_async(services.message_still_unread)(message_id, 0)
    await comm.disconnect()
    assert await sync_to_async(services.message_still_unread)(message_id, 0)


async def test_the_inbox_socket_pushes_unread_counts(as_vet, as_client, client_user):
    headers = [
        (b"host", b"127.0.0.1"),
        (b"origin", b"http://127.0.0.1"),
        (b"accept-language", b"en"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={_session_cookie(as_vet)}".encode()),
    ]
    inbox = WebsocketCommunicator(application, "/ws/messages/inbox/?filter=urgent", headers)
    assert (await inbox.connect())[0]
    await sync_to_async(
        lambda: services.start_conversation(
            client=client_user.client, author=client_user, subject="Vite", body="il saigne"
        )
    )()
    frame = await inbox.receive_from(timeout=3)
    assert 'id="inbox-list"' in frame
    assert "Vite" in frame
    assert "Unread conversations: 1" in frame
    await inbox.disconnect()


async def test_a_claim_past_the_end_still_gets_later_messages(as_client, conversation, vet):
    comm, _ = await opened(as_client, conversation.pk, last_seq=10**9)
    await sync_to_async(services.post_message)(
        conversation_id=conversation.pk, author=vet, body="toujours reçu"
    )
    assert "toujours reçu" in await drain(comm, 'id="m-2"')
    await comm.disconnect()


async def test_a_burst_of_frames_is_dropped_with_a_notice(as_client, conversation):
    comm, _ = await opened(as_client, conversation.pk, last_seq=1)
    with override_settings(ACCUEIL_MESSAGING_FRAMES_PER_10S=10):
        for _ in range(10):  # the hello was the first
            await comm.send_json_to({"type": "ping"})
        await comm.send_json_to({"type": "message", "body": "noyé dans le flot"})
        assert "Too many events" in await comm.receive_from(timeout=3)
    assert await sync_to_async(Message.objects.count)() == 1
    await comm.disconnect()


async def test_staff_whose_second_factor_is_removed_are_cut_off(as_vet, vet, conversation):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    comm, _ = await opened(as_vet, conversation.pk, last_seq=1)
    await sync_to_async(TOTPDevice.objects.filter(user=vet).delete)()
    await comm.send_json_to({"type": "ping"})
    output = await comm.receive_output(timeout=3)
    assert output["type"] == "websocket.close"
