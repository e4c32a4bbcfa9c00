"""Two real daphne processes sharing conversations through channels_redis."""

import asyncio
import json

import pytest
from django.conf import settings

from tests.messaging import servers
from tests.messaging.wsclient import WsClient

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(scope="module")
def two_daphnes(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("two")
    redis_url = settings.CACHES["default"]["LOCATION"]  # this worker's own Redis database
    env = servers.server_env(
        tmp_path, redis_url=redis_url, extra={"ACCUEIL_CHANNELS_PREFIX": f"two-{tmp_path.name}"}
    )
    pairs = servers.prepare(env, 2)
    ports = [servers.free_port(), servers.free_port()]
    processes = [servers.start_daphne(env, port) for port in ports]
    yield ports, pairs
    for process in processes:
        servers.stop(process)


async def _open(port: int, path: str, cookie: str) -> WsClient:
    ws = await WsClient.connect("127.0.0.1", port, path, cookie=cookie)
    await ws.send(json.dumps({"type": "hello", "last_seq": 1}))
    return ws


async def _until(ws: WsClient, needle: str) -> str:
    for _ in range(6):
        frame = await ws.recv(timeout=10)
        if needle in frame:
            return frame
    raise AssertionError(f"{needle!r} never came")


def test_a_client_on_one_process_and_a_vet_on_the_other_talk_live(two_daphnes):
    (port_a, port_b), pairs = two_daphnes
    pair = pairs[0]
    path = f"/ws/conversations/{pair['conversation']}/"

    async def talk() -> tuple[str, str]:
        client = await _open(port_a, path, pair["client_cookie"])
        vet = await _open(port_b, path, pair["vet_cookie"])
        await client.send(json.dumps({"type": "message", "body": "Bonjour de A"}))
        at_vet = await _until(vet, "Bonjour de A")
        await vet.send(json.dumps({"type": "message", "body": "Réponse de B"}))
        at_client = await _until(client, "Réponse de B")
        await client.close()
        await vet.close()
        return at_vet, at_client

    at_vet, at_client = asyncio.run(talk())
    assert "Bonjour de A" in at_vet
    assert "Réponse de B" in at_client


# redis-py's default socket timeout (5 s) equals channels_redis's blocking wait (BZPOPMIN, 5 s):
# an idle connection's read timed out and daphne closed every idle websocket with 1011 after
# about 6 s. The layer now reads with a timeout longer than the wait (portal/lib/cache.py).
IDLE_SECONDS = 9


def test_an_idle_websocket_stays_open_and_still_hears_the_other_process(two_daphnes):
    (port_a, port_b), pairs = two_daphnes
    pair = pairs[1]
    path = f"/ws/conversations/{pair['conversation']}/"

    async def idle_then_talk() -> str:
        client = await _open(port_a, path, pair["client_cookie"])
        await client.recv(timeout=10)  # the catch-up answering "hello"
        try:
            frame = await client.recv(timeout=IDLE_SECONDS)
        except TimeoutError:
            pass  # nothing said, nothing closed: what an idle socket should see
        else:
            raise AssertionError(f"an idle socket was sent {frame!r}")
        vet = await _open(port_b, path, pair["vet_cookie"])
        await vet.send(json.dumps({"type": "message", "body": "Toujours là ?"}))
        heard = await _until(client, "Toujours là ?")
        await client.close()
        await vet.close()
        return heard

    assert "Toujours là ?" in asyncio.run(idle_then_talk())
