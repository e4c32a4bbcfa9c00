"""Benchmark: schedule and dispatch reminders through the real task queue, on SQLite and PostgreSQL.

    .venv/bin/python bench/notifications.py [--count 10000] [--workers 2] [--kill-count 3000]

For each database (a temporary SQLite file in WAL mode; a temporary PostgreSQL database when
PostgreSQL answers on 127.0.0.1:5432, else skipped with the reason):

1. floor: `count` no-op tasks through the same django-tasks-db queue, drained by `workers`
   `db_worker` processes;
2. schedule `count` text-message reminders (outbox rows + one task each, enqueued on commit);
3. dispatch them with `workers` worker processes and the locmem SMS backend, wrapped to append
   every provider call to a shared log, so duplicates are counted where the provider sees them;
4. crash: `kill-count` more reminders, SIGKILL one worker a third of the way, restart it, and
   check that every row ends sent, none twice (a row caught mid-send is resubmitted with the
   same idempotency key after the lease; the log shows it, a real provider drops it).

Also `--race --rows N --threads T`: T threads in one process dispatch the same N rows (used by
tests/notifications/test_concurrency.py); prints one JSON line.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not bench/ itself: bench/http.py would shadow the standard library's http package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import migrated  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
LEASE_SECONDS = 5


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def install_counting_backend(log_path: str) -> None:
    """The locmem SMS backend, plus one line per provider call in a log shared by processes."""
    from django.conf import settings

    from notifications import backends
    from notifications.contracts import register_subject_checker

    class CountingBackend(backends.LocmemBackend):
        def send(self, sms: backends.Sms) -> str:
            fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (sms.key + "\n").encode())  # one write < PIPE_BUF: atomic append
            finally:
                os.close(fd)
            backends.outbox.clear()  # keep memory flat over 10,000 messages
            return super().send(sms)

    backends.BACKENDS["bench"] = CountingBackend
    settings.NOTIFICATIONS_SMS_BACKEND = "bench"
    register_subject_checker("bench", lambda subject_id, version: True)


# --- Child processes -----------------------------------------------------------------------------


def worker_main(log_path: str, worker_id: str) -> None:
    setup_django()
    install_counting_backend(log_path)
    from django.core.management import call_command

    call_command(
        "db_worker",
        "--interval",
        "0.02",
        "--no-startup-delay",
        "--worker-id",
        worker_id,
        verbosity=0,
    )


def start_workers(env: dict, log_path: str, count: int, tag: str) -> list[subprocess.Popen]:
    return [start_worker(env, log_path, f"{tag}{index}") for index in range(count)]


def start_worker(env: dict, log_path: str, worker_id: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", log_path, "--worker-id", worker_id],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(workers: list[subprocess.Popen]) -> None:
    for process in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in workers:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def seed(clients: int):
    from notifications.models import Preference
    from portal.models import Client, Clinic

    clinic = Clinic.current()
    clinic.sms_sender = "Bench"
    clinic.phone = "+33478000000"
    clinic.save()
    made = Client.objects.bulk_create(
        Client(
            first_name=f"C{index}",
            last_name="Bench",
            email=f"c{index}@example.com",
            phone=f"+336{index:08d}",
            preferred_language="fr",
        )
        for index in range(clients)
    )
    # Texts go only to checked numbers (issue 12): the bench's clients checked theirs.
    Preference.objects.bulk_create(
        Preference(
            client=client,
            channels={"appointments": ["sms"]},
            phone_verified=True,
            verified_phone=client.phone,
        )
        for client in made
    )
    return list(Client.objects.select_related("notification_preference").order_by("pk"))


def plan_reminders(clients, count: int, tag: str) -> float:
    """Plan `count` reminders due now, in transactions of 500; seconds taken."""
    from django.db import transaction
    from django.utils import timezone

    from notifications import services
    from notifications.models import Channel, Kind

    started = time.perf_counter()
    for start in range(0, count, 500):
        now = timezone.now()
        plans = [
            services.Plan(
                client=clients[index % len(clients)],
                channel=Channel.SMS,
                kind=Kind.APPOINTMENT_REMINDER,
                key=f"reminder-24h:appointment:{tag}{index}:v1:sms",
                at=now,
                context={"appointment_starts_at": now, "confirm_url": "https://x.example/c/"},
                subject_type="bench",  # a checker that says yes: its cost is measured too
                subject_id=index,
                version=1,
            )
            for index in range(start, min(start + 500, count))
        ]
        with transaction.atomic():
            services._plan(plans, now=now)
    return time.perf_counter() - started


def wait_until(predicate, timeout: float, poll: float = 0.1) -> float:
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the workers did not finish in time")
        time.sleep(poll)
    return time.perf_counter() - started


def phase_main(args) -> None:
    """One database: floor, schedule, dispatch, crash. Prints one JSON line."""
    setup_django()
    from django.db import connection, transaction
    from django_tasks_db.models import DBTaskResult

    from notifications.models import Notification, NotificationEvent, Status
    from notifications.tasks import noop

    env = dict(os.environ)
    migrated.migrate()
    clients = seed(500)
    log_path = os.path.join(os.environ["ACCUEIL_VAR_DIR"], "provider-calls.log")
    result: dict[str, object] = {"vendor": connection.vendor, "count": args.count}

    # 1. Floor: bare no-op tasks through the same queue and workers.
    for start in range(0, args.count, 500):
        with transaction.atomic():
            for index in range(start, min(start + 500, args.count)):
                transaction.on_commit(lambda index=index: noop.enqueue(index))
    workers = start_workers(env, log_path, args.workers, "floor")
    pending = DBTaskResult.objects.exclude(status="SUCCESSFUL")
    floor_seconds = wait_until(lambda: not pending.exists(), timeout=600)
    stop(workers)
    result["floor_tasks_per_s"] = round(args.count / floor_seconds, 1)

    # 2. Schedule.
    plan_seconds = plan_reminders(clients, args.count, "t")
    result["scheduled_per_s"] = round(args.count / plan_seconds, 1)

    # 3. Dispatch.
    workers = start_workers(env, log_path, args.workers, "send")
    done = Notification.objects.filter(status=Status.SENT)
    dispatch_seconds = wait_until(lambda: done.count() >= args.count, timeout=900, poll=0.2)
    stop(workers)
    result["dispatched_per_s"] = round(args.count / dispatch_seconds, 1)
    result["ratio_to_floor"] = round(result["dispatched_per_s"] / result["floor_tasks_per_s"], 2)
    calls = Path(log_path).read_text().split()
    result["provider_calls"] = len(calls)
    result["duplicates"] = len(calls) - len(set(calls))
    result["not_sent"] = Notification.objects.exclude(status=Status.SENT).count()

    # 4. Crash: SIGKILL a worker a third of the way, restart it.
    if args.kill_count:
        Path(log_path).unlink()
        plan_reminders(clients, args.kill_count, "k")
        crash = Notification.objects.filter(idempotency_key__contains=":k")
        workers = start_workers(env, log_path, args.workers, "crash")
        started = time.perf_counter()
        wait_until(
            lambda: crash.filter(status=Status.SENT).count() >= args.kill_count // 3, timeout=600
        )
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        killed_at = crash.filter(status=Status.SENT).count()
        workers[0] = start_worker(env, log_path, "crash-restarted")
        wait_until(
            lambda: crash.filter(status=Status.SENT).count() >= args.kill_count,
            timeout=600,
            poll=0.2,
        )
        stop(workers)
        calls = Path(log_path).read_text().split()
        result["crash"] = {
            "count": args.kill_count,
            "sent_when_killed": killed_at,
            "seconds": round(time.perf_counter() - started, 1),
            "lost": crash.exclude(status=Status.SENT).count(),
            "provider_calls": len(calls),
            "distinct_messages": len(set(calls)),
            "resubmitted_same_key": len(calls) - len(set(calls)),
            "recovered_mid_send": NotificationEvent.objects.filter(
                detail__startswith="interrupted"
            ).count(),
        }
    print(json.dumps(result))


def race_main(args) -> None:
    """Threads of one process dispatch the same rows at once: how many sends per row?"""
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from notifications import backends, services
    from notifications.models import Channel, Kind, Notification, Status

    migrated.migrate()
    clients = seed(5)
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(
            client=clients[index % 5],
            recipient=clients[index % 5].phone,  # the client's checked number (issue 12)
            channel=Channel.SMS,
            kind=Kind.APPOINTMENT_REMINDER,  # not capped: every row must go
            body="Bench: reminder, your appointment tomorrow at 10:00.",
            scheduled_at=now,
            idempotency_key=f"race:{index}",
        )
        for index in range(args.rows)
    )
    pks = list(Notification.objects.values_list("pk", flat=True))
    backends.outbox.clear()
    barrier = threading.Barrier(args.threads)
    errors: list[str] = []

    def work() -> None:
        from django.db import connection as own

        try:
            barrier.wait()
            for pk in pks:
                services.dispatch(pk)
        except Exception as error:  # reported, not hidden
            errors.append(repr(error))
        finally:
            own.close()

    threads = [threading.Thread(target=work) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [sms.key for sms in backends.outbox]
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "rows": args.rows,
                "sends": len(keys),
                "distinct": len(set(keys)),
                "sent_rows": Notification.objects.filter(status=Status.SENT).count(),
                "errors": errors[:5],
            }
        )
    )


# --- Orchestration -------------------------------------------------------------------------------


def base_env(var_dir: str, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        ACCUEIL_VAR_DIR=var_dir,
        ACCUEIL_SMS_BACKEND="locmem",
        EMAIL_BACKEND="locmem",
        ACCUEIL_LOG_LEVEL="WARNING",
        # Never quiet: the benchmark must not depend on the hour it runs at.
        ACCUEIL_QUIET_START="00:00",
        ACCUEIL_QUIET_END="00:00",
        ACCUEIL_QUIET_SUNDAY="0",
        ACCUEIL_NOTIFICATIONS_LEASE_SECONDS=str(LEASE_SECONDS),
        PYTHONPATH=str(ROOT),
    )
    return env


def postgres_database(name: str) -> tuple[str, str]:
    """(url, "") for a fresh database, or ("", why PostgreSQL is skipped)."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(migrated.create_database_sql(name))
    except Exception as error:
        return "", f"PostgreSQL does not answer at {PG_ADMIN} ({error.__class__.__name__})"
    return PG_ADMIN.replace("postgresql://", "postgres://").rsplit("/", 1)[0] + f"/{name}", ""


def drop_postgres_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_child(env: dict, *arguments: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *arguments],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_database(kind: str, args, child_args: list[str]) -> dict | str:
    with tempfile.TemporaryDirectory(prefix=f"bench-notifications-{kind}-") as var_dir:
        if kind == "sqlite":
            # No DATABASE_URL: the settings' own SQLite file (WAL, IMMEDIATE, busy timeout) in
            # the temporary var dir, exactly as `make run` deploys it.
            return run_child(base_env(var_dir, ""), *child_args)
        name = f"accueil_notifications_bench_{os.getpid()}"
        url, skipped = postgres_database(name)
        if skipped:
            return skipped
        try:
            return run_child(base_env(var_dir, url), *child_args)
        finally:
            drop_postgres_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-count", type=int, default=3000)
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--worker", metavar="LOG")
    parser.add_argument("--worker-id", default="w")
    parser.add_argument("--phase", action="store_true")
    parser.add_argument("--race", action="store_true")
    parser.add_argument("--race-here", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    if args.worker:
        return worker_main(args.worker, args.worker_id)
    if args.phase:
        return phase_main(args)
    if args.race_here:
        return race_main(args)
    if args.race:  # from the tests: a database of our own
        kinds = [args.only or "sqlite"]
        for kind in kinds:
            outcome = run_database(kind, args, ["--race-here", "--rows", str(args.rows),
                                                "--threads", str(args.threads)])  # fmt: skip
            print(json.dumps(outcome if isinstance(outcome, dict) else {"skipped": outcome}))
        return None

    child = ["--phase", "--count", str(args.count), "--workers", str(args.workers),
             "--kill-count", str(args.kill_count)]  # fmt: skip
    print(
        f"notifications benchmark: {args.count} reminders, {args.workers} worker processes, "
        f"locmem backends, {os.cpu_count()} cores"
    )
    for kind in [args.only] if args.only else ["sqlite", "postgres"]:
        outcome = run_database(kind, args, child)
        if isinstance(outcome, str):
            print(f"\n[{kind}] skipped: {outcome}")
            continue
        print(f"\n[{kind}]")
        print(f"  floor (no-op tasks, same queue):  {outcome['floor_tasks_per_s']:>8} tasks/s")
        print(f"  scheduled:                        {outcome['scheduled_per_s']:>8} reminders/s")
        print(f"  dispatched:                       {outcome['dispatched_per_s']:>8} messages/s")
        print(f"  ratio to floor:                   {outcome['ratio_to_floor']:>8}")
        print(
            f"  provider calls {outcome['provider_calls']}, duplicates {outcome['duplicates']}, "
            f"not sent {outcome['not_sent']}"
        )
        crash = outcome.get("crash")
        if crash:
            print(
                f"  crash: {crash['count']} reminders, SIGKILL after {crash['sent_when_killed']} "
                f"sent, restarted; lost {crash['lost']}, distinct messages "
                f"{crash['distinct_messages']}, resubmitted with the same key "
                f"{crash['resubmitted_same_key']} (recovered mid-send: "
                f"{crash['recovered_mid_send']}), {crash['seconds']} s"
            )
    return None


if __name__ == "__main__":
    main()
