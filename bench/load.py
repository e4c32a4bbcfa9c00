"""Load benchmark (`make bench-load`): an evening rush of owners, with locust, on both servers.

1. The production topology (`bin/serve-prod`: nginx → gunicorn, daphne on /ws/, two task
   workers) on PostgreSQL (database `accueil_load`, created and dropped here) and Redis (db 8),
   with the demo clinic, on 127.0.0.1:8601.
2. `make run`'s embedded default: daphne and `manage.py worker` on SQLite, no Redis, on
   127.0.0.1:8604.

For each: 300 client accounts with an animal (bench/load_data.py), then locust, headless, with
300 owners arriving 30 a second for 60 s (bench/locustfile.py: sign in, dashboard, booking days
and slots, book, sometimes cancel, chat over the websocket). Reported per endpoint: requests/s,
p50/p95/p99 and failures (goal 0); then, from the database, slots booked twice and overlapping
appointments of one vet or one animal (goal 0), and bookings the owners were told of that the
database lacks, or the reverse (goal 0). A table compares both servers at the end.

    .venv/bin/python bench/load.py [--users 300] [--spawn-rate 30] [--seconds 60]
                                   [--login-share 0.2] [--only prod|embedded] [--keep-logs DIR]

Ctrl-C stops the servers and drops the database. A server that does not become ready prints
the tail of its log. Everything else lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent

PG_ADMIN_URL = os.environ.get("BENCH_LOAD_PG", "postgres://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "accueil_load"
REDIS_URL = os.environ.get("BENCH_LOAD_REDIS", "redis://127.0.0.1:6379/8")
PROD_PORTS = {"PORT": "8601", "WEB_PORT": "8602", "WS_PORT": "8603"}
EMBEDDED_PORT = "8604"
# Each must be 0: a slot booked twice, two active appointments of one vet (buffers included) or
# of one animal that meet, an owner told "booked" of an appointment the database does not hold
# for them, or an appointment the database holds that no owner was told of.
DATABASE_CHECKS = [
    "double_booked_slots",
    "vet_overlaps",
    "animal_overlaps",
    "seen_but_missing",
    "in_db_not_seen",
]
READY_WITHIN = 240  # seconds: migrations on a fresh database, collectstatic, the demo clinic


class Failed(Exception):
    """The run cannot go on; the message says why."""


def base_environment(var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "MIGRATE_DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    var_dir.mkdir(parents=True, exist_ok=True)
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        ACCUEIL_VAR_DIR=str(var_dir),
        # The servers and bench/load_data.py sign the same sessions: one key for both.
        SECRET_KEY="load-bench-" + "k" * 50,
        ACCUEIL_MASTER_KEYS="load:" + "A" * 43 + "=",
        DJANGO_DEBUG="0",
        PYTHONUNBUFFERED="1",
        PATH=f"{BIN}:{env.get('PATH', '')}",
    )
    return env


# --- processes -----------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def stop(self, grace: float = 25) -> None:
        """SIGTERM to the whole process group (honcho, nginx, gunicorn... or daphne), then
        SIGKILL to what is left after `grace` seconds."""
        if not self.alive():
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            print(f"  {self.name} did not stop within {grace:.0f} s: killed", flush=True)
        # Children (nginx's, gunicorn's workers) may outlive their parent for a moment.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()


def start(name: str, command: list[str], env: dict[str, str], logs: Path) -> Process:
    log = logs / f"{name}.log"
    handle = log.open("ab")
    popen = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: one signal stops it all
    )
    handle.close()
    return Process(name, popen, log)


def run(command: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise Failed(
            f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        )
    return done.stdout


def wait_ready(url: str, processes: list[Process]) -> float:
    """Poll /readyz until it answers 200; a process that exits first ends the wait."""
    began = time.monotonic()
    deadline = began + READY_WITHIN
    last = ""
    while time.monotonic() < deadline:
        for process in processes:
            if not process.alive():
                raise Failed(
                    f"{process.name} exited ({process.popen.returncode}) before {url} was ready."
                    f"\n--- last lines of {process.log.name} ---\n{process.tail()}"
                )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - began
        except urllib.error.HTTPError as error:
            last = error.read().decode(errors="replace")[:300]
        except OSError as error:
            last = str(error)
        time.sleep(0.5)
    tails = "\n".join(f"--- last lines of {p.log.name} ---\n{p.tail()}" for p in processes)
    raise Failed(f"{url} not ready within {READY_WITHIN} s (last answer: {last})\n{tails}")


# --- PostgreSQL and Redis -------------------------------------------------------------------------


def pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def pg_execute(statement: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as connection:
        connection.execute(statement)


def create_database() -> None:
    pg_execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
    pg_execute(f'CREATE DATABASE "{PG_DATABASE}"')


def drop_database() -> None:
    try:
        pg_execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
    except Exception as error:  # reported: the run's figures still stand
        print(f"  could not drop {PG_DATABASE}: {error}", flush=True)


def flush_redis() -> None:
    """Only our own db (its number is in REDIS_URL): a previous run's cache must not answer."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=3)
    try:
        client.flushdb()
    finally:
        client.close()


# --- one run -------------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    rows: list[dict] = field(default_factory=list)  # one per endpoint, then all of them
    failures: list[dict] = field(default_factory=list)
    outcomes: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    ready_seconds: float = 0.0


def rush(label: str, host: str, env: dict[str, str], work: Path, args) -> Result:
    """Accounts, then locust against `host`, then the database checks."""
    result = Result(label)
    accounts = work / "accounts.json"
    began = time.monotonic()
    run(
        [
            PYTHON,
            "bench/load_data.py",
            "accounts",
            "--users",
            str(args.users),
            "--out",
            str(accounts),
        ],
        env,
        "creating the accounts",
    )
    print(
        f"  {args.users} accounts in {time.monotonic() - began:.1f} s; locust: "
        f"{args.users} owners, {args.spawn_rate}/s, {args.seconds} s ...",
        flush=True,
    )
    out = work / "locust-out.json"
    locust_env = {
        **env,
        "LOAD_ACCOUNTS": str(accounts),
        "LOAD_LOGIN_SHARE": str(args.login_share),
        "LOAD_OUT": str(out),
    }
    command = [str(BIN / "locust"), "-f", "bench/locustfile.py", "--headless", "--host", host]
    command += ["--users", str(args.users), "--spawn-rate", str(args.spawn_rate)]
    command += ["--run-time", f"{args.seconds}s", "--only-summary", "--loglevel", "WARNING"]
    # An owner mid-booking finishes it (a POST cut off would be a booking nobody was told of).
    command += ["--stop-timeout", "30"]
    locust = start("locust", command, locust_env, work)
    try:
        locust.popen.wait(args.seconds + 120)
    except subprocess.TimeoutExpired:
        locust.stop(5)
        raise Failed(f"locust did not finish.\n{locust.tail()}") from None
    finally:
        locust.stop(5)
    if not out.exists():
        raise Failed(f"locust wrote no figures.\n{locust.tail()}")
    figures = json.loads(out.read_text())
    result.rows = figures["stats"]
    result.failures = sorted(figures["errors"], key=lambda e: -e["occurrences"])
    result.outcomes = figures["outcomes"]
    result.checks = json.loads(
        run(
            [PYTHON, "bench/load_data.py", "check", "--seen", str(out)],
            env,
            "checking the database",
        )
    )
    return result


def run_prod(args, tmp: Path) -> Result:
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        raise Failed("the production topology needs nginx: sudo apt-get install nginx-light")
    work = tmp / "prod"
    env = base_environment(work / "var")
    env.update(
        DATABASE_URL=pg_url(PG_DATABASE),
        REDIS_URL=REDIS_URL,
        DEMO="1",
        HOST="127.0.0.1",
        ACCUEIL_LOG_LEVEL="WARNING",
        **PROD_PORTS,
    )
    print(
        f"Production topology on :{PROD_PORTS['PORT']} (PostgreSQL {PG_DATABASE}, {REDIS_URL})",
        flush=True,
    )
    create_database()
    flush_redis()
    server = None
    try:
        server = start("serve-prod", ["bin/serve-prod"], env, work)
        host = f"http://127.0.0.1:{PROD_PORTS['PORT']}"
        ready = wait_ready(host + "/readyz", [server])
        print(f"  ready in {ready:.0f} s", flush=True)
        result = rush("production", host, env, work, args)
        result.ready_seconds = ready
        return result
    finally:
        if server is not None:
            server.stop()
            if args.keep_logs:
                keep(work, args.keep_logs, "prod")
        drop_database()


def run_embedded(args, tmp: Path) -> Result:
    work = tmp / "embedded"
    env = base_environment(work / "var")
    host = f"http://127.0.0.1:{EMBEDDED_PORT}"
    env.update(ACCUEIL_BASE_URL=host)
    print(f"make run's embedded default on :{EMBEDDED_PORT} (daphne, SQLite, no Redis)", flush=True)
    # What `make run` does before bin/serve.
    run([PYTHON, "manage.py", "migrate", "--noinput"], env, "migrate")
    run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], env, "collectstatic")
    run([PYTHON, "manage.py", "seed_demo"], env, "seed_demo")
    processes: list[Process] = []
    try:
        processes.append(
            start("worker", [PYTHON, "manage.py", "worker", "--queue-name", "*"], env, work)
        )
        processes.append(
            start(
                "daphne",
                [
                    str(BIN / "daphne"),
                    "-b",
                    "127.0.0.1",
                    "-p",
                    EMBEDDED_PORT,
                    "portal.asgi:application",
                ],
                env,
                work,
            )
        )
        ready = wait_ready(host + "/readyz", processes)
        print(f"  ready in {ready:.0f} s", flush=True)
        result = rush("embedded", host, env, work, args)
        result.ready_seconds = ready
        return result
    finally:
        for process in reversed(processes):
            process.stop()
        if args.keep_logs:
            keep(work, args.keep_logs, "embedded")


def keep(work: Path, into: Path, label: str) -> None:
    target = into / label
    target.mkdir(parents=True, exist_ok=True)
    for path in work.glob("*"):
        if path.is_file():
            shutil.copy2(path, target / path.name)


# --- report --------------------------------------------------------------------------------------


def label(row: dict) -> str:
    return "**all**" if row["name"] == "Aggregated" else f"{row['type']} {row['name']}"


def show(result: Result) -> None:
    print(f"\n## {result.label}\n")
    print("| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | failures |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in result.rows:
        print(
            f"| {label(row)} | {row['requests']} | {row['rps']:.1f} | {row['p50']:.0f} | "
            f"{row['p95']:.0f} | {row['p99']:.0f} | {row['failures']} |"
        )
    if result.failures:
        print("\nFailures:")
        for row in result.failures[:10]:
            print(f"- {row['occurrences']} x {row['type']} {row['name']}: {row['error'][:160]}")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items()))
    print(f"\nOwners' outcomes: {outcomes}")
    print("Database: " + ", ".join(f"{k} {v}" for k, v in result.checks.items()))


def compare(results: list[Result]) -> None:
    if len(results) < 2:
        return
    keys: list[tuple[str, str]] = []
    for result in results:
        for row in result.rows:
            if (row["type"], row["name"]) not in keys:
                keys.append((row["type"], row["name"]))
    keys.sort(key=lambda k: (k[1] == "Aggregated", k[1], k[0]))
    tables = [{(row["type"], row["name"]): row for row in result.rows} for result in results]
    print("\n## Side by side: req/s, p50 / p95 / p99 ms, failures\n")
    print("| endpoint | " + " | ".join(r.label for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for key in keys:
        cells = []
        for table in tables:
            row = table.get(key)
            cells.append(
                "—"
                if row is None
                else f"{row['rps']:.1f}/s, {row['p50']:.0f} / {row['p95']:.0f} / "
                f"{row['p99']:.0f}, {row['failures']} failed"
            )
        name = "**all**" if key[1] == "Aggregated" else f"{key[0]} {key[1]}"
        print(f"| {name} | " + " | ".join(cells) + " |")
    for check in [*DATABASE_CHECKS, "appointments", "cancelled"]:
        print(
            f"| db: {check} | " + " | ".join(str(r.checks.get(check, "—")) for r in results) + " |"
        )


def interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--spawn-rate", type=float, default=30)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument(
        "--login-share",
        type=float,
        default=0.2,
        help="share of owners who sign in through the form (the others come back signed in)",
    )
    parser.add_argument("--only", choices=["prod", "embedded"])
    parser.add_argument("--keep-logs", type=Path, help="copy the servers' and locust's files here")
    args = parser.parse_args()
    try:
        import locust  # noqa: F401
        import websocket  # noqa: F401
    except ImportError:
        print("locust is not installed: make bench-load installs it (pip install -e '.[bench]')")
        return 2

    # SIGTERM (a CI timeout, kill) cleans up as Ctrl-C does, and so does Ctrl-C even where the
    # shell started us with SIGINT ignored (a background job).
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="accueil-load-") as tmp:
        try:
            if args.only in (None, "prod"):
                results.append(run_prod(args, Path(tmp)))
                show(results[-1])
            if args.only in (None, "embedded"):
                results.append(run_embedded(args, Path(tmp)))
                show(results[-1])
        except Failed as error:
            print(f"\nbench-load stopped: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nInterrupted: servers stopped, database dropped.", file=sys.stderr)
            return 130
    compare(results)
    bad = sum(int(r.checks.get(k) or 0) for r in results for k in DATABASE_CHECKS)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
