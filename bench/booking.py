"""Booking benchmark (`make bench-booking`): engine, HTTP under load, contention.

Data: 5 practitioners, hours Monday-Saturday for 60 days, 5,000 existing appointments, in a
temporary SQLite database (never var/accueil.sqlite3).

1. Engine: a month of "first available" slots for a 30-minute service, in process: median
   time and the number of queries for 1, 7, 30 and 60 days. Floor: reading the same rows the
   engine needs (the appointments of the window) without computing anything.
2. HTTP: daphne on a free 127.0.0.1 port; 8 keep-alive connections for 20 s each against the
   authenticated "ok" view (the floor, same middleware), the day-slots partial (HTMX) and the
   booking POST. Requests/s, p50, p99 and the ratio to the floor.
3. Contention: 50 concurrent bookings of one slot x 20 rounds on SQLite, and on PostgreSQL
   when one answers (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/...):
   bookings/s and double bookings (must be 0).

    .venv/bin/python bench/booking.py [--seconds 20] [--connections 8] [--rounds 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable

FLOOR_PATH = "/bench/ok/"  # bench/floor_urls.py
PRACTITIONERS = 5
DAYS = 60
APPOINTMENTS = 5000


def environment(var_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        ACCUEIL_VAR_DIR=var_dir,
        SECRET_KEY="bench-" + "x" * 50,
        ACCUEIL_MASTER_KEYS="bench:" + "A" * 43 + "=",
        ALLOWED_HOSTS="127.0.0.1",
        DJANGO_DEBUG="0",
        ACCUEIL_LOG_LEVEL="WARNING",
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    for key in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(key, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    # Full pages (the "slot just taken" page) need the hashed static files, as in production.
    call_command("collectstatic", verbosity=0, interactive=False)


def seed() -> dict:
    from booking.models import (
        Appointment,
        BookingRules,
        Practitioner,
        Service,
        WeeklyHours,
    )
    from portal.models import Client, Clinic, Role, Site, User
    from records.models import Guardianship, Patient

    clinic = Clinic.current()
    clinic.name, clinic.phone, clinic.time_zone = "Bench", "+33478000000", "Europe/Paris"
    clinic.save()
    tz = clinic.tz
    rules = BookingRules.current()
    rules.max_upcoming = 32_000  # a PositiveSmallIntegerField: PostgreSQL refuses more
    rules.min_notice_minutes = 0
    rules.save()
    site = Site.objects.create(name="Bench", is_default=True)
    vets = []
    for index in range(PRACTITIONERS):
        vet = Practitioner.objects.create(site=site, name=f"Dr {index}")
        for day in range(6):
            WeeklyHours.objects.create(practitioner=vet, weekday=day, start=wall(8), end=wall(12))
            WeeklyHours.objects.create(practitioner=vet, weekday=day, start=wall(14), end=wall(20))
        vets.append(vet)
    service = Service.objects.create(
        site=site, slug="consultation", name="Consultation", duration_minutes=30
    )
    service.practitioners.set(vets)
    short = Service.objects.create(site=site, slug="quick", name="Quick", duration_minutes=15)
    short.practitioners.set(vets)
    users = []
    pairs = []
    for index in range(8):
        user = User.objects.create_user(f"bench{index}@example.com", "x" * 20, role=Role.CLIENT)
        client = Client.objects.create(user=user, first_name="B", last_name=str(index))
        patient = Patient.objects.create(name=f"Pet{index}", species="dog")
        Guardianship.objects.create(client=client, patient=patient)
        users.append(user)
        pairs.append((client, patient))
    # 5,000 appointments: per vet and working day, 15-minute visits every 40 minutes (so that
    # a 30-minute service still has gaps), over the next 60 days.
    today = datetime.now(tz).date()
    rows = []
    for offset in range(1, DAYS + 1):
        day = today + timedelta(days=offset)
        if day.weekday() == 6:
            continue
        for vet in vets:
            for k in range(17):
                minutes = 8 * 60 + k * 40
                if 12 * 60 <= minutes < 14 * 60:
                    minutes += 2 * 60
                start = datetime.combine(day, wall(0), tzinfo=tz) + timedelta(minutes=minutes)
                client, patient = pairs[len(rows) % len(pairs)]
                rows.append(
                    Appointment(
                        site=site,
                        practitioner=vet,
                        service=short,
                        patient=patient,
                        client=client,
                        starts_at=start,
                        ends_at=start + timedelta(minutes=15),
                        blocks_until=start + timedelta(minutes=15),
                    )
                )
    Appointment.objects.bulk_create(rows[:APPOINTMENTS], batch_size=1000)
    return {"service": service, "users": users, "pairs": pairs, "today": today, "tz": tz}


# --- 1. engine --------------------------------------------------------------------------------


def bench_engine(data: dict) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from booking import slots
    from booking.models import Appointment, BookingRules, Service

    rules = BookingRules.current()
    tz = data["tz"]
    today = data["today"]
    queries = {}
    for days in (1, 7, 30, 60):
        service = Service.objects.prefetch_related("practitioners").get(slug="consultation")
        with CaptureQueriesContext(connection) as captured:
            scope = slots.Scope.of(service)
            slots.free_slots(
                scope,
                start_day=today,
                end_day=today + timedelta(days=days - 1),
                tz=tz,
                now=datetime.now(UTC),
                online=True,
                rules=rules,
            )
        queries[days] = len(captured)
    service = Service.objects.prefetch_related("practitioners").get(slug="consultation")
    scope = slots.Scope.of(service)
    timings, floor, found = [], [], 0
    for _ in range(30):
        started = time.perf_counter()
        result = slots.free_slots(
            scope,
            start_day=today,
            end_day=today + timedelta(days=29),
            tz=tz,
            now=datetime.now(UTC),
            online=True,
            rules=rules,
        )
        timings.append(time.perf_counter() - started)
        found = len(result)
        started = time.perf_counter()
        list(
            Appointment.objects.active()
            .filter(
                starts_at__gte=datetime.now(UTC),
                starts_at__lt=datetime.now(UTC) + timedelta(days=31),
            )
            .values_list("practitioner_id", "starts_at", "blocks_until")
        )
        floor.append(time.perf_counter() - started)
    median = statistics.median(timings)
    floor_median = statistics.median(floor)
    return {
        "median_ms": round(median * 1000, 2),
        "p90_ms": round(sorted(timings)[int(len(timings) * 0.9)] * 1000, 2),
        "slots": found,
        "queries_by_days": queries,
        "floor_read_rows_ms": round(floor_median * 1000, 2),
        "ratio_to_floor": round(median / floor_median, 2),
    }


# --- 2. HTTP ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_cookie(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def load(port: int, connections: int, seconds: float, make_request) -> dict:
    """`connections` threads, each one keep-alive connection, for `seconds`."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        codes: dict[int, int] = {}
        counter = 0
        while time.perf_counter() < deadline:
            method, path, body, headers = make_request(index, counter)
            counter += 1
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                codes[0] = codes.get(0, 0) + 1
                continue
            mine.append(time.perf_counter() - started)
            codes[response.status] = codes.get(response.status, 0) + 1
            if response.getheader("connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    count = len(latencies)
    return {
        "requests": count,
        "rps": round(count / elapsed, 1),
        "p50_ms": round(latencies[count // 2] * 1000, 1) if count else None,
        "p99_ms": round(latencies[min(count - 1, int(count * 0.99))] * 1000, 1) if count else None,
        "statuses": statuses,
    }


def bench_http(data: dict, env: dict[str, str], *, seconds: float, connections: int) -> dict:
    from booking import slots
    from booking.models import BookingRules, Service

    port = free_port()
    log_path = Path(env["ACCUEIL_VAR_DIR"]) / "daphne.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "portal.asgi:application"],
        cwd=ROOT,
        # The floor view lives in bench/, not in the product's URLs: the server alone gets it.
        env=dict(env, DJANGO_SETTINGS_MODULE="bench.floor_settings"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        cookies = [session_cookie(user) for user in data["users"]]
        csrf = "c" * 32
        patients = [patient.pk for _client, patient in data["pairs"]]
        tz, today = data["tz"], data["today"]
        day = today + timedelta(days=3)
        while day.weekday() == 6:
            day += timedelta(days=1)
        service = Service.objects.prefetch_related("practitioners").get(slug="consultation")
        free = slots.free_slots(
            slots.Scope.of(service),
            start_day=today + timedelta(days=1),
            end_day=today + timedelta(days=DAYS),
            tz=tz,
            now=datetime.now(UTC),
            online=True,
            rules=BookingRules.current(),
        )
        starts = [int(slot.start.timestamp()) for slot in free]
        rng = random.Random(7)

        def headers(index: int, **extra: str) -> dict[str, str]:
            return {
                "Host": "127.0.0.1",
                "Cookie": f"sessionid={cookies[index % len(cookies)]}; csrftoken={csrf}",
                "Accept-Language": "en",
                **extra,
            }

        def floor(index: int, counter: int):
            return "GET", FLOOR_PATH, None, headers(index)

        def slots_partial(index: int, counter: int):
            path = (
                f"/booking/new/?patient={patients[index % len(patients)]}&service=consultation"
                f"&day={(day + timedelta(days=counter % 5)).isoformat()}"
            )
            return "GET", path, None, headers(index, **{"HX-Request": "true"})

        def booking_post(index: int, counter: int):
            body = (
                f"patient={patients[index % len(patients)]}&service=consultation"
                f"&start={rng.choice(starts)}&request_key=b{index}-{counter}-{time.time_ns()}"
            )
            return (
                "POST",
                "/booking/new/confirm/",
                body,
                headers(
                    index,
                    **{
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-CSRFToken": csrf,
                        "Referer": f"http://127.0.0.1:{port}/booking/new/",
                    },
                ),
            )

        # Warm up every path once (imports, template caches) before measuring.
        load(port, 1, 1.0, floor)
        load(port, 1, 1.0, slots_partial)
        results = {
            "floor_ok": load(port, connections, seconds, floor),
            "slots_partial": load(port, connections, seconds, slots_partial),
            "booking_post": load(port, connections, seconds, booking_post),
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    errors = [line for line in log_path.read_text().splitlines() if line.strip()]
    if errors:
        print("  server log (last lines):", *errors[-5:], sep="\n    ")
    floor_rps = results["floor_ok"]["rps"] or 1
    for name in ("slots_partial", "booking_post"):
        results[name]["ratio_to_floor"] = round(results[name]["rps"] / floor_rps, 2)
    return results


# --- 3. contention ---------------------------------------------------------------------------


def postgres_url() -> str | None:
    url = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg

        name = "accueil_booking_bench"
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return url.rsplit("/", 1)[0] + f"/{name}"
    except Exception as error:
        print(f"  PostgreSQL not reachable ({type(error).__name__}): skipped", flush=True)
        return None


def bench_contention(env: dict[str, str], rounds: int) -> dict:
    out = {}
    race = str(ROOT / "bench" / "booking_race.py")
    with tempfile.TemporaryDirectory(prefix="accueil-bench-race-") as var_dir:
        sqlite_env = dict(env, ACCUEIL_VAR_DIR=var_dir)
        done = subprocess.run(
            [PYTHON, race, "--callers", "50", "--rounds", str(rounds)],
            env=sqlite_env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        out["sqlite"] = json.loads(done.stdout.strip().splitlines()[-1])
    url = postgres_url()
    if url:
        with tempfile.TemporaryDirectory(prefix="accueil-bench-race-") as var_dir:
            pg_env = dict(env, ACCUEIL_VAR_DIR=var_dir, DATABASE_URL=url)
            done = subprocess.run(
                [PYTHON, race, "--callers", "50", "--rounds", str(rounds)],
                env=pg_env,
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            out["postgresql"] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accueil-bench-booking-") as var_dir:
        env = environment(var_dir)
        setup_django(env)
        print(
            f"Seeding {PRACTITIONERS} practitioners, {DAYS} days, {APPOINTMENTS} appointments",
            flush=True,
        )
        data = seed()

        print("\n1. Engine: a month of first-available slots, 30-minute service", flush=True)
        engine = bench_engine(data)
        print(
            f"  median {engine['median_ms']} ms (p90 {engine['p90_ms']} ms), "
            f"{engine['slots']} slots; goal <= 30 ms"
        )
        print(f"  queries by range (days: queries): {engine['queries_by_days']}; goal <= 6")
        print(
            f"  floor (reading the window's appointments): {engine['floor_read_rows_ms']} ms,"
            f" ratio {engine['ratio_to_floor']}"
        )

        print(
            f"\n2. HTTP on daphne, {args.connections} connections x {args.seconds:.0f} s",
            flush=True,
        )
        http_results = bench_http(data, env, seconds=args.seconds, connections=args.connections)
        for name, result in http_results.items():
            ratio = (
                f", ratio to floor {result['ratio_to_floor']}" if "ratio_to_floor" in result else ""
            )
            print(
                f"  {name:<14} {result['rps']:>7} req/s  p50 {result['p50_ms']} ms  "
                f"p99 {result['p99_ms']} ms{ratio}  statuses {result['statuses']}"
            )
        print("  goal: slots partial >= 0.5 of the floor")

        print(
            f"\n3. Contention: 50 concurrent bookings of one slot x {args.rounds} rounds",
            flush=True,
        )
        contention = bench_contention(env, args.rounds)
        for vendor, result in contention.items():
            print(
                f"  {vendor:<10} booked {result['booked']}/{result['rounds']} rounds, "
                f"{result['attempts_per_s']} attempts/s, {result['bookings_per_s']} bookings/s, "
                f"double bookings {result['double_bookings']}, errors {result['errors']}"
            )
            for sample in result["error_samples"]:
                print(f"    error: {sample[:200]}")


if __name__ == "__main__":
    main()
