"""Redis drills against real processes: an idle websocket for 60 s, and Redis restarted during a
chat and during rate-limited sign-ins. Not part of the suite (each takes about a minute).

    .venv/bin/python bench/drill_redis.py [idle] [chat] [logins]    (all three by default)

Everything is the drill's own: a redis-server on port 6391 (killed and restarted here), daphne on
8391, a temporary SQLite database (ACCUEIL_VAR_DIR). Each scenario prints what happened and
whether anything was lost, doubled or answered with a 500; results go in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.messaging import servers  # noqa: E402
from tests.messaging.wsclient import Closed, HandshakeError, WsClient  # noqa: E402

HOST = "127.0.0.1"
REDIS_PORT = 6391
DAPHNE_PORTS = (8391, 8392)
SEQ = re.compile(r'<li id="m-(\d+)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PASSWORD = "drill-Passw0rd-long"  # noqa: S105 - the drill's throw-away accounts


# --- Set-up ------------------------------------------------------------------------------------


def claim_ports() -> None:
    """Refuse to start on ports something else holds (a drill left behind would answer in place
    of ours), and clean up on SIGTERM as on Ctrl-C."""
    for port in (REDIS_PORT, *DAPHNE_PORTS):
        with socket.socket() as probe:
            if probe.connect_ex((HOST, port)) == 0:
                sys.exit(f"port {port} is in use: stop what holds it, then run the drill again")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))


def environment(var_dir: Path, redis: servers.RedisServer) -> dict:
    return servers.server_env(
        var_dir,
        redis_url=redis.url,
        extra={
            "ACCUEIL_CHANNELS_PREFIX": "drill",
            "ACCUEIL_CACHE_PREFIX": "drill",
            "ACCUEIL_MESSAGING_RATE_PER_MINUTE": "100000",  # the drill sends 10 a second
        },
    )


def prepare(env: dict, pairs: int = 1) -> list[dict]:
    """Migrate, N conversations with client and vet sessions, and two accounts with a password
    (tests.messaging.servers' seeding, plus ours)."""
    result = servers.prepare(env, pairs)
    # Pages are served as in production: hashed static files from the var dir's static root.
    subprocess.run(
        [str(servers.PYTHON), "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    script = (
        "import django; django.setup()\n"
        "from portal.models import User\n"
        "from allauth.account.models import EmailAddress\n"
        "for email in ('locked@example.com', 'fine@example.com'):\n"
        f"    user = User.objects.create_user(email, '{PASSWORD}')\n"
        "    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)\n"
    )
    subprocess.run(
        [str(servers.PYTHON), "-c", script], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return result


def database(var_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(var_dir / "accueil.sqlite3", timeout=10)


# --- A chat participant, as conversation.js behaves ---------------------------------------------


@dataclass
class Participant:
    """Reads its socket, reconnects on close (to the first port that answers) with the last
    sequence number it holds, and sends each message once over the socket, or by the plain form
    post while the socket is down; a retry keeps the message's client_token (never doubled)."""

    name: str
    ports: list[int]
    conversation: int
    cookie: str
    seen: list[int] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    notices: int = 0  # "live updates are paused" shown to this sender
    ws: WsClient | None = None
    ack: asyncio.Queue | None = None
    reconnects: int = 0
    stopping: bool = False

    @property
    def last_seq(self) -> int:
        return max(self.seen, default=1)

    def count(self, what: str) -> None:
        self.statuses[what] = self.statuses.get(what, 0) + 1

    async def run(self) -> None:
        self.ack = asyncio.Queue()
        while not self.stopping:
            try:
                await self._connect()
            except (OSError, HandshakeError, TimeoutError, asyncio.IncompleteReadError):
                self.count("connect refused")
                await asyncio.sleep(0.3)  # as the browser's backoff: nothing to await
                continue
            try:
                while True:
                    frame = await self.ws.recv(timeout=3600)
                    for seq in map(int, SEQ.findall(frame)):
                        self.seen.append(seq)
                    if 'id="compose"' in frame:
                        await self.ack.put(frame)
            except (Closed, OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                self.count(f"closed {getattr(exc, 'code', type(exc).__name__)}")
            self.ws = None
            self.reconnects += 1

    async def _connect(self) -> None:
        path = f"/ws/conversations/{self.conversation}/"
        last_error: Exception | None = None
        for port in self.ports:
            try:
                ws = await WsClient.connect(HOST, port, path, cookie=self.cookie, timeout=3)
            except (OSError, HandshakeError, TimeoutError, asyncio.IncompleteReadError) as exc:
                last_error = exc
                continue
            await ws.send(json.dumps({"type": "hello", "last_seq": self.last_seq}))
            self.ws = ws
            return
        raise last_error or OSError("no port")

    async def say(self, body: str, token: str) -> None:
        """Until stored: over the socket when open, else by the form post."""
        while True:
            if self.ws is not None:
                while not self.ack.empty():
                    self.ack.get_nowait()
                try:
                    await self.ws.send(
                        json.dumps({"type": "message", "body": body, "client_token": token})
                    )
                    frame = await asyncio.wait_for(self.ack.get(), 3)
                except (OSError, TimeoutError, AttributeError):
                    await asyncio.sleep(0.1)  # the socket went: try again, same token
                    continue
                if "Live updates are paused" in frame:
                    self.notices += 1
                if f'value="{token}"' in frame:  # the form came back with the text: refused
                    self.count("ws refused")
                    await asyncio.sleep(0.5)
                    continue
                self.count("ws sent")
                return
            status, page = await asyncio.to_thread(self._post, body, token)
            self.count(f"post {status}")
            if status == 302:
                if "Live updates are paused" in page:
                    self.notices += 1
                return
            await asyncio.sleep(0.3)

    def _post(self, body: str, token: str) -> tuple[int, str]:
        """The form without JavaScript, on the first process that answers."""
        for port in self.ports:
            status, page = self._post_to(port, body, token)
            if status:
                return status, page
        return 0, ""

    def _post_to(self, port: int, body: str, token: str) -> tuple[int, str]:
        """GET the page for the CSRF token, POST, follow the redirect."""
        try:
            status, headers, page = request(
                port, "GET", f"/messages/{self.conversation}/", self.cookie
            )
            if status != 200:
                return status, ""
            csrf_cookie = next(
                (
                    v.split(";")[0]
                    for k, v in headers
                    if k.lower() == "set-cookie" and v.startswith("csrftoken=")
                ),
                "",
            )
            form = {
                "body": body,
                "client_token": token,
                "csrfmiddlewaretoken": CSRF.search(page).group(1),
            }
            status, headers, _ = request(
                port,
                "POST",
                f"/messages/{self.conversation}/send/",
                f"{self.cookie}; {csrf_cookie}",
                urllib.parse.urlencode(form),
            )
            if status == 302:  # the page it redirects to shows the flash message (a cookie)
                flash = "; ".join(
                    v.split(";")[0]
                    for k, v in headers
                    if k.lower() == "set-cookie" and v.startswith("messages=")
                )
                cookie = f"{self.cookie}; {flash}" if flash else self.cookie
                _, _, page = request(port, "GET", f"/messages/{self.conversation}/", cookie)
                return 302, page
            return status, ""
        except OSError:
            return 0, ""


def request(
    port: int, method: str, path: str, cookie: str, body: str | None = None
) -> tuple[int, list[tuple[str, str]], str]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    headers = {"Cookie": cookie, "Origin": f"http://{HOST}:{port}", "Accept-Language": "en"}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    page = response.read().decode(errors="replace")
    connection.close()
    return response.status, response.getheaders(), page


def check_messages(var_dir: Path, conversation: int, tokens: list[str]) -> tuple[int, int, int]:
    """(stored, missing, doubled) for the tokens sent in this conversation."""
    with database(var_dir) as db:
        rows = db.execute(
            "SELECT client_token, COUNT(*) FROM messaging_message "
            "WHERE conversation_id = ? AND client_token != '' GROUP BY client_token",
            (conversation,),
        ).fetchall()
    counts = dict(rows)
    missing = sum(1 for token in tokens if token not in counts)
    doubled = sum(count - 1 for count in counts.values() if count > 1)
    return len(counts), missing, doubled


def last_seq_of(var_dir: Path, conversation: int) -> int:
    with database(var_dir) as db:
        return db.execute(
            "SELECT last_seq FROM messaging_conversation WHERE id = ?", (conversation,)
        ).fetchone()[0]


def live_report(who: Participant, last_seq: int) -> str:
    doubled = len(who.seen) - len(set(who.seen))
    missing = sorted(set(range(2, last_seq + 1)) - set(who.seen))
    return (
        f"{who.name}: saw {len(set(who.seen))} of {last_seq - 1} messages, "
        f"missing {len(missing)}, doubled {doubled}, reconnects {who.reconnects}, "
        f"statuses {who.statuses}, 'paused' notices {who.notices}"
    )


async def settle(people: list[Participant], last_seq: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(set(range(2, last_seq + 1)) <= set(p.seen) for p in people):
            return
        await asyncio.sleep(0.1)  # waiting for other processes' frames: polled with a deadline


# --- Scenarios -----------------------------------------------------------------------------------


async def idle(port: int, pair: dict, seconds: float = 60) -> bool:
    path = f"/ws/conversations/{pair['conversation']}/"
    client = await WsClient.connect(HOST, port, path, cookie=pair["client_cookie"])
    await client.send(json.dumps({"type": "hello", "last_seq": 1}))
    await client.recv(timeout=10)
    started = time.monotonic()
    try:
        # One deadline for the whole wait: recv's own timeout is per frame, and daphne's pings
        # (every 20 s, answered inside recv) would restart it.
        frame = await asyncio.wait_for(client.recv(timeout=3600), seconds)
    except TimeoutError:
        outcome = f"still open after {time.monotonic() - started:.0f} s idle"
        ok = True
    except Closed as exc:
        outcome = f"CLOSED with {exc.code} after {time.monotonic() - started:.1f} s idle"
        ok = False
    else:
        outcome = f"unexpected frame after {time.monotonic() - started:.1f} s: {frame[:80]!r}"
        ok = False
    if ok:
        vet = await WsClient.connect(HOST, port, path, cookie=pair["vet_cookie"])
        await vet.send(json.dumps({"type": "hello", "last_seq": 1}))
        sent = time.monotonic()
        await vet.send(
            json.dumps({"type": "message", "body": "après la pause", "client_token": "idle"})
        )
        while "après la pause" not in await client.recv(timeout=10):
            pass
        outcome += (
            f"; a message after the idle time arrived in {(time.monotonic() - sent) * 1000:.0f} ms"
        )
        await vet.close()
    await client.close()
    print(f"idle websocket over channels_redis: {outcome}")
    return ok


async def chat_through_restart(
    var_dir: Path,
    redis: servers.RedisServer,
    pair: dict,
    *,
    down_at=3.0,
    down_for=4.0,
    run_for=12.0,
) -> bool:
    client = Participant("client", [DAPHNE_PORTS[0]], pair["conversation"], pair["client_cookie"])
    vet = Participant("vet", [DAPHNE_PORTS[0]], pair["conversation"], pair["vet_cookie"])
    readers = [asyncio.create_task(p.run()) for p in (client, vet)]
    tokens: list[str] = []
    started = time.monotonic()

    async def talk(who: Participant) -> None:
        index = 0
        while time.monotonic() - started < run_for:
            token = f"{who.name}-{index}"
            tokens.append(token)
            await who.say(f"{who.name} message {index}", token)
            index += 1
            await asyncio.sleep(0.2)

    async def outage() -> None:
        await asyncio.sleep(down_at)
        redis.kill()
        print(f"  redis killed at {time.monotonic() - started:.1f} s")
        await asyncio.sleep(down_for)
        redis.start()
        print(f"  redis back at {time.monotonic() - started:.1f} s")

    async def progress() -> None:
        while time.monotonic() - started < run_for + 30:
            await asyncio.sleep(2)
            print(
                f"  {time.monotonic() - started:.0f} s: sent {len(tokens)}; "
                f"client {client.statuses}; vet {vet.statuses}",
                flush=True,
            )

    ticker = asyncio.create_task(progress())
    await asyncio.gather(talk(client), talk(vet), outage())
    ticker.cancel()
    last = last_seq_of(var_dir, pair["conversation"])
    await settle([client, vet], last)
    for participant in (client, vet):
        participant.stopping = True
        if participant.ws is not None:
            await participant.ws.close()
    for task in readers:
        task.cancel()
    stored, missing, doubled = check_messages(var_dir, pair["conversation"], tokens)
    print(
        f"chat through a {down_for:.0f} s Redis outage: {len(tokens)} messages sent, "
        f"{stored} stored, {missing} missing, {doubled} doubled"
    )
    for participant in (client, vet):
        print("  " + live_report(participant, last))
    fives = sum(n for p in (client, vet) for k, n in p.statuses.items() if k.startswith("post 5"))
    live_ok = all(
        set(range(2, last + 1)) <= set(p.seen) and len(p.seen) == len(set(p.seen))
        for p in (client, vet)
    )
    return missing == 0 and doubled == 0 and fives == 0 and live_ok


def sign_in(port: int, email: str, password: str) -> tuple[int, str]:
    status, headers, page = request(port, "GET", "/accounts/login/", "")
    csrf_cookie = next(
        (
            v.split(";")[0]
            for k, v in headers
            if k.lower() == "set-cookie" and v.startswith("csrftoken=")
        ),
        "",
    )
    form = {"login": email, "password": password, "csrfmiddlewaretoken": CSRF.search(page).group(1)}
    status, _, page = request(
        port, "POST", "/accounts/login/", csrf_cookie, urllib.parse.urlencode(form)
    )
    if status == 302:
        return status, "signed in"
    if "Too many failed sign-in attempts" in page:
        return status, "locked"
    return status, "refused"


def logins_through_restart(redis: servers.RedisServer) -> bool:
    port = DAPHNE_PORTS[0]
    results: list[tuple[str, int, str]] = []

    def attempts(phase: str, count: int) -> None:
        for _ in range(count):
            results.append((phase, *sign_in(port, "locked@example.com", "wrong-password")))
        results.append((phase, *sign_in(port, "fine@example.com", PASSWORD)))

    attempts("before", 6)
    redis.kill()
    attempts("redis down", 6)
    redis.start()
    time.sleep(4)  # the breaker's retry time (3 s) passes; no event to await
    attempts("redis back", 6)
    ok = True
    for phase in ("before", "redis down", "redis back"):
        mine = [r for r in results if r[0] == phase]
        outcomes = [f"{status} {what}" for _, status, what in mine]
        print(f"  {phase}: {', '.join(outcomes)}")
        ok &= all(status < 500 for _, status, _ in mine)
        ok &= mine[-1][2] == "signed in"  # the other account signs in whatever Redis does
        ok &= any(what == "locked" for _, _, what in mine[:-1])
    verdict = "no 500, the lock held in each phase" if ok else "FAILED"
    print(f"rate-limited sign-ins through a Redis restart: {verdict}")
    return ok


def main() -> int:
    wanted = set(sys.argv[1:]) or {"idle", "chat", "logins"}
    claim_ports()
    redis = servers.RedisServer(REDIS_PORT).start()
    ok = True
    with tempfile.TemporaryDirectory(prefix="accueil-drill-") as tmp:
        var_dir = Path(tmp)
        env = environment(var_dir, redis)
        pairs = prepare(env, 3)
        daphne = servers.start_daphne(env, DAPHNE_PORTS[0])
        try:
            if "idle" in wanted:
                ok &= asyncio.run(idle(DAPHNE_PORTS[0], pairs[0]))
            if "chat" in wanted:
                ok &= asyncio.run(chat_through_restart(var_dir, redis, pairs[1]))
            if "logins" in wanted:
                ok &= logins_through_restart(redis)
        finally:
            servers.stop(daphne)
            redis.kill()
            log = (var_dir / f"daphne-{DAPHNE_PORTS[0]}.log").read_text(errors="replace")
            kinds = Counter(
                line.split(":")[0]
                for line in log.splitlines()
                if re.match(r"^[\w.]+(Error|Exception)\b", line)
            )
            print(f"daphne's log: {len(log.splitlines())} lines; exceptions: {dict(kinds)}")
            if not ok:
                print(log[-3000:])
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
