"""A password change or "sign out everywhere" closes the account's other sockets at once; and
every event compares the session's auth hash with the password, as HTTP does, in the same one
query as before."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client as HttpClient
from django.urls import reverse

from portal.asgi import application
from portal.models import User
from tests import factories
from tests.messaging.test_hot_path import connected

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clearable_access_log"),
]

NEW_PASSWORD = "n3w-Long-pass"


def _signed_in(user: User) -> HttpClient:
    """Signed in through the real sign-in page, so allauth lists the session."""
    http = HttpClient(headers={"accept-language": "en"})
    response = http.post("/accounts/login/", {"login": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    return http


def _headers(http: HttpClient) -> list[tuple[bytes, bytes]]:
    cookie = f"{settings.SESSION_COOKIE_NAME}={http.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [
        (b"host", b"127.0.0.1"),
        (b"origin", b"http://127.0.0.1"),
        (b"accept-language", b"en"),
        (b"cookie", cookie.encode()),
    ]


async def _conversation_socket(http: HttpClient, conversation_id: int) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(
        application, f"/ws/conversations/{conversation_id}/", _headers(http)
    )
    connected_, _ = await comm.connect()
    assert connected_
    await comm.send_json_to({"type": "hello", "last_seq": 0})
    assert 'id="m-1"' in await comm.receive_from(timeout=3)
    return comm


async def _inbox_socket(http: HttpClient) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(application, "/ws/messages/inbox/", _headers(http))
    assert (await comm.connect())[0]
    return comm


async def _closed(comm: WebsocketCommunicator) -> int:
    """The close code the server sent, without the browser saying anything first."""
    output = await comm.receive_output(timeout=3)
    assert output["type"] == "websocket.close", output
    return output["code"]


@pytest.mark.asyncio
async def test_sign_out_everywhere_closes_the_other_devices_sockets_at_once(
    client_user, conversation
):
    phone = await sync_to_async(_signed_in)(client_user)
    laptop = await sync_to_async(_signed_in)(client_user)
    phone_socket = await _conversation_socket(phone, conversation.pk)
    phone_inbox = await _inbox_socket(phone)
    laptop_socket = await _conversation_socket(laptop, conversation.pk)

    await sync_to_async(laptop.post)(reverse("portal:sign_out_everywhere"))

    assert await _closed(phone_socket) == 4403
    assert await _closed(phone_inbox) == 4403
    assert await laptop_socket.receive_nothing(timeout=0.3)  # this device carries on
    await laptop_socket.send_json_to({"type": "hello", "last_seq": 0})
    assert 'id="m-1"' in await laptop_socket.receive_from(timeout=3)
    await laptop_socket.disconnect()


@pytest.mark.asyncio
async def test_a_password_change_closes_the_other_devices_sockets(client_user, conversation):
    phone = await sync_to_async(_signed_in)(client_user)
    laptop = await sync_to_async(_signed_in)(client_user)
    phone_socket = await _conversation_socket(phone, conversation.pk)

    response = await sync_to_async(laptop.post)(
        reverse("account_change_password"),
        {"oldpassword": factories.PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert await _closed(phone_socket) == 4403


@pytest.mark.asyncio
async def test_a_stranger_signing_out_everywhere_closes_nothing_of_camilles(
    client_user, other_client_user, conversation
):
    camille = await sync_to_async(_signed_in)(client_user)
    stranger = await sync_to_async(_signed_in)(other_client_user)
    await sync_to_async(_signed_in)(other_client_user)
    socket = await _conversation_socket(camille, conversation.pk)

    await sync_to_async(stranger.post)(reverse("portal:sign_out_everywhere"))

    assert await socket.receive_nothing(timeout=0.3)
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_nothing(timeout=0.3)  # still allowed: no close
    await socket.disconnect()


@pytest.mark.asyncio
async def test_a_password_set_behind_the_apps_back_cuts_the_socket_on_its_next_event(
    client_user, conversation
):
    """No signal, no session deleted (a manager's shell, the admin): the auth hash still no
    longer matches, and the next event is refused."""
    http = await sync_to_async(_signed_in)(client_user)
    socket = await _conversation_socket(http, conversation.pk)

    def set_password() -> None:
        client_user.set_password(NEW_PASSWORD)
        client_user.save(update_fields=["password"])

    await sync_to_async(set_password)()
    await socket.send_json_to({"type": "ping"})
    assert await _closed(socket) == 4403


@pytest.mark.asyncio
async def test_the_inbox_socket_checks_the_auth_hash_too(vet, client_user):
    http = await sync_to_async(factories.verified_http_client)(vet)
    inbox = await _inbox_socket(http)

    def set_password() -> None:
        vet.set_password(NEW_PASSWORD)
        vet.save(update_fields=["password"])

    await sync_to_async(set_password)()
    from portal.sessions import tell_sockets

    await sync_to_async(tell_sockets)(vet.pk)
    assert await _closed(inbox) == 4403


def test_the_auth_hash_costs_no_query_more(as_vet, vet, conversation, django_assert_num_queries):
    socket = connected(as_vet, conversation)
    with django_assert_num_queries(1):  # the access re-check, the password in the same row
        assert socket._still_allowed() is not None
    vet.set_password(NEW_PASSWORD)
    vet.save(update_fields=["password"])
    assert socket._still_allowed() is None  # (the refusal is then written to the access log)


def test_a_client_socket_reads_the_password_in_the_same_query(
    as_client, client_user, conversation, django_assert_num_queries
):
    socket = connected(as_client, conversation)
    with django_assert_num_queries(1):
        assert socket._still_allowed() is not None
    client_user.set_password(NEW_PASSWORD)
    client_user.save(update_fields=["password"])
    assert socket._still_allowed() is None


# Any page that needs a session ("/" answers everyone: it is the clinic's public page).
SIGNED_IN_PAGE = "/account/profile/"


def test_a_message_sent_over_the_socket_counts_as_activity(client_user, conversation):
    """Six days on the socket alone, then six more: still signed in (7 days idle is the limit)."""
    start = datetime(2026, 12, 2, 9, tzinfo=ZoneInfo("Europe/Paris"))
    with time_machine.travel(start, tick=False) as clock:
        http = factories.http_client(client_user)
        assert http.get(SIGNED_IN_PAGE).status_code == 200  # the session's clock starts
        clock.shift(timedelta(days=6))
        socket = connected(http, conversation)
        socket.active_at -= 61  # the socket has been open a while
        html, _context, _sends = socket._post("Toujours là", "token-1")
        assert "Toujours là" not in html  # a fresh form: the message went
        clock.shift(timedelta(days=6))
        response = http.get(SIGNED_IN_PAGE)
    assert response.status_code == 200


def test_without_activity_the_socket_does_not_keep_the_session(client_user, conversation):
    start = datetime(2026, 12, 2, 9, tzinfo=ZoneInfo("Europe/Paris"))
    with time_machine.travel(start, tick=False) as clock:
        http = factories.http_client(client_user)
        http.get(SIGNED_IN_PAGE)
        socket = connected(http, conversation)
        clock.shift(timedelta(days=7, minutes=1))
        assert socket._still_allowed() is None  # the row expired: the socket is refused
        assert http.get(SIGNED_IN_PAGE).status_code == 302
