"""HTTP benchmark (`make bench-http`; not bench/http.py, which would shadow the standard library's
http package for every script in bench/): the production HTTP server against daphne, with wrk.

One run, on 127.0.0.1, each server started and stopped here, each on a fresh copy of the same
throwaway database (a temporary SQLite file in WAL mode, or a PostgreSQL database made from a
template when DATABASE_URL is given; never the developer's var/), and with REDIS_URL the Redis
cache under a prefix of its own, removed afterwards. Data: 5 vets working
Monday-Saturday, 5,000 appointments on the working days around the measured (busy) day, a
30-minute consultation, 5 client accounts with a dog each and a signed-in session each.

Four endpoints per server, each with wrk (one thread, 8 keep-alive connections, a warm-up run
first, then ``--seconds``), the requests rotating over the 5 clients:

- floor: ``GET /bench/hello/``, a trivial view without a session (server + middleware);
- page: ``GET /bench/ok/``, a trivial login-protected view (full middleware, session, user);
- slots: the day-slots partial the client's booking page swaps in (HTMX), on the busy day;
- book: ``POST /booking/new/confirm/`` with the CSRF token and the session cookie; every request
  books a different free slot (each vet's free slots without overlaps, each client booking with
  one vet), so the expected answer is a 302 to the new appointment.

Servers: gunicorn (sync, and gthread), granian in WSGI mode when it is installed, daphne (as
`make run` served until now), then the production server (``--production``) with 2 workers.
Figures only: requests/s, p50/p99 latency, the ratio to the same server's floor, then the
ratios the goals are about.

    .venv/bin/python bench/http_speed.py [--seconds 10] [--servers gunicorn-gthread,daphne]

wrk is Debian's package: `sudo apt-get install wrk`.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
SETTINGS = "bench.http_settings"
PUBLIC_PATH = "/bench/hello/"  # bench/http_urls.py
PAGE_PATH = "/bench/ok/"  # bench/floor_urls.py
PORTS = range(8401, 8410)
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"

VETS = 5
APPOINTMENTS = 5000
CSRF = "b" * 32
ENDPOINTS = ("floor", "page", "slots", "book")
LABELS = {
    "floor": "floor: GET /bench/hello/ (no session)",
    "page": "page: GET /bench/ok/ (signed in)",
    "slots": "day-slots partial (HTMX, busy day)",
    "book": "booking POST (a new slot each)",
}


@dataclass(frozen=True)
class Server:
    name: str
    kind: str  # gunicorn-sync, gunicorn-gthread, granian, daphne
    workers: int = 1

    def command(self, port: int, threads: int, extra: list[str]) -> list[str]:
        bind = f"127.0.0.1:{port}"
        if self.kind == "daphne":
            return [
                str(VENV_BIN / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "portal.asgi:application",
            ]
        if self.kind == "uvicorn":
            # The other ASGI server one could give `make run` (HTTP and websockets on one port).
            return [
                str(VENV_BIN / "uvicorn"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--lifespan",
                "off",
                "--log-level",
                "warning",
                "portal.asgi:application",
            ]
        if self.kind == "granian":
            return [
                str(VENV_BIN / "granian"),
                "--interface",
                "wsgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(self.workers),
                "--blocking-threads",
                str(threads),
                "--no-ws",
                "--log-level",
                "warning",
                "portal.wsgi:application",
            ]
        worker_class = self.kind.removeprefix("gunicorn-")
        command = [str(VENV_BIN / "gunicorn")]
        if GUNICORN_CONFIG.exists():
            # Production's settings (the Procfile's), the worker model and count overridden.
            command += ["--config", str(GUNICORN_CONFIG)]
        command += [
            "--bind",
            bind,
            "--workers",
            str(self.workers),
            "--worker-class",
            worker_class,
            "--log-level",
            "warning",
        ]
        if worker_class == "gthread":
            command += ["--threads", str(threads)]
        return [*command, *extra, "portal.wsgi:application"]


KINDS = ("gunicorn-sync", "gunicorn-gthread", "granian", "daphne", "uvicorn")


@dataclass
class Result:
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: str = ""
    sent: int = 0
    booked: int | None = None  # the booking POST: appointments the measured run added


# --- the throwaway database -----------------------------------------------------------------------


def base_environment(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        ACCUEIL_VAR_DIR=str(var_dir),
        SECRET_KEY="bench-http-" + "x" * 50,
        ACCUEIL_MASTER_KEYS="bench:" + "A" * 43 + "=",
        ALLOWED_HOSTS="127.0.0.1",
        DJANGO_DEBUG="0",
        ACCUEIL_LOG_LEVEL="WARNING",
        ACCUEIL_BASE_URL="http://127.0.0.1:8401",
        EMAIL_BACKEND="locmem",
        ACCUEIL_SMS_BACKEND="locmem",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def postgres_admin(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    for key in ("DATABASE_URL", "REDIS_URL"):
        if key not in env:
            os.environ.pop(key, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    # Full pages need the hashed static files, as in production.
    call_command("collectstatic", verbosity=0, interactive=False)


def busy_days(measured: date, count: int) -> list[date]:
    """Working days (Monday-Saturday) nearest to the measured day, the measured day first."""
    days, offset = [measured], 1
    while len(days) < count:
        for day in (measured - timedelta(days=offset), measured + timedelta(days=offset)):
            if day.weekday() != 6 and len(days) < count:
                days.append(day)
        offset += 1
    return days


def seed() -> dict:
    """5 vets, 5,000 appointments around the measured day, 5 signed-in clients."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from booking.models import Appointment, BookingRules, Practitioner, Service, WeeklyHours
    from portal.models import Client, Clinic, Role, Site, User
    from records.models import Guardianship, Patient

    clinic = Clinic.current()
    clinic.name, clinic.phone, clinic.time_zone = "Clinique du banc", "+33478000000", "Europe/Paris"
    clinic.save()
    tz = clinic.tz
    rules = BookingRules.current()
    rules.max_upcoming = 32_000  # the clients book thousands, one run after the other
    rules.horizon_days = 400  # room for a free slot per POST, run after run
    rules.save()
    site = Site.objects.create(name="Banc", is_default=True)
    vets = []
    for index in range(VETS):
        vet = Practitioner.objects.create(site=site, name=f"Dr Banc {index}")
        for weekday in range(6):
            WeeklyHours.objects.create(
                practitioner=vet, weekday=weekday, start=wall(8), end=wall(12)
            )
            WeeklyHours.objects.create(
                practitioner=vet, weekday=weekday, start=wall(14), end=wall(20)
            )
        vets.append(vet)
    consultation = Service.objects.create(
        site=site, slug="consultation", name="Consultation", duration_minutes=30
    )
    consultation.practitioners.set(vets)
    quick = Service.objects.create(site=site, slug="quick", name="Rappel", duration_minutes=15)
    quick.practitioners.set(vets)

    def client_with_dog(email: str, name: str) -> tuple[User, Client, Patient]:
        user = User.objects.create_user(email, "x" * 20, role=Role.CLIENT)
        client = Client.objects.create(user=user, first_name=name, last_name="Banc", email=email)
        patient = Patient.objects.create(name=name, species="dog")
        Guardianship.objects.create(client=client, patient=patient)
        return user, client, patient

    # The existing appointments: one owner per vet, so that no animal is in two at once.
    owners = [client_with_dog(f"owner{i}@example.com", f"Rex{i}") for i in range(VETS)]
    today = datetime.now(tz).date()
    measured = today + timedelta(days=7)
    if measured.weekday() == 6:
        measured += timedelta(days=1)
    # Per vet and day: 15-minute visits on 16 of the 40 quarter-hours (8-12, 14-20), leaving
    # 30- and 45-minute gaps: a full-looking day that still has a few consultation slots.
    quarters = [wall(8 + q // 4, (q % 4) * 15) for q in range(16)]
    quarters += [wall(14 + q // 4, (q % 4) * 15) for q in range(24)]
    taken = [q for k, q in enumerate(quarters) if k % 5 in (0, 2)]
    per_day = VETS * len(taken)
    rows = []
    for day in busy_days(measured, -(-APPOINTMENTS // per_day)):
        for vet, (_user, client, patient) in zip(vets, owners, strict=True):
            for quarter in taken:
                start = datetime.combine(day, quarter, tzinfo=tz)
                end = start + timedelta(minutes=15)
                rows.append(
                    Appointment(
                        site=site,
                        practitioner=vet,
                        service=quick,
                        patient=patient,
                        client=client,
                        starts_at=start,
                        ends_at=end,
                        blocks_until=end,
                    )
                )
    Appointment.objects.bulk_create(rows[:APPOINTMENTS], batch_size=1000)

    # The measured clients: client i books with vet i, so that their bookings never overlap.
    store = import_module(settings.SESSION_ENGINE).SessionStore
    clients = []
    for index in range(VETS):
        user, _client, patient = client_with_dog(f"bench{index}@example.com", f"Filou{index}")
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        clients.append({"session": session.session_key, "patient": patient.pk})
    return {
        "measured": measured,
        "today": today,
        "clients": clients,
        "vets": [vet.pk for vet in vets],
        "slots": slots_to_book(vets, consultation, measured, today, rules, tz),
    }


def slots_to_book(vets, service, measured, today, rules, tz) -> list[tuple[int, int, int]]:
    """(vet index, vet pk, start) for every free consultation slot after the measured day,
    without two of one vet overlapping: each can be booked once, in any order."""
    from django.utils import timezone

    from booking import slots

    found = []
    for index, vet in enumerate(vets):
        free = slots.free_slots(
            slots.Scope(service, frozenset({vet.pk})),
            start_day=measured + timedelta(days=1),
            end_day=today + timedelta(days=rules.horizon_days - 2),
            tz=tz,
            now=timezone.now(),
            online=True,
            rules=rules,
        )
        free_from = None
        for slot in free:
            if free_from is None or slot.start >= free_from:
                found.append((index, vet.pk, int(slot.start.timestamp())))
                free_from = slot.start + service.duration + service.buffer
    found.sort(key=lambda item: (item[2], item[0]))
    return found


def count_appointments(database: dict) -> int:
    query = "SELECT count(*) FROM booking_appointment"
    if "url" in database:
        import psycopg

        with psycopg.connect(database["url"]) as conn:
            return conn.execute(query).fetchone()[0]
    with sqlite3.connect(database["path"]) as conn:
        return conn.execute(query).fetchone()[0]


# --- wrk ----------------------------------------------------------------------------------------

LUA = r"""
-- Generated by bench/http.py: one endpoint, the requests rotating over the clients.
local mode = "%(mode)s"
local csrf = "%(csrf)s"
local clients = { %(clients)s }
local slots = { %(slots)s }
local get_path = "%(path)s"
local prepared = {}
sent = 0
local offset = 0
statuses = {}

function init(args)
  offset = tonumber(args[1] or "0")
  if mode ~= "book" then
    for i, c in ipairs(clients) do
      local headers = { ["Accept-Language"] = "fr" }
      if mode ~= "floor" then
        headers["Cookie"] = "sessionid=" .. c[1] .. "; csrftoken=" .. csrf
      end
      if mode == "slots" then
        headers["HX-Request"] = "true"
      end
      prepared[i] = wrk.format("GET", string.gsub(get_path, "{patient}", c[2]), headers)
    end
  end
end

function request()
  sent = sent + 1
  if mode ~= "book" then
    return prepared[(sent - 1) %% #prepared + 1]
  end
  local s = slots[offset + sent]
  if s == nil then
    s = slots[#slots]  -- out of free slots: a refused booking (counted apart)
  end
  local c = clients[s[1]]
  local body = "patient=" .. c[2] .. "&service=consultation&practitioner=" .. s[2]
    .. "&start=" .. s[3] .. "&request_key=wrk" .. (offset + sent)
  return wrk.format("POST", "/booking/new/confirm/", {
    ["Cookie"] = "sessionid=" .. c[1] .. "; csrftoken=" .. csrf,
    ["X-CSRFToken"] = csrf,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept-Language"] = "fr",
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      io.write(string.format("STATUS %%d %%d\n", status, count))
    end
    io.write(string.format("SENT %%d\n", thread:get("sent")))
  end
end
"""


def write_scripts(directory: Path, data: dict) -> dict[str, Path]:
    clients = ", ".join(f'{{"{c["session"]}", "{c["patient"]}"}}' for c in data["clients"])
    slots = ", ".join(f"{{{index + 1}, {pk}, {start}}}" for index, pk, start in data["slots"])
    day = data["measured"].isoformat()
    paths = {
        "floor": PUBLIC_PATH,
        "page": PAGE_PATH,
        "slots": f"/booking/new/?patient={{patient}}&service=consultation&day={day}",
        "book": "",
    }
    scripts = {}
    for mode, path in paths.items():
        script = directory / f"{mode}.lua"
        script.write_text(
            LUA
            % {
                "mode": mode,
                "csrf": CSRF,
                "clients": clients,
                "slots": slots if mode == "book" else "",
                "path": path,
            }
        )
        scripts[mode] = script
    return scripts


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def run_wrk(
    port: int, script: Path, *, seconds: float, connections: int, offset: int = 0
) -> Result:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
        "--",
        str(offset),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    out = done.stdout
    result = Result()
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result.rps = float(found.group(1)) if found else 0.0
    for percent, attribute in (("50", "p50_ms"), ("99", "p99_ms")):
        found = re.search(rf"^\s+{percent}%\s+([\d.]+\w+)", out, re.MULTILINE)
        if found:
            setattr(result, attribute, _ms(found.group(1)))
    for status, count in re.findall(r"^STATUS (\d+) (\d+)", out, re.MULTILINE):
        result.statuses[int(status)] = result.statuses.get(int(status), 0) + int(count)
    result.sent = sum(int(n) for n in re.findall(r"^SENT (\d+)", out, re.MULTILINE))
    found = re.search(r"Socket errors:.*", out)
    result.errors = found.group(0) if found else ""
    return result


# --- servers ------------------------------------------------------------------------------------


def wait_until_up(process: subprocess.Popen, port: int, log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped (code {process.returncode}):\n{tail(log)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", PUBLIC_PATH, headers={"Host": "127.0.0.1"})
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer on port {port} in time:\n{tail(log)}")


def tail(log: Path, lines: int = 8) -> str:
    try:
        return "\n".join(log.read_text().splitlines()[-lines:])
    except OSError:
        return ""


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.runs = 0
        self.running: subprocess.Popen | None = None
        self.databases: list[str] = []
        self.postgres = os.environ.get("DATABASE_URL", "")
        self.redis = os.environ.get("REDIS_URL", "")
        self.template_db = f"accueil_http_bench_{os.getpid()}"

    # -- databases --

    def prepare(self) -> dict:
        template = self.work / "template"
        template.mkdir()
        env = base_environment(template)
        if self.postgres:
            postgres_admin(self.postgres, f'CREATE DATABASE "{self.template_db}"')
            self.databases.append(self.template_db)
            env["DATABASE_URL"] = with_database(self.postgres, self.template_db)
        setup_django(env)
        data = seed()
        from django.db import connection, connections

        if connection.vendor == "sqlite":
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connections.close_all()
        return data

    def fresh_copy(self) -> tuple[dict[str, str], dict]:
        """A run directory (its own database, the template's static files) and its settings."""
        self.runs += 1
        run_dir = self.work / f"run-{self.runs}"
        run_dir.mkdir()
        (run_dir / "static").symlink_to(self.work / "template" / "static")
        env = base_environment(run_dir)
        env["DJANGO_SETTINGS_MODULE"] = SETTINGS
        if self.args.sessions:
            env["ACCUEIL_BENCH_SESSION_ENGINE"] = self.args.sessions
        if self.redis:
            # The scaled profile's cache, under a prefix of this run's own (removed afterwards).
            env["REDIS_URL"] = self.redis
            env["ACCUEIL_CACHE_PREFIX"] = f"{self.template_db}-run{self.runs}"
            env["ACCUEIL_CHANNELS_PREFIX"] = f"{self.template_db}-run{self.runs}"
        if self.postgres:
            name = f"{self.template_db}_run{self.runs}"
            postgres_admin(self.postgres, f'CREATE DATABASE "{name}" TEMPLATE "{self.template_db}"')
            self.databases.append(name)
            env["DATABASE_URL"] = with_database(self.postgres, name)
            return env, {"url": env["DATABASE_URL"]}
        shutil.copyfile(self.work / "template" / "accueil.sqlite3", run_dir / "accueil.sqlite3")
        return env, {"path": str(run_dir / "accueil.sqlite3")}

    def drop_databases(self) -> None:
        for name in reversed(self.databases):
            try:
                postgres_admin(self.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as error:
                print(f"could not drop database {name}: {error}", file=sys.stderr)
        self.databases.clear()

    # -- one server, four endpoints --

    def measure(self, server: Server, scripts: dict[str, Path]) -> dict[str, Result]:
        env, database = self.fresh_copy()
        port = PORTS[self.runs % len(PORTS)]
        log = self.work / f"run-{self.runs}" / "server.log"
        with log.open("w") as stream:
            self.running = subprocess.Popen(
                server.command(port, self.args.threads, shlex.split(self.args.gunicorn_args)),
                cwd=ROOT,
                env=env,
                stdout=stream,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # stopped as a group: gunicorn's or granian's workers too
            )
        try:
            wait_until_up(self.running, port, log, time.monotonic() + 60)
            before = count_appointments(database)
            results, offset = {}, 0
            for endpoint in ENDPOINTS:
                options = {"connections": self.args.connections}
                warm = run_wrk(
                    port, scripts[endpoint], seconds=self.args.warmup, offset=offset, **options
                )
                offset += warm.sent if endpoint == "book" else 0
                if endpoint == "book":
                    before += warm.statuses.get(302, 0)
                result = run_wrk(
                    port, scripts[endpoint], seconds=self.args.seconds, offset=offset, **options
                )
                offset += result.sent if endpoint == "book" else 0
                results[endpoint] = result
                print(
                    f"  {server.name:<22} {endpoint:<6} {result.rps:8.1f} req/s  "
                    f"p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  "
                    f"{format_statuses(result.statuses)}",
                    file=sys.stderr,
                    flush=True,
                )
            booked = count_appointments(database) - before
            results["book"].booked = booked
        finally:
            stop(self.running)
            self.running = None
            if self.postgres:
                self.drop_databases_but_template()
            if self.redis:
                self.forget_cache(env["ACCUEIL_CACHE_PREFIX"])
        lines = log.read_text(errors="replace").splitlines()
        errors = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
        if errors:
            first = "\n".join(lines[errors[0] : errors[0] + 40])
            print(
                f"  {server.name}: the server logged {len(errors)} error(s); the first:\n{first}",
                file=sys.stderr,
            )
        return results

    def forget_cache(self, prefix: str) -> None:
        import redis

        client = redis.Redis.from_url(self.redis)
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
        client.close()

    def drop_databases_but_template(self) -> None:
        runs = [name for name in self.databases if name != self.template_db]
        for name in runs:
            postgres_admin(self.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.databases.remove(name)

    def close(self) -> None:
        if self.running is not None:
            stop(self.running)
        if self.postgres:
            from django.db import connections

            connections.close_all()
            self.drop_databases()


def format_statuses(statuses: dict[int, int]) -> str:
    return ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items()))


def servers_to_run(args: argparse.Namespace) -> list[Server]:
    names = [name.strip() for name in args.servers.split(",") if name.strip()]
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        sys.exit(f"unknown server(s) {', '.join(unknown)}; choose among {', '.join(KINDS)}")
    if args.production not in KINDS[:3]:
        sys.exit(f"--production must be one of {', '.join(KINDS[:3])}")
    servers = []
    for kind in names:
        if kind in ("granian", "uvicorn") and not (VENV_BIN / kind).exists():
            print(
                f"{kind} is not installed (.venv/bin/pip install {kind} to compare it): skipped",
                file=sys.stderr,
            )
            continue
        servers.append(Server(f"{kind} x1", kind))
    if args.production_workers > 1:
        servers.append(
            Server(
                f"{args.production} x{args.production_workers}",
                args.production,
                args.production_workers,
            )
        )
    return servers


def report(
    results: dict[str, dict[str, Result]], args: argparse.Namespace, *, postgres: bool, redis: bool
) -> None:
    database = "PostgreSQL" if postgres else "SQLite (WAL)"
    database += ", Redis cache" if redis else ", local-memory cache"
    print(
        f"\nwrk -t1 -c{args.connections}, {args.seconds:g} s per endpoint after a "
        f"{args.warmup:g} s warm-up; {database}; sessions: {args.sessions or 'the portal setting'}"
        f"; gthread/granian threads: {args.threads}"
    )
    print("\n| server | endpoint | req/s | p50 ms | p99 ms | ratio to floor | answers |")
    print("|---|---|---|---|---|---|---|")
    for name, by_endpoint in results.items():
        floor = by_endpoint["floor"].rps or 1.0
        for endpoint in ENDPOINTS:
            result = by_endpoint[endpoint]
            answers = format_statuses(result.statuses)
            if endpoint == "book":
                answers += f"; {result.booked} appointments made (302 = booked)"
            print(
                f"| {name} | {LABELS[endpoint]} | {result.rps:.1f} | {result.p50_ms:.1f} | "
                f"{result.p99_ms:.1f} | {result.rps / floor:.2f} | {answers} |"
            )
    production = f"{args.production} x1"
    scaled = f"{args.production} x{args.production_workers}"
    print()
    if production in results and "daphne x1" in results:
        page = results[production]["page"].rps / (results["daphne x1"]["page"].rps or 1.0)
        print(f"signed-in page, {production} / daphne: {page:.2f}x (goal >= 3)")
        for endpoint in ("floor", "slots", "book"):
            ratio = results[production][endpoint].rps / (results["daphne x1"][endpoint].rps or 1)
            print(f"  {endpoint}, {production} / daphne: {ratio:.2f}x")
    if production in results:
        by_endpoint = results[production]
        ratio = by_endpoint["slots"].rps / (by_endpoint["page"].rps or 1.0)
        print(f"day-slots partial / signed-in page on {production}: {ratio:.2f} (goal >= 0.6)")
    if production in results and scaled in results and scaled != production:
        for endpoint in ENDPOINTS:
            ratio = results[scaled][endpoint].rps / (results[production][endpoint].rps or 1.0)
            print(f"{endpoint}, {scaled} / {production}: {ratio:.2f}x (goal >= 1.6)")
    wsgi = [name for name in results if name.endswith("x1") and name != "daphne x1"]
    if len(wsgi) > 1:
        best = max(wsgi, key=lambda name: results[name]["page"].rps)
        print(f"fastest one-worker server on the signed-in page: {best}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--servers", default=",".join(KINDS))
    parser.add_argument("--production", default="gunicorn-sync")
    parser.add_argument("--production-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--gunicorn-args",
        default="",
        help="more gunicorn options, after deploy/gunicorn.conf.py's (e.g. '--max-requests 0')",
    )
    parser.add_argument(
        "--sessions",
        default="",
        help="a SESSION_ENGINE to measure instead of the portal's (e.g. "
        "django.contrib.sessions.backends.cached_db)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: install Debian's package with `sudo apt-get install wrk`.")
    servers = servers_to_run(args)
    # Ctrl-C or a TERM: stop the server, drop the databases, remove the temporary files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="accueil-bench-http-") as tmp:
        work = Path(tmp)
        bench = Bench(args, work)
        try:
            print(f"Seeding {VETS} vets and {APPOINTMENTS} appointments...", file=sys.stderr)
            data = bench.prepare()
            print(
                f"  busy day {data['measured']}, {len(data['slots'])} free slots to book",
                file=sys.stderr,
            )
            scripts = write_scripts(work, data)
            results = {server.name: bench.measure(server, scripts) for server in servers}
        except KeyboardInterrupt:
            print("\ninterrupted: servers stopped, temporary data removed", file=sys.stderr)
            raise SystemExit(130) from None
        finally:
            bench.close()
    report(results, args, postgres=bool(bench.postgres), redis=bool(bench.redis))


if __name__ == "__main__":
    main()
