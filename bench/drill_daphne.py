"""Drill: kill -9 one of two daphne processes mid-chat; clients resync on the other.

    .venv/bin/python bench/drill_daphne.py

Two daphne processes (ports 8391 and 8392) share a channels_redis layer on the drill's own
redis-server (port 6391) and a temporary SQLite database. Three conversations: each client is on
the first process, each vet on the second, and both sides write every 0.2 s. After 3 s the first
process is killed with SIGKILL (no disconnect, no cleanup); its clients reconnect to the second
with the last sequence number they hold, exactly as conversation.js does on wsOpen. At the end the
database and every participant's view are compared: nothing lost, nothing doubled, no 500.
Results go in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.drill_redis import (  # noqa: E402
    DAPHNE_PORTS,
    REDIS_PORT,
    Participant,
    check_messages,
    claim_ports,
    database,
    environment,
    last_seq_of,
    live_report,
    prepare,
    settle,
)
from tests.messaging import servers  # noqa: E402

PAIRS = 3
KILL_AT = 3.0
RUN_FOR = 10.0


async def drill(var_dir: Path, pairs: list[dict], victim) -> bool:
    a, b = DAPHNE_PORTS
    people: list[tuple[dict, Participant, Participant]] = []
    for index, pair in enumerate(pairs):
        # A browser whose server died reconnects to the address it has: behind the proxy that is
        # the other process; here the client lists both, its own first.
        client = Participant(f"client{index}", [a, b], pair["conversation"], pair["client_cookie"])
        vet = Participant(f"vet{index}", [b, a], pair["conversation"], pair["vet_cookie"])
        people.append((pair, client, vet))
    everyone = [p for _, client, vet in people for p in (client, vet)]
    readers = [asyncio.create_task(p.run()) for p in everyone]
    tokens: dict[int, list[str]] = {pair["conversation"]: [] for pair in pairs}
    started = time.monotonic()

    async def talk(who: Participant) -> None:
        index = 0
        while time.monotonic() - started < RUN_FOR:
            token = f"{who.name}-{index}"
            tokens[who.conversation].append(token)
            await who.say(f"{who.name} message {index}", token)
            index += 1
            await asyncio.sleep(0.2)

    async def kill() -> None:
        await asyncio.sleep(KILL_AT)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        print(f"  daphne on {a} killed (SIGKILL) at {time.monotonic() - started:.1f} s")

    await asyncio.gather(*(talk(p) for p in everyone), kill())
    ok = True
    for pair, client, vet in people:
        last = last_seq_of(var_dir, pair["conversation"])
        await settle([client, vet], last)
        stored, missing, doubled = check_messages(
            var_dir, pair["conversation"], tokens[pair["conversation"]]
        )
        print(
            f"conversation {pair['conversation']}: {len(tokens[pair['conversation']])} sent, "
            f"{stored} stored, {missing} missing, {doubled} doubled"
        )
        for participant in (client, vet):
            print("  " + live_report(participant, last))
            seen = set(participant.seen)
            ok &= set(range(2, last + 1)) <= seen and len(seen) == len(participant.seen)
            ok &= not any(k.startswith("post 5") for k in participant.statuses)
        ok &= missing == 0 and doubled == 0
    for participant in everyone:
        participant.stopping = True
        if participant.ws is not None:
            await participant.ws.close()
    for task in readers:
        task.cancel()
    with database(var_dir) as db:
        rows = db.execute("SELECT channel_name FROM messaging_presence").fetchall()
    print(
        f"presence rows left: {len(rows)} (those of the killed process go once stale: "
        "messaging.services.sweep_presence)"
    )
    return ok


def main() -> int:
    claim_ports()
    redis = servers.RedisServer(REDIS_PORT).start()
    with tempfile.TemporaryDirectory(prefix="accueil-drill-") as tmp:
        var_dir = Path(tmp)
        env = environment(var_dir, redis)
        pairs = prepare(env, PAIRS)
        processes = [servers.start_daphne(env, port) for port in DAPHNE_PORTS]
        try:
            ok = asyncio.run(drill(var_dir, pairs, processes[0]))
        finally:
            for process in processes:
                if process.poll() is None:
                    servers.stop(process)
            redis.kill()
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
