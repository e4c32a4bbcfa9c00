"""API benchmark (`make bench-api`): the free-slots endpoint against the day-slots partial, on the
production server, in the same run.

The same throwaway database as `make bench-http` (bench/http_speed.py: 5 vets working
Monday-Saturday, 5,000 appointments around a busy day, 5 signed-in clients; a temporary SQLite
file, or PostgreSQL from a template with DATABASE_URL; the Redis cache under a prefix of its own
with REDIS_URL), plus one API key (phone rules, a rate limit out of the way). One production
server (gunicorn, `--workers` sync workers, deploy/gunicorn.conf.py) serves, in turn:

- floor: ``GET /bench/ok/``, a trivial signed-in view (server, middleware, session, user);
- the day-slots partial the client's booking page swaps in (HTMX, signed in), on the busy day;
- ``GET /api/v1/slots?service_id=…&day=…`` with the key, on the same day.

Each is driven by ``--connections`` keep-alive connections (Python threads with http.client; no
wrk needed) for ``--seconds`` after a warm-up. Printed: requests/s, p50/p99, the ratio to the
floor, and the API's ratio to the partial (the issue's goal: the free-slots endpoint meets the
day-slots partial's, i.e. a ratio near 1, >= 0.8 accepted).

    .venv/bin/python bench/api.py [--seconds 10] [--connections 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import http.client
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import http_speed  # noqa: E402  (bench/http_speed.py: the shared database and server helpers)

ENDPOINTS = ("floor", "slots", "api")
LABELS = {
    "floor": "floor: GET /bench/ok/ (signed in)",
    "slots": "day-slots partial (HTMX, signed in, busy day)",
    "api": "GET /api/v1/slots (API key, busy day)",
}


def add_key() -> tuple[str, int]:
    """An API key in the template database (before the run copies it); its token and the
    consultation's id."""
    from django.db import connection, connections

    from api.models import ApiKey, Scope
    from booking.models import Service
    from portal.models import User

    manager = User.objects.create_user("bench-manager@example.com", "x" * 20, role="manager")
    _key, token = ApiKey.issue(
        name="Bench",
        scopes=[s.value for s in Scope],
        channel="phone",
        created_by=manager,
        rate_per_minute=10_000_000,
    )
    service = Service.objects.get(slug="consultation").pk
    if connection.vendor == "sqlite":
        connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connections.close_all()
    return token, service


def wait_until_up(process: subprocess.Popen, port: int, log: Path, deadline: float) -> None:
    """Until the server answers /healthz (http_speed's own check asks for /bench/hello/, which
    deny-by-default now sends to the sign-in page)."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server stopped ({process.returncode}):\n{http_speed.tail(log)}"
            )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer on port {port}:\n{http_speed.tail(log)}")


def load(port: int, requests: list[tuple[str, dict]], seconds: float, connections: int) -> dict:
    """``connections`` threads, each on one keep-alive connection, cycling through
    ``requests`` for ``seconds``: requests/s, p50/p99 (ms), the statuses."""
    stop_at = time.monotonic() + seconds
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, counts, n = [], {}, index
        while time.monotonic() < stop_at:
            path, headers = requests[n % len(requests)]
            n += 1
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            mine.append((time.perf_counter() - started) * 1000)
            counts[status] = counts.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for status, count in counts.items():
                statuses[status] = statuses.get(status, 0) + count

    began = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    return {
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50": statistics.median(latencies) if latencies else 0.0,
        "p99": p99,
        "statuses": statuses,
    }


def requests_for(endpoint: str, data: dict, token: str, service: int) -> list[tuple[str, dict]]:
    day = data["measured"].isoformat()
    base = {"Host": "127.0.0.1", "Accept-Language": "fr"}
    if endpoint == "floor":
        return [
            (http_speed.PAGE_PATH, {**base, "Cookie": f"sessionid={c['session']}"})
            for c in data["clients"]
        ]
    if endpoint == "slots":
        return [
            (
                f"/booking/new/?patient={c['patient']}&service=consultation&day={day}",
                {**base, "Cookie": f"sessionid={c['session']}", "HX-Request": "true"},
            )
            for c in data["clients"]
        ]
    return [
        (
            f"/api/v1/slots?service_id={service}&day={day}",
            {**base, "Authorization": f"Bearer {token}"},
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench_args = argparse.Namespace(sessions="", threads=4, gunicorn_args="")
    server = http_speed.Server(f"gunicorn-sync x{args.workers}", "gunicorn-sync", args.workers)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="accueil-bench-api-") as tmp:
        work = Path(tmp)
        bench = http_speed.Bench(bench_args, work)
        try:
            print(
                f"Seeding {http_speed.VETS} vets, {http_speed.APPOINTMENTS} appointments...",
                file=sys.stderr,
            )
            data = bench.prepare()
            token, service = add_key()
            env, _database = bench.fresh_copy()
            port = http_speed.PORTS[bench.runs % len(http_speed.PORTS)]
            log = work / f"run-{bench.runs}" / "server.log"
            with log.open("w") as stream:
                bench.running = subprocess.Popen(
                    server.command(port, 4, []),
                    cwd=ROOT,
                    env=env,
                    stdout=stream,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            wait_until_up(bench.running, port, log, time.monotonic() + 120)
            for endpoint in ENDPOINTS:
                requests = requests_for(endpoint, data, token, service)
                load(port, requests, args.warmup, args.connections)
                results[endpoint] = load(port, requests, args.seconds, args.connections)
                r = results[endpoint]
                print(
                    f"  {endpoint:<6} {r['rps']:8.1f} req/s  p50 {r['p50']:7.1f} ms  "
                    f"p99 {r['p99']:7.1f} ms  {http_speed.format_statuses(r['statuses'])}",
                    file=sys.stderr,
                    flush=True,
                )
            if bench.redis:
                bench.forget_cache(env["ACCUEIL_CACHE_PREFIX"])
        except KeyboardInterrupt:
            print("\ninterrupted: server stopped, temporary data removed", file=sys.stderr)
            raise SystemExit(130) from None
        finally:
            bench.close()
    database = "PostgreSQL" if bench.postgres else "SQLite (WAL)"
    database += ", Redis cache" if bench.redis else ", local-memory cache"
    print(
        f"\n{server.name}, {args.connections} keep-alive connections (Python threads), "
        f"{args.seconds:g} s per endpoint after {args.warmup:g} s; {database}"
    )
    print("\n| endpoint | req/s | p50 ms | p99 ms | ratio to floor | answers |")
    print("|---|---|---|---|---|---|")
    floor = results["floor"]["rps"] or 1.0
    for endpoint in ENDPOINTS:
        r = results[endpoint]
        print(
            f"| {LABELS[endpoint]} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | "
            f"{r['rps'] / floor:.2f} | {http_speed.format_statuses(r['statuses'])} |"
        )
    ratio = results["api"]["rps"] / (results["slots"]["rps"] or 1.0)
    print(f"\nfree-slots endpoint / day-slots partial: {ratio:.2f} (goal >= 0.8)")


if __name__ == "__main__":
    main()
