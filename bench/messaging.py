"""Messaging benchmark: real websocket clients over loopback against real daphne processes.

    .venv/bin/python bench/messaging.py [--quick]

Three parts, each beside a bare echo consumer on the same server, in the same run (the floor):
1. Round trip (client sends -> stored -> the vet's socket receives the fragment), p50/p99, with
   1 pair and with 100 pairs (200 clients), on one daphne with the in-memory layer and on two
   daphne processes sharing channels_redis (clients on one, vets on the other).
2. Connection storm: 500 authenticated websocket connections opened within 10 s.
3. Reconnect: clients cut their connection (no close frame) mid-stream and resync with the last
   sequence number they hold; messages lost or doubled are counted (must be 0).

Everything runs in a temporary directory (database, keys); Redis (part 1, two processes) uses
ACCUEIL_BENCH_REDIS_URL, default redis://127.0.0.1:6379/9, and is skipped if it does not answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from tests.messaging import servers  # noqa: E402
from tests.messaging.wsclient import Closed, HandshakeError, WsClient  # noqa: E402

HOST = "127.0.0.1"
MARK = re.compile(r"bench-(\d+)-(\d+)")
THINK = 10.0  # seconds between one pair's messages at 100 pairs: ~10 messages/s in all
SEQ = re.compile(r'<li id="m-(\d+)"')


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(values: list[float], q: float) -> str:
    return f"{pct(values, q) * 1000:.1f}"


class Listener:
    """Reads every frame of one socket and resolves waiters by the marker in the body."""

    def __init__(self, ws: WsClient) -> None:
        self.ws = ws
        self.waiting: dict[str, asyncio.Future] = {}
        self.frames: list[str] = []
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        try:
            while True:
                frame = await self.ws.recv(timeout=3600)
                self.frames.append(frame)
                for match in MARK.finditer(frame):
                    future = self.waiting.pop(match.group(0), None)
                    if future is not None and not future.done():
                        future.set_result(time.perf_counter())
        except (Closed, ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return

    def expect(self, marker: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiting[marker] = future
        return future

    async def close(self) -> None:
        self.task.cancel()
        await self.ws.close()


async def open_conversation(port: int, conversation: int, cookie: str) -> WsClient:
    """A socket past its hello. The hello claims to hold everything (the benchmark does not
    track the numbers), so a message stored before the server has read it would count as held
    and never come: wait for the hello's answer (always one fragment) before talking, as a page
    holds what it has rendered."""
    ws = await WsClient.connect(HOST, port, f"/ws/conversations/{conversation}/", cookie=cookie)
    await ws.send(json.dumps({"type": "hello", "last_seq": 10**9}))
    await ws.recv(timeout=30)
    return ws


async def roundtrip(
    pairs: list[dict], client_port: int, vet_port: int, per_pair: int, think: float = 0.0
):
    """Each pair's client sends, the vet's socket receives; `think` seconds (on average, random)
    between a pair's messages: with 100 pairs, 10 s gives about 10 messages a second in all."""
    clients, vets = [], []
    for pair in pairs:
        clients.append(
            Listener(
                await open_conversation(client_port, pair["conversation"], pair["client_cookie"])
            )
        )
        vets.append(
            Listener(await open_conversation(vet_port, pair["conversation"], pair["vet_cookie"]))
        )
    latencies: list[float] = []
    lost = 0

    async def talk(index: int) -> None:
        nonlocal lost
        if think:
            await asyncio.sleep(random.uniform(0, think))
        for number in range(per_pair):
            marker = f"bench-{index}-{number}"
            arrived = vets[index].expect(marker)
            started = time.perf_counter()
            try:
                await clients[index].ws.send(
                    json.dumps({"type": "message", "body": f"Bonjour {marker}"})
                )
                latencies.append(await asyncio.wait_for(arrived, 10) - started)
            except TimeoutError:
                lost += 1
            except ConnectionError:
                lost += per_pair - number  # the server dropped this pair: count the rest
                return
            if think:
                await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))

    await asyncio.gather(*(talk(index) for index in range(len(pairs))))
    for listener in clients + vets:
        await listener.close()
    return latencies, lost


async def echo_roundtrip(port: int, pairs: int, per_pair: int, think: float = 0.0):
    sockets = [
        Listener(await WsClient.connect(HOST, port, "/ws/bench/echo/")) for _ in range(pairs)
    ]
    # The same number of open sockets as the real run (two per pair), half of them idle.
    idle = [await WsClient.connect(HOST, port, "/ws/bench/echo/") for _ in range(pairs)]
    latencies: list[float] = []

    async def talk(index: int) -> None:
        if think:
            await asyncio.sleep(random.uniform(0, think))
        for number in range(per_pair):
            marker = f"bench-{index}-{number}"
            arrived = sockets[index].expect(marker)
            started = time.perf_counter()
            try:
                await sockets[index].ws.send(json.dumps({"type": "message", "body": marker}))
                latencies.append(await asyncio.wait_for(arrived, 10) - started)
            except (TimeoutError, ConnectionError):
                return  # a floor socket dropped: fewer samples, not a failure of ours
            if think:
                await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))

    await asyncio.gather(*(talk(index) for index in range(pairs)))
    for listener in sockets:
        await listener.close()
    for ws in idle:
        await ws.close()
    return latencies


async def storm(port: int, pairs: list[dict], count: int, seconds: float, *, echo: bool):
    failures = 0
    times: list[float] = []
    opened: list[WsClient] = []

    async def one(index: int) -> None:
        nonlocal failures
        await asyncio.sleep(index * seconds / count)  # spread evenly over the window
        started = time.perf_counter()
        try:
            if echo:
                ws = await WsClient.connect(HOST, port, "/ws/bench/echo/", timeout=20)
            else:
                pair = pairs[index % len(pairs)]
                ws = await WsClient.connect(
                    HOST,
                    port,
                    f"/ws/conversations/{pair['conversation']}/",
                    cookie=pair["client_cookie"],
                    timeout=20,
                )
            times.append(time.perf_counter() - started)
            opened.append(ws)
        except (HandshakeError, OSError, TimeoutError, asyncio.IncompleteReadError):
            failures += 1

    began = time.perf_counter()
    await asyncio.gather(*(one(index) for index in range(count)))
    took = time.perf_counter() - began
    for ws in opened:
        await ws.close()
    return failures, times, took


async def reconnects(port: int, pairs: list[dict], per_pair: int, cuts: int):
    """The vet streams messages; each client cuts its socket `cuts` times and resyncs.

    Each client says hello with 0 first, then with the last number it holds; every frame's
    `<li id="m-N">` is counted. Clients stop once they hold the vet's last message.
    """
    received: dict[int, list[int]] = {pair["conversation"]: [] for pair in pairs}
    targets: dict[int, int] = {}
    streamed = asyncio.Event()

    async def client(pair: dict) -> None:
        conversation = pair["conversation"]
        last = 0
        cut_left = cuts
        give_up = time.perf_counter() + 180
        while time.perf_counter() < give_up:
            ws = await WsClient.connect(
                HOST, port, f"/ws/conversations/{conversation}/", cookie=pair["client_cookie"]
            )
            await ws.send(json.dumps({"type": "hello", "last_seq": last}))
            cut_at = time.perf_counter() + random.uniform(0.2, 0.8) if cut_left else None
            try:
                while True:
                    if streamed.is_set() and last >= targets[conversation]:
                        await ws.close()
                        return
                    wait = max(0.01, cut_at - time.perf_counter()) if cut_at else 0.5
                    try:
                        frame = await ws.recv(timeout=wait)
                    except TimeoutError:
                        if cut_at is not None and time.perf_counter() >= cut_at:
                            break
                        continue
                    seqs = [int(seq) for seq in SEQ.findall(frame)]
                    received[conversation].extend(seqs)
                    if seqs:
                        last = max(last, *seqs)
            except Closed:
                pass
            cut_left -= 1
            ws.abort()  # no close frame: a lost network

    async def vet(pair: dict) -> None:
        conversation = pair["conversation"]
        ws = Listener(await open_conversation(port, conversation, pair["vet_cookie"]))
        for number in range(per_pair):
            marker = f"bench-{conversation}-{number}"
            stored = ws.expect(marker)  # the vet's own page shows it once it is stored
            await ws.ws.send(json.dumps({"type": "message", "body": f"suite {marker}"}))
            await asyncio.wait_for(stored, 60)
            await asyncio.sleep(random.uniform(0.005, 0.03))
        seqs = [int(seq) for frame in ws.frames for seq in SEQ.findall(frame)]
        targets[conversation] = max(seqs)
        await ws.close()

    clients = [asyncio.create_task(client(pair)) for pair in pairs]
    await asyncio.gather(*(vet(pair) for pair in pairs))
    streamed.set()
    await asyncio.gather(*clients)
    return received


def expected_seqs(env: dict, conversations: list[int]) -> dict[int, list[int]]:
    import subprocess

    code = (
        "import django, json, sys; django.setup();"
        "from messaging.models import Message;"
        f"ids={conversations!r};"
        "print(json.dumps({i: list(Message.objects.filter(conversation_id=i, kind='staff')"
        ".values_list('seq', flat=True)) for i in ids}))"
    )
    out = subprocess.run(
        [str(servers.PYTHON), "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return {int(k): v for k, v in json.loads(out.stdout).items()}


async def settle(port: int) -> None:
    """Wait until the server answers an echo again (it may still be closing the last part's
    hundreds of sockets), so one part's tail does not count in the next part's figures."""
    deadline = time.perf_counter() + 60
    while True:
        try:
            ws = await WsClient.connect(HOST, port, "/ws/bench/echo/", timeout=5)
            await ws.send("ping")
            await ws.recv(timeout=5)
            await ws.close()
            return
        except (HandshakeError, OSError, TimeoutError, asyncio.IncompleteReadError):
            if time.perf_counter() > deadline:
                raise
            await asyncio.sleep(0.5)


def line(label: str, ours: list[float], floor: list[float], lost: int = 0) -> str:
    p50, p99 = pct(ours, 0.5) * 1000, pct(ours, 0.99) * 1000
    f50, f99 = pct(floor, 0.5) * 1000, pct(floor, 0.99) * 1000
    return (
        f"{label:<32} n={len(ours):5d}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
        f"  | echo p50 {f50:5.2f} p99 {f99:5.2f} ms | p50 x{p50 / f50:4.1f} of echo  lost {lost}"
    )


def redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


class _SkipToRedis(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer messages, for a smoke run")
    parser.add_argument("--redis-only", action="store_true", help="only part 1b")
    args = parser.parse_args()
    per_pair_one, per_pair_many = (50, 3) if args.quick else (300, 6)
    redis_url = os.environ.get("ACCUEIL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    print(f"messaging benchmark, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="accueil-bench-messaging-") as tmp:
        extra = {
            "ACCUEIL_BENCH_ECHO": "1",
            "ACCUEIL_MESSAGING_RATE_PER_MINUTE": "1000000",
            "ACCUEIL_MESSAGING_FRAMES_PER_10S": "1000000",
            "ACCUEIL_MESSAGING_MAX_FRAME": "65536",
        }
        env = servers.server_env(Path(tmp), extra=extra)
        started = time.perf_counter()
        pairs = servers.prepare(env, 100)
        print(f"setup: 100 conversations in {time.perf_counter() - started:.1f} s\n")

        port = servers.free_port()
        daphne = servers.start_daphne(env, port) if not args.redis_only else None
        try:
            if args.redis_only:
                raise _SkipToRedis
            print("1. Round trip, one daphne, in-memory channel layer")
            ours, lost = asyncio.run(roundtrip(pairs[:1], port, port, per_pair_one))
            floor = asyncio.run(echo_roundtrip(port, 1, per_pair_one))
            print("  " + line("1 pair (2 clients)", ours, floor, lost))
            asyncio.run(settle(port))
            ours, lost = asyncio.run(roundtrip(pairs, port, port, per_pair_many, THINK))
            asyncio.run(settle(port))
            floor = asyncio.run(echo_roundtrip(port, 100, per_pair_many, THINK))
            print("  " + line("100 pairs (200 clients), ~10 msg/s", ours, floor, lost))

            print("\n2. Connection storm: 500 connections in 10 s")
            asyncio.run(settle(port))
            e_failures, e_times, _ = asyncio.run(storm(port, pairs, 500, 10, echo=True))
            asyncio.run(settle(port))
            failures, times, took = asyncio.run(storm(port, pairs, 500, 10, echo=False))
            asyncio.run(settle(port))
            print(
                f"  conversation consumer: failed handshakes {failures}, handshake p50 "
                f"{ms(times, 0.5)} ms p99 {ms(times, 0.99)} ms, all opened in {took:.1f} s\n"
                f"  echo consumer:         failed handshakes {e_failures}, handshake p50 "
                f"{ms(e_times, 0.5)} ms p99 {ms(e_times, 0.99)} ms"
            )

            print("\n3. Reconnect: 20 clients cut their socket 3 times while the vet sends 40")
            chosen = pairs[:20]
            received = asyncio.run(reconnects(port, chosen, 40, 3))
            expected = expected_seqs(env, [pair["conversation"] for pair in chosen])
            lost = doubled = total = 0
            for conversation, seqs in expected.items():
                got = received[conversation]
                total += len(seqs)
                lost += len(set(seqs) - set(got))
                doubled += len(got) - len(set(got))
            print(f"  {total} messages streamed: lost {lost}, doubled {doubled}")
        except _SkipToRedis:
            pass
        finally:
            if daphne is not None:
                servers.stop(daphne)

        if not redis_answers(redis_url):
            print(f"\n(two daphne + Redis skipped: {redis_url} does not answer)")
            return
        print(f"\n1b. Round trip, two daphne processes + channels_redis ({redis_url})")
        env_redis = servers.server_env(
            Path(tmp), redis_url=redis_url, extra={**extra, "ACCUEIL_CHANNELS_PREFIX": "bench"}
        )
        ports = [servers.free_port(), servers.free_port()]
        processes = [servers.start_daphne(env_redis, p) for p in ports]
        try:
            ours, lost = asyncio.run(roundtrip(pairs[:1], ports[0], ports[1], per_pair_one))
            floor = asyncio.run(echo_roundtrip(ports[0], 1, per_pair_one))
            print("  " + line("1 pair, client A -> vet B", ours, floor, lost))
            asyncio.run(settle(ports[0]))
            ours, lost = asyncio.run(roundtrip(pairs, ports[0], ports[1], per_pair_many, THINK))
            asyncio.run(settle(ports[0]))
            floor = asyncio.run(echo_roundtrip(ports[0], 100, per_pair_many, THINK))
            print("  " + line("100 pairs A -> B, ~10 msg/s", ours, floor, lost))
        finally:
            for process in processes:
                servers.stop(process)


if __name__ == "__main__":
    main()
