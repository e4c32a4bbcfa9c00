"""Chat with Redis down: messages are stored, the rate limit still holds, and the sender is told
that the live fan-out is paused; with Redis back, everything is live again.

The test runs its own redis-server on port 6391 (killed and restarted here), never the machine's.
"""

import fcntl
import json
import time
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.core.cache import caches
from django.urls import reverse

from messaging import live
from messaging.models import Message
from portal.lib import cache as failsoft
from tests.messaging.servers import RedisServer

PORT = 6391
LOCK = f"/tmp/accueil-test-redis-{PORT}.lock"  # noqa: S108 - a lock between this suite's workers


@pytest.fixture
def redis_down(settings):
    """Cache and channel layer on our own Redis, which is not running (yet)."""
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = RedisServer(PORT)
        failsoft._breakers.clear()
        # The production settings (REDIS_URL is set for redis-marked tests), on our own Redis.
        settings.CACHES = {
            "default": {
                **django_settings.CACHES["default"],
                "LOCATION": server.url,
                "KEY_PREFIX": "outage",
                "RETRY_AFTER": 0.3,
            }
        }
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [{"address": server.url, "socket_connect_timeout": 0.3}],
                    "prefix": "outage",
                },
            }
        }
        try:
            yield server
        finally:
            server.kill()
            failsoft._breakers.clear()
            fcntl.flock(lock, fcntl.LOCK_UN)


def _send(http, conversation, body: str, token: str):
    return http.post(
        reverse("messaging:send", args=[conversation.pk]),
        {"body": body, "client_token": token},
        follow=True,
    )


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)  # announcements run on commit, as in production
@pytest.mark.usefixtures("clearable_access_log")
@pytest.mark.usefixtures("one_clock_minute")
def test_a_chat_post_is_stored_and_the_sender_told_while_redis_is_down(
    redis_down, settings, as_client, conversation
):
    settings.ACCUEIL_MESSAGING_RATE_PER_MINUTE = 3  # the first message of the thread counts
    first = _send(as_client, conversation, "Il tousse encore", "t1")
    assert first.status_code == 200
    page = first.content.decode()
    assert "Il tousse encore" in page
    assert "Live updates are paused" in page
    assert Message.objects.filter(conversation=conversation).count() == 2

    _send(as_client, conversation, "Et il boude", "t2")
    refused = _send(as_client, conversation, "Troisième", "t3")  # the limit still counts
    assert refused.status_code == 400
    assert "sending messages too fast" in refused.content.decode()
    assert "Troisième" in refused.content.decode()  # the typed text is kept
    assert Message.objects.filter(conversation=conversation).count() == 3

    redis_down.start()
    settings.ACCUEIL_MESSAGING_RATE_PER_MINUTE = 100
    deadline = time.monotonic() + 5
    while not caches["default"].add("probe", 1) and time.monotonic() < deadline:
        time.sleep(0.05)  # the breaker's retry time must pass: no event to await
    back = _send(as_client, conversation, "Tout va bien", "t4")
    assert back.status_code == 200
    assert "Tout va bien" in back.content.decode()
    assert "Live updates are paused" not in back.content.decode()


class _DeadLayer:
    async def group_send(self, group, message):
        raise ConnectionError("Redis is down")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("clearable_access_log")
async def test_a_websocket_post_says_so_when_the_fan_out_cannot_run(as_client, conversation):
    from tests.messaging.test_consumer import opened

    comm, _ = await opened(as_client, conversation.pk, last_seq=1)
    with mock.patch.object(live, "get_channel_layer", return_value=_DeadLayer()):
        await comm.send_to(
            text_data=json.dumps(
                {"type": "message", "body": "Vous êtes là ?", "client_token": "w1"}
            )
        )
        frame = await comm.receive_from(timeout=3)
    assert 'id="compose"' in frame
    assert "Live updates are paused" in frame
    assert await sync_to_async(Message.objects.filter(client_token="w1").exists)()
    await comm.disconnect()
