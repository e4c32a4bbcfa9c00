"""Drill: PostgreSQL restarts during a burst of bookings (issue 10, "Faults").

A PostgreSQL cluster of its own (initdb in a temporary directory, port 5452: the machine's
server is never touched), gunicorn with 2 workers on it, and 8 clients booking distinct slots
as fast as they can for ~12 s while the cluster is restarted (``pg_ctl restart -m fast``) after
3 s. Each booking carries its own request key, as the form does.

What a client sees: 302 → booked; 503 → "briefly unavailable: recorded in full or not at all,
look at your appointments". A client who saw a 503 (or lost the connection) retries the same
form (same request key) once the portal answers again, as the page tells them to.

Checked afterwards in the database: every 302 has its appointment; no request key has two
appointments; no slot is booked twice; every appointment is whole (client, patient, service,
times); and every attempt ends booked exactly once after its retry.

    .venv/bin/python bench/drill_postgres.py
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_PORT = 5452
CLIENTS = 8
SECONDS = 12.0
RESTART_AFTER = 3.0


def pg_bin(name: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not versions:
        sys.exit("PostgreSQL server binaries not found under /usr/lib/postgresql.")
    return str(versions[-1] / name)


def as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + args, check=True, capture_output=True, text=True, **kwargs)


def start_cluster(data_dir: Path) -> None:
    as_postgres([pg_bin("initdb"), "-D", str(data_dir), "-A", "trust", "-U", "postgres"])
    restart_cluster(data_dir, first=True)


def restart_cluster(data_dir: Path, *, first: bool = False) -> float:
    started = time.monotonic()
    action = "start" if first else "restart"
    as_postgres(
        [
            pg_bin("pg_ctl"), "-D", str(data_dir), "-w", "-m", "fast", "-l",
            str(data_dir / "server.log"), "-o",
            f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -k {data_dir}", action,
        ]
    )  # fmt: skip
    return time.monotonic() - started


def stop_cluster(data_dir: Path) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):
        as_postgres([pg_bin("pg_ctl"), "-D", str(data_dir), "-m", "immediate", "stop"])


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="accueil-drill-pg-"))
    os.chmod(base, 0o711)  # noqa: S103 (the postgres user must reach its data directory)
    data_dir = base / "pg"
    data_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    var_dir = base / "var"
    var_dir.mkdir()
    start_cluster(data_dir)
    server = None
    try:
        import bench.booking
        from bench.booking import environment, free_port, seed, session_cookie

        # An empty agenda: the drill is about the outage, not the engine under load (and the
        # benchmark's busy day is made for SQLite, where no exclusion constraint checks it).
        bench.booking.APPOINTMENTS = 0

        env = environment(str(var_dir))
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{PG_PORT}/postgres"
        os.environ.update(env)
        os.environ.pop("REDIS_URL", None)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        data = seed()
        from booking import slots
        from booking.models import Appointment, BookingRules, Service

        service = Service.objects.prefetch_related("practitioners").get(slug="consultation")
        free = slots.free_slots(
            slots.Scope.of(service),
            start_day=data["today"] + timedelta(days=1),
            end_day=data["today"] + timedelta(days=40),
            tz=data["tz"],
            now=datetime.now(UTC),
            online=True,
            rules=BookingRules.current(),
        )
        # Start times 30 minutes apart at least: no two attempts can collide, so every answer
        # other than "booked" is the outage's doing.
        starts: list[int] = []
        for stamp in sorted({int(slot.start.timestamp()) for slot in free}):
            if not starts or stamp - starts[-1] >= 1800:
                starts.append(stamp)
        cookies = [session_cookie(user) for user in data["users"]]
        patients = [patient.pk for _client, patient in data["pairs"]]
        before = Appointment.objects.count()
        from django.db import connection

        connection.close()

        port = free_port()
        log = (var_dir / "gunicorn.log").open("w")
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "portal.wsgi", "--config", "deploy/gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)

        attempts: list[dict] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + SECONDS
        next_start = iter(range(0, len(starts), 1))

        def post(index: int, start: int, key: str) -> int:
            body = f"patient={patients[index]}&service=consultation&start={start}&request_key={key}"
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(
                    "POST", "/booking/new/confirm/", body,
                    {
                        "Cookie": f"sessionid={cookies[index]}; csrftoken={'c' * 32}",
                        "X-CSRFToken": "c" * 32,
                        "Referer": f"http://127.0.0.1:{port}/booking/new/",
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Accept-Language": "fr",
                    },
                )  # fmt: skip
                response = conn.getresponse()
                page = response.read().decode(errors="replace")
                if response.status == 503:
                    assert "enregistré en entier ou pas du tout" in page, page[:500]
                return response.status
            except OSError:
                return 0  # the connection itself failed
            finally:
                conn.close()

        def client(index: int) -> None:
            counter = 0
            while time.monotonic() < stop_at:
                with lock:
                    try:
                        start = starts[next(next_start)]
                    except StopIteration:
                        return
                key = f"drill-{index}-{counter}"
                counter += 1
                sent = time.monotonic()
                status = post(index, start, key)
                with lock:
                    attempts.append(
                        {"index": index, "start": start, "key": key, "status": status, "at": sent}
                    )

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(RESTART_AFTER)
        restart_seconds = restart_cluster(data_dir)
        restarted_at = time.monotonic() - began
        for thread in threads:
            thread.join()

        # Those who were not told "booked" retry the same form, as the 503 page says.
        retried = Counter()
        for attempt in attempts:
            if attempt["status"] != 302:
                attempt["retry"] = post(attempt["index"], attempt["start"], attempt["key"])
                retried[attempt["retry"]] += 1

        django.db.connections.close_all()
        rows = list(
            Appointment.objects.filter(request_key__startswith="drill-").values(
                "request_key", "starts_at", "practitioner_id", "client_id", "patient_id",
                "service_id", "ends_at",
            )
        )  # fmt: skip
        keys = Counter(row["request_key"] for row in rows)
        slots_taken = Counter((row["practitioner_id"], row["starts_at"]) for row in rows)
        statuses = Counter(attempt["status"] for attempt in attempts)
        booked_302 = {a["key"] for a in attempts if a["status"] == 302}
        final = {a["key"] for a in attempts if a["status"] == 302 or a.get("retry") == 302}
        whole = all(
            row["client_id"] and row["patient_id"] and row["service_id"] and row["ends_at"]
            for row in rows
        )
        print(f"PostgreSQL restarted after {RESTART_AFTER:.0f} s (took {restart_seconds:.1f} s, "
              f"done at {restarted_at:.1f} s); {len(attempts)} bookings by {CLIENTS} clients "
              f"in {SECONDS:.0f} s.")  # fmt: skip
        print("first answers:", dict(sorted(statuses.items())), "(0 = connection lost)")
        print("answers to the retries:", dict(sorted(retried.items())))
        checks = {
            "every 302 has its appointment": booked_302 <= set(keys),
            "no request key booked twice": all(count == 1 for count in keys.values()),
            "no slot booked twice": all(count == 1 for count in slots_taken.values()),
            "every appointment whole": whole,
            "every attempt booked exactly once after its retry": final == set(keys)
            and len(final) == len(attempts),
            "only 302 or 503 answered": set(statuses) <= {302, 503},
        }
        for name, ok in checks.items():
            print(f"  {'ok ' if ok else 'FAIL'} {name}")
        print(f"appointments before {before}, after {Appointment.objects.count()}")
        if not all(checks.values()):
            print("gunicorn log tail:\n" + (var_dir / "gunicorn.log").read_text()[-2000:])
            sys.exit(1)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        stop_cluster(data_dir)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
