"""What the health-data guarantees of issue 11 cost (`make bench-security`).

    python bench/security.py                       # SQLite, and PostgreSQL if it answers
    python bench/security.py --lines 2000 --threads 8 --requests 300

Three figures, each against a floor measured in the same run:

1. **Access-log appends.** Every read of health data writes one line, chained to the one before
   (portal.models.AccessLog.save: the chain's lock, the last line's hash, sha256, INSERT).
   Floor: a raw INSERT of the same row into the same table, without lock, read or hash. Single
   writer, then `--threads` writers at once (the chain serialises them by design; the floor
   does not).
2. **verify_access_log** over every line written: lines per second, against the floor of merely
   reading those lines' fields in the same order.
3. **A signed-in page** (a client's animal page, which logs a read) through the whole middleware
   stack, against the same stack without the deny-by-default and session-limit middlewares and
   with Django's own session engine: what #11 adds to every request.

Each database runs in its own process on a fresh database (a temporary SQLite file; a
PostgreSQL database created and dropped here), migrated first. Prints a table and one JSON line
per database; docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "accueil_bench_security"


def _setup(var_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["ACCUEIL_VAR_DIR"] = var_dir
    os.environ.setdefault("ACCUEIL_MASTER_KEYS", "bench:" + "A" * 43 + "=")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _line(i: int) -> dict:
    return {
        "action": "view",
        "object_type": "patient",
        "object_id": str(i),
        "detail": "bench",
        "ip": "192.0.2.1",
        "user_agent": "bench/1.0",
    }


def _chained(n: int, start: int) -> None:
    from portal.models import AccessLog

    for i in range(start, start + n):
        AccessLog.objects.create(**_line(i))


def _raw(n: int, start: int) -> None:
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        for i in range(start, start + n):
            row = _line(i)
            cursor.execute(
                "INSERT INTO portal_accesslog (at, action, object_type, object_id, detail, ip,"
                " user_agent, prev_hash, row_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, '', '')",
                [timezone.now(), *row.values()],
            )


def _timed(function, n: int, threads: int, start: int) -> float:
    """Seconds for `threads` threads to append `n` lines each."""
    from django.db import connection

    if threads == 1:
        began = time.perf_counter()
        function(n, start)
        return time.perf_counter() - began
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            barrier.wait()
            function(n, start + k * n)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - began


def _appends(lines: int, threads: int) -> dict:
    """Chained lines first (so that verify_access_log then walks an unbroken chain), then the
    floor's raw lines, which carry no hash."""
    figures = {}
    _chained(20, 0)  # warm up: connections, statement caches
    figures["chain_1"] = _timed(_chained, lines, 1, 1_000_000) / lines
    per = max(lines // threads, 1)
    figures[f"chain_{threads}"] = _timed(_chained, per, threads, 2_000_000) / (per * threads)
    figures["verify"] = _verify()
    _raw(20, 0)
    figures["floor_1"] = _timed(_raw, lines, 1, 3_000_000) / lines
    figures[f"floor_{threads}"] = _timed(_raw, per, threads, 4_000_000) / (per * threads)
    return figures


def _verify() -> dict:
    from django.db import connection

    from portal.lib import access_log

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, at, user_id, action, object_type, object_id, detail, ip, user_agent,"
            " prev_hash, row_hash FROM portal_accesslog ORDER BY id"
        )
        rows = cursor.fetchall()
    floor = time.perf_counter() - began
    chained = rows
    # Recompute every chained line's hash: the work verify() does per line.
    began = time.perf_counter()
    for row in chained:
        values = dict(zip(access_log.FIELDS, row[1:9], strict=True))
        access_log.row_hash(values, row[9])
    hashing = time.perf_counter() - began
    began = time.perf_counter()
    verdict = access_log.verify()
    whole = time.perf_counter() - began
    return {
        "rows": len(rows),
        "read_floor_per_line": floor / len(rows),
        "hash_per_line": hashing / max(len(chained), 1),
        "verify_per_line": whole / len(rows),
        "checked": verdict.checked,
        "broken": verdict.broken is not None,
    }


def _page(requests: int) -> dict:
    from django.conf import settings
    from django.test import Client as HttpClient
    from django.test.utils import override_settings
    from django.urls import reverse

    from portal.models import Client, Clinic, Role, User
    from records.models import Guardianship, Patient

    Clinic.current()
    user = User.objects.create_user(
        "bench.client@example.com", "x", role=Role.CLIENT, first_name="Bench", last_name="Client"
    )
    client = Client.objects.get(user=user) if hasattr(user, "client") else None
    if client is None:
        client = Client.objects.create(user=user, first_name="Bench", last_name="Client")
    patient = Patient.objects.create(name="Filou", species="cat")
    Guardianship.objects.create(patient=patient, client=client)
    url = reverse("records:animal", args=[patient.pk])

    before_11 = [
        m
        for m in settings.MIDDLEWARE
        if m
        not in ("portal.deny.LoginRequiredMiddleware", "portal.sessions.SessionLimitsMiddleware")
    ]
    stacks = {
        "with_11": {},
        "without_11": {
            "MIDDLEWARE": before_11,
            "SESSION_ENGINE": "django.contrib.sessions.backends.db",
        },
    }
    timings: dict[str, list[float]] = {name: [] for name in stacks}
    sessions = {}
    for name, overrides in stacks.items():
        with override_settings(**overrides):
            http = HttpClient()
            http.force_login(user)
            assert http.get(url).status_code == 200, name
            sessions[name] = http
    # Alternate the two stacks request by request so the machine's drift hits both alike.
    for _ in range(requests):
        for name, overrides in stacks.items():
            with override_settings(**overrides):
                began = time.perf_counter()
                response = sessions[name].get(url)
                timings[name].append(time.perf_counter() - began)
                assert response.status_code == 200
    return {name: statistics.median(values) for name, values in timings.items()}


def child(vendor: str, lines: int, threads: int, requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="accueil-bench-security-") as var_dir:
        if vendor == "postgresql":
            os.environ["DATABASE_URL"] = PG_SERVER.rsplit("/", 1)[0] + "/" + BENCH_DB
        else:
            os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
        _setup(var_dir)
        result = {"vendor": vendor, "threads": threads}
        result["appends"] = _appends(lines, threads)
        result["verify"] = result["appends"].pop("verify")
        from django.conf import settings
        from django.test.utils import override_settings

        # Static files are not collected here: plain storage, as in the test suite.
        storages = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(STORAGES=storages):
            result["page"] = _page(requests)
        print(json.dumps(result))


def _pg(statement: str) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    try:
        with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3) as conn:
            conn.execute(statement)
        return True
    except psycopg.Error:
        return False


def _report(result: dict) -> None:
    a, v, p, t = result["appends"], result["verify"], result["page"], result["threads"]
    us = 1e6
    print(f"\n== {result['vendor']}")
    print(
        f"append, 1 writer:   chain {a['chain_1'] * us:8.1f} µs/line   floor"
        f" {a['floor_1'] * us:8.1f} µs/line   x{a['chain_1'] / a['floor_1']:.2f}"
    )
    print(
        f"append, {t} writers:  chain {a[f'chain_{t}'] * us:8.1f} µs/line   floor"
        f" {a[f'floor_{t}'] * us:8.1f} µs/line   x{a[f'chain_{t}'] / a[f'floor_{t}']:.2f}"
        f"   ({1 / a[f'chain_{t}']:.0f} lines/s chained)"
    )
    print(
        f"verify:             {v['verify_per_line'] * us:8.1f} µs/line   read floor"
        f" {v['read_floor_per_line'] * us:8.1f} µs/line   x"
        f"{v['verify_per_line'] / v['read_floor_per_line']:.1f}   ({v['rows']} lines,"
        f" {1 / v['verify_per_line']:.0f} lines/s)"
    )
    print(
        f"animal page:        with #11 {p['with_11'] * 1e3:6.2f} ms   without"
        f" {p['without_11'] * 1e3:6.2f} ms   x{p['with_11'] / p['without_11']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--child", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.lines, args.threads, args.requests)
        return
    vendors = ["sqlite"]
    if _pg(f"DROP DATABASE IF EXISTS {BENCH_DB}") and _pg(f"CREATE DATABASE {BENCH_DB}"):
        vendors.append("postgresql")
    else:
        print("PostgreSQL does not answer at 127.0.0.1:5432: SQLite only.")
    try:
        for vendor in vendors:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    vendor,
                    "--lines",
                    str(args.lines),
                    "--threads",
                    str(args.threads),
                    "--requests",
                    str(args.requests),
                ],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            _report(result)
            print(json.dumps(result))
    finally:
        if "postgresql" in vendors:
            _pg(f"DROP DATABASE IF EXISTS {BENCH_DB}")


if __name__ == "__main__":
    main()
