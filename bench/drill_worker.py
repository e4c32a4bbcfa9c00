"""Drill: the outbox through a killed worker and through a bad text-message provider.

    .venv/bin/python bench/drill_worker.py [--count 50]

Everything runs in a temporary directory (a SQLite database in WAL mode, the file e-mail and
file SMS backends writing there) with real `manage.py db_worker` processes; nothing of var/ is
touched. Not part of the test suite: it takes about a minute.

1. **kill -9 mid-dispatch**: `count` messages (half e-mail, half text) queued; one worker
   sends; when a fifth are sent it is killed with SIGKILL; `manage.py sweep_tasks` marks its
   task failed; a new worker starts and recovery (lease 6 s) takes back what was left
   *sending*. Checked: every row ends sent (or, for an e-mail caught between hand-over and
   "sent", failed visibly), every text written once, no e-mail written twice.
2. **a bad provider**: texts go to a local HTTP stub that hangs, then answers 500, then garbage,
   then accepts; e-mails are sent meanwhile by the worker of every queue but "sms". Checked:
   e-mails all sent while the texts hang; each text accepted by the provider once; none lost.

Prints a short table; docs/reliability.md ("Outbox") records a run.
"""

import argparse
import email
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not bench/ itself: bench/http.py would shadow the standard library's http package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
LEASE = 6
FAST = ("--no-startup-delay", "--no-reload")


def environment(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        ACCUEIL_VAR_DIR=str(tmp),
        EMAIL_BACKEND="file",
        ACCUEIL_SMS_BACKEND="file",
        ACCUEIL_SMS_FILE_DIR=str(tmp / "sms"),
        ACCUEIL_NOTIFICATIONS_LEASE_SECONDS=str(LEASE),
        ACCUEIL_NOTIFICATIONS_RETRY_SECONDS="1",
        ACCUEIL_NOTIFICATIONS_MAX_ATTEMPTS="12",
        ACCUEIL_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def worker(env: dict, *queues: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", *queues, "--interval", "0.05", *FAST],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(condition, timeout: float, poll: float = 0.1) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not done within {timeout} s")
        time.sleep(poll)
    return time.monotonic() - started


def setup(env: dict) -> None:
    for key, value in env.items():
        os.environ[key] = value
    manage(env, "migrate", "--verbosity", "0")
    import django

    django.setup()


def plan(count: int, tag: str, *, channels=("email", "sms")) -> list[int]:
    """`count` urgent messages due now (urgent: quiet hours do not hold the texts at night)."""
    from django.db import transaction
    from django.utils import timezone

    from notifications import services
    from notifications.models import Kind, Notification
    from portal.models import Client, Clinic

    clinic = Clinic.current()
    clinic.phone, clinic.sms_sender = "+33478000000", "Drill"
    clinic.save()
    now = timezone.now()
    pks = []
    with transaction.atomic():
        for index in range(count):
            channel = channels[index % len(channels)]
            client = Client.objects.create(
                first_name=f"C{index}", last_name=tag, email=f"{tag}{index}@example.com"
            )
            row = Notification.objects.create(
                client=client,
                recipient=f"{tag}{index}@example.com" if channel == "email" else "+33612345678",
                channel=channel,
                kind=Kind.APPOINTMENT_CONFIRMED,
                urgent=True,
                subject=f"Drill {tag} {index}",
                body=f"Drill {tag} message {index}.",
                scheduled_at=now,
                idempotency_key=f"{tag}:{index}:{channel}",
            )
            services.enqueue_dispatch(row.pk, now, now=now, channel=channel)
            pks.append(row.pk)
    return pks


def rows(pks: list[int]) -> Counter:
    from notifications.models import Notification

    return Counter(Notification.objects.filter(pk__in=pks).values_list("status", flat=True))


def emails_written(tmp: Path, tag: str) -> Counter:
    """Message-IDs of the e-mails the file backend wrote (one file may hold several)."""
    ids: Counter = Counter()
    for path in (tmp / "mail").glob("*"):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                message = email.message_from_bytes(chunk.strip())
                if tag in (message["Subject"] or ""):
                    ids[message["Message-ID"]] += 1
    return ids


# --- 1. kill -9 mid-dispatch ---------------------------------------------------------------------


def drill_kill(tmp: Path, env: dict, count: int) -> dict:
    from django_tasks_db.models import DBTaskResult

    from notifications.models import Notification

    pks = plan(count, "kill")
    first = worker(env, "--queue-name", "*")
    wait_until(lambda: rows(pks)["sent"] >= count // 5, timeout=60, poll=0.005)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    at_kill = rows(pks)
    caught = Notification.objects.filter(pk__in=pks, status="sending")
    handed_over = caught.filter(handed_over_at__isnull=False).count()
    running = DBTaskResult.objects.filter(status="RUNNING").count()
    swept = manage(env, "sweep_tasks", "--older-than", "1").split()[0] if running else "0"
    second = worker(env, "--queue-name", "*")
    try:
        seconds = wait_until(
            lambda: rows(pks)["sent"] + rows(pks)["failed"] == count, timeout=120, poll=0.2
        )
    finally:
        stop(second)
    final = rows(pks)
    texts = list((tmp / "sms").glob("*.json"))
    mails = emails_written(tmp, "Drill kill")
    return {
        "messages": count,
        "sent_before_kill": at_kill["sent"],
        "sending_at_kill": at_kill["sending"],
        "of_which_handed_over": handed_over,
        "tasks_running_at_kill": running,
        "tasks_swept": int(swept),
        "sent": final["sent"],
        "failed_visibly": final["failed"],
        "texts_written": len(texts),
        "emails_written": sum(mails.values()),
        "emails_twice": sum(1 for n in mails.values() if n > 1),
        "seconds_to_recover": round(seconds, 1),
    }


# --- 2. a bad text-message provider ---------------------------------------------------------------


class Stub:
    """A text-message provider on 127.0.0.1 whose mood changes: hang, 500, garbage, ok."""

    def __init__(self) -> None:
        self.mood = "hang"
        self.accepted: Counter = Counter()
        self.calls: Counter = Counter()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closing = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096) or b"\r\n\r\n"
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                while len(body) < length:
                    body += conn.recv(4096)
                key = json.loads(body)["reference"]
                mood = self.mood
                self.calls[mood] += 1
                if mood == "hang":
                    self.closing.wait(30)
                elif mood == "500":
                    conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n")
                elif mood == "garbage":
                    conn.sendall(b"\x00\xffnot http at all\r\n\r\n")
                else:
                    self.accepted[key] += 1
                    answer = json.dumps({"id": f"p-{key}"}).encode()
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                        + answer
                    )
            except OSError:
                pass


def drill_provider(tmp: Path, env: dict, count: int) -> dict:
    from django.conf import settings

    stub = Stub()
    url = f"http://127.0.0.1:{stub.port}/sms"
    sms_env = dict(
        env,
        ACCUEIL_SMS_BACKEND="http",
        ACCUEIL_SMS_HTTP_URL=url,
        ACCUEIL_SMS_WEBHOOK_SECRET="drill",  # noqa: S106 - a throwaway stub's, required by http
        ACCUEIL_SMS_HTTP_TIMEOUT="2",
    )
    settings.NOTIFICATIONS_SMS_BACKEND = "http"
    pks = plan(count, "provider")
    emails = pks[0::2]
    texts = pks[1::2]
    workers = [
        worker(sms_env, "--queue-name", "*", "--exclude-queues", "sms"),
        worker(sms_env, "--queue-name", "sms"),
    ]
    try:
        started = time.monotonic()
        emails_seconds = wait_until(lambda: rows(emails)["sent"] == len(emails), timeout=60)
        texts_sent_while_hanging = rows(texts)["sent"]
        wait_until(lambda: time.monotonic() - started > 6, timeout=10)
        stub.mood = "500"
        time.sleep(3)
        stub.mood = "garbage"
        time.sleep(3)
        stub.mood = "ok"
        stub.closing.set()
        texts_seconds = wait_until(
            lambda: rows(texts)["sent"] + rows(texts)["failed"] == len(texts), timeout=120
        )
    finally:
        for process in workers:
            stop(process)
        stub.listener.close()
    from notifications.models import Notification

    attempts = list(Notification.objects.filter(pk__in=texts).values_list("attempts", flat=True))
    return {
        "emails": len(emails),
        "emails_sent_while_sms_hung_s": round(emails_seconds, 1),
        "texts": len(texts),
        "texts_sent_while_hanging": texts_sent_while_hanging,
        "provider_calls": dict(stub.calls),
        "texts_sent": rows(texts)["sent"],
        "texts_failed": rows(texts)["failed"],
        "texts_accepted_by_provider": len(stub.accepted),
        "texts_accepted_twice": sum(1 for n in stub.accepted.values() if n > 1),
        "max_attempts_used": max(attempts),
        "seconds_after_recovery": round(texts_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accueil-drill-") as directory:
        tmp = Path(directory)
        env = environment(tmp)
        setup(env)
        kill = drill_kill(tmp, env, args.count)
        provider = drill_provider(tmp, env, 20)
    print("\nkill -9 a worker mid-dispatch")
    for key, value in kill.items():
        print(f"  {key:<32} {value}")
    print("\nSMS provider hangs 6 s, then 500 3 s, then garbage 3 s, then accepts")
    for key, value in provider.items():
        print(f"  {key:<32} {value}")
    ok = (
        kill["sent"] + kill["failed_visibly"] == kill["messages"]
        and kill["emails_twice"] == 0
        and kill["texts_written"] == kill["messages"] // 2
        and provider["texts_sent"] == provider["texts"]
        and provider["texts_accepted_twice"] == 0
        and provider["texts_sent_while_hanging"] == 0
    )
    print("\n" + ("OK: nothing lost, nothing doubled" if ok else "PROBLEM: see above"))
    print(json.dumps({"kill": kill, "provider": provider}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
