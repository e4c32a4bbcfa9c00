"""The outbox through faults: only a provider's answer decides *sent* or *failed*.

A cache or database fault before the hand-over puts the row back for later (no attempt, never
*failed*); any exception from a provider counts against the attempt cap; one provider call has
one total deadline however slowly the provider trickles; a worker whose claim recovery took
over writes nothing and sends nothing; e-mail and text messages have queues of their own.
Providers are played by local servers on 127.0.0.1 (HTTP for texts, SMTP for e-mail).
"""

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from django.core.cache import cache
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from notifications import backends, services
from notifications.contracts import register_subject_checker
from notifications.models import Channel, Kind, Notification, Status
from tests.notifications.factories import with_phone

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 Paris: no quiet hours
LEASE = timedelta(seconds=300)


@pytest.fixture(autouse=True)
def _tuesday_morning():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def camille(client_user):
    return with_phone(client_user.client, sms_for=("documents",))


def a_row(client, channel: str = Channel.SMS, key: str = "faults:1", **fields) -> Notification:
    defaults = {
        "recipient": "+33612345678" if channel == Channel.SMS else "camille@example.com",
        "channel": channel,
        "kind": Kind.DOCUMENT_AVAILABLE,
        "subject": "A document",
        "body": "Tests: a document is waiting in your space.",
        "scheduled_at": timezone.now(),
        "idempotency_key": key,
    }
    defaults.update(fields)
    return Notification.objects.create(client=client, **defaults)


def statuses(row: Notification) -> list[str]:
    return list(row.events.values_list("status", flat=True))


# --- 1. A fault before the hand-over: back to later, never failed -------------------------------


def test_it_sends_while_the_cache_is_down(camille, monkeypatch, mail_outbox):
    """The clinic is read through the cache after the claim: a dead Redis must not stop it."""

    def down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    row = a_row(camille, Channel.EMAIL)
    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "add", down)
    assert services.dispatch(row.pk) == "sent"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert len(mail_outbox) == 1


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.SMS])
def test_a_fault_before_the_provider_puts_the_row_back_without_an_attempt(
    camille, channel, run_tasks, sms_outbox, mail_outbox, django_capture_on_commit_callbacks
):
    outage = {"on": True}

    def checker(subject_id: int, version: int) -> bool:
        if outage["on"]:
            raise redis.exceptions.ConnectionError("Connection refused")
        return True

    register_subject_checker("faulty", checker)
    row = a_row(camille, channel, subject_type="faulty", subject_id=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.dispatch(row.pk) == "released"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.claim_token) == (Status.SCHEDULED, 0, "")
    assert row.reason == "Not sent yet (ConnectionError): it will be tried again."
    assert row.scheduled_at == NOW + timedelta(seconds=60)
    assert sms_outbox == mail_outbox == []

    outage["on"] = False
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        run_tasks()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert len(sms_outbox) + len(mail_outbox) == 1
    assert Status.FAILED not in statuses(row)


def test_an_email_whose_worker_died_before_the_provider_is_sent_not_failed(
    camille, run_tasks, mail_outbox, django_capture_on_commit_callbacks
):
    """The observed fault: claimed, then the worker stopped before calling the provider (the
    cache raised); after the lease recovery marked it "failed: Interrupted while sending"."""
    row = a_row(camille, Channel.EMAIL)
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENDING, claimed_at=NOW - LEASE - timedelta(seconds=1), claim_token="dead"
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = services.recover()
    assert result == {"retried": 1, "resent": 0, "failed": 0, "requeued": 0}
    run_tasks()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert len(mail_outbox) == 1
    assert statuses(row) == ["scheduled", "sent"]


def test_it_plans_recovery_from_the_task_table_when_the_cache_is_down(
    camille, monkeypatch, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(cache, "add", down)
    with django_capture_on_commit_callbacks(execute=True):
        services.enqueue_dispatch(1, NOW, now=NOW, channel=Channel.SMS)
        services.enqueue_dispatch(2, NOW, now=NOW, channel=Channel.SMS)
    paths = sorted(DBTaskResult.objects.values_list("task_path", flat=True))
    assert paths == [
        "notifications.tasks.dispatch_notification",
        "notifications.tasks.dispatch_notification",
        "notifications.tasks.recover_outbox",  # one pass, not one per message
    ]


# --- 2. Any exception from a provider counts against the attempt cap ----------------------------


class Raising:
    error: Exception = ValueError("boom")

    def send(self, sms: backends.Sms) -> str:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [KeyError("id"), ValueError("Expecting value: line 1 column 1"), AttributeError("x")],
    ids=["KeyError", "ValueError", "AttributeError"],
)
def test_an_unexpected_exception_from_the_adapter_is_retried_then_fails_at_the_cap(
    camille, settings, monkeypatch, error
):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    settings.NOTIFICATIONS_RETRY_SECONDS = 0
    monkeypatch.setitem(backends.BACKENDS, "raising", type("R", (Raising,), {"error": error}))
    settings.NOTIFICATIONS_SMS_BACKEND = "raising"
    row = a_row(camille)
    assert services.dispatch(row.pk) == "rescheduled"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SCHEDULED, 1)
    assert row.reason.startswith(f"unexpected answer from the provider: {type(error).__name__}")
    assert services.dispatch(row.pk) == Status.FAILED
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert row.reason.startswith("Gave up after 2 attempts: unexpected answer from the provider")


# --- Providers on 127.0.0.1 ---------------------------------------------------------------------


class StubServer:
    """A TCP server whose every connection is handled by `behaviour(conn)` in a thread."""

    def __init__(self) -> None:
        self.behaviour: Callable[[socket.socket], None] = lambda conn: None
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _address = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self.behaviour(conn)

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += conn.recv(4096)
    return head


def trickle(conn: socket.socket, data: bytes, every: float, stop: threading.Event) -> None:
    for byte in data:
        if stop.wait(every):
            return
        conn.sendall(bytes([byte]))


@pytest.fixture
def stub(settings) -> Iterator[StubServer]:
    server = StubServer()
    settings.NOTIFICATIONS_SMS_BACKEND = "http"
    settings.NOTIFICATIONS_SMS_HTTP_URL = f"http://127.0.0.1:{server.port}/sms"
    settings.NOTIFICATIONS_SMS_HTTP_TIMEOUT = 1
    yield server
    server.close()


OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"id": "p-1"}'


def answer(raw: bytes) -> Callable[[socket.socket], None]:
    def behave(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(raw)

    return behave


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"garbage\r\n\r\n", "provider answered something that is not HTTP (BadStatusLine)"),
        (b"", "provider unreachable: Remote end closed connection without response"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n<html",
            "provider answered something that is not JSON",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{",
            "provider answered something that is not HTTP (IncompleteRead)",
        ),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", "provider answered HTTP 500"),
    ],
    ids=["garbage", "hang-up", "not-json", "cut-short", "500"],
)
def test_a_provider_answering_garbage_is_retried_within_the_attempt_cap(
    camille, stub, settings, raw, reason
):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_RETRY_SECONDS = 0
    stub.behaviour = answer(raw)
    row = a_row(camille)
    for attempt in (1, 2):
        assert services.dispatch(row.pk) == "rescheduled"
        row.refresh_from_db()
        assert (row.status, row.attempts, row.reason) == (Status.SCHEDULED, attempt, reason)
    assert services.dispatch(row.pk) == Status.FAILED
    row.refresh_from_db()
    assert (row.status, row.reason) == (Status.FAILED, f"Gave up after 3 attempts: {reason}")
    assert stub.connections == 3


# --- 3. One total deadline per provider call ----------------------------------------------------


@pytest.mark.parametrize("how", ["trickles", "hangs"])
def test_a_slow_text_provider_holds_the_worker_no_longer_than_the_deadline(camille, stub, how):
    stop = threading.Event()

    def behave(conn: socket.socket) -> None:
        read_request(conn)
        if how == "trickles":  # a byte every 0.2 s: each read is quick, the answer never ends
            trickle(conn, OK * 10, 0.2, stop)
        else:
            stop.wait(10)

    stub.behaviour = behave
    row = a_row(camille)
    started = time.monotonic()
    assert services.dispatch(row.pk) == "rescheduled"
    elapsed = time.monotonic() - started
    stop.set()
    assert 0.9 < elapsed < 2.5
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SCHEDULED, 1)
    assert row.reason == "provider unreachable: timed out (no complete answer within 1 s)"


def test_the_deadline_is_never_longer_than_half_the_lease(settings):
    settings.NOTIFICATIONS_SENDING_LEASE_SECONDS = 8
    assert backends.call_seconds(30) == 4
    assert backends.call_seconds(3) == 3


@pytest.fixture
def smtp_server(settings) -> Iterator[StubServer]:
    server = StubServer()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 20},
        }
    }
    settings.NOTIFICATIONS_EMAIL_TIMEOUT = 1
    yield server
    server.close()


def smtp_session(conn: socket.socket, greeting_every: float, stop: threading.Event) -> None:
    """A mail server that accepts everything, its greeting sent a byte every `greeting_every`."""
    trickle(conn, b"220 stub ESMTP\r\n", greeting_every, stop)
    reader = conn.makefile("rb")
    in_data = False
    for line in reader:
        if in_data:
            if line == b".\r\n":
                in_data = False
                conn.sendall(b"250 queued\r\n")
            continue
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250 stub\r\n")
        elif verb == b"DATA":
            in_data = True
            conn.sendall(b"354 go on\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"250 ok\r\n")


def test_an_email_goes_through_a_real_smtp_conversation(camille, smtp_server):
    stop = threading.Event()
    smtp_server.behaviour = lambda conn: smtp_session(conn, 0, stop)
    row = a_row(camille, Channel.EMAIL)
    assert services.dispatch(row.pk) == "sent"


def test_a_trickling_mail_server_holds_the_worker_no_longer_than_the_deadline(camille, smtp_server):
    stop = threading.Event()
    smtp_server.behaviour = lambda conn: smtp_session(conn, 0.2, stop)
    row = a_row(camille, Channel.EMAIL)
    started = time.monotonic()
    assert services.dispatch(row.pk) == "rescheduled"
    elapsed = time.monotonic() - started
    stop.set()
    assert 0.9 < elapsed < 2.5
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SCHEDULED, 1)
    assert row.reason == "mail server: no complete answer within 1 s"


# --- 4. Transitions checked against the claim ---------------------------------------------------


class Hooked:
    """The locmem provider, calling `during` (once) while it holds the message."""

    during: Callable[[], None] | None = None
    calls: list[str] = []

    def send(self, sms: backends.Sms) -> str:
        Hooked.calls.append(sms.key)
        hook, Hooked.during = Hooked.during, None
        if hook is not None:
            hook()
        return f"prov-{len(Hooked.calls)}"


@pytest.fixture
def hooked(settings, monkeypatch) -> type[Hooked]:
    monkeypatch.setitem(backends.BACKENDS, "hooked", Hooked)
    settings.NOTIFICATIONS_SMS_BACKEND = "hooked"
    Hooked.calls, Hooked.during = [], None
    return Hooked


def test_a_late_finisher_whose_claim_was_taken_over_records_nothing(camille, hooked):
    """Worker A is inside the provider call past the lease; recovery takes the row back and
    worker B submits it again (same key, which the provider drops). A then returns: it writes
    nothing, so the row is sent once, with B's answer, and one "sent" line."""
    row = a_row(camille)
    outcomes = {}

    def meanwhile() -> None:
        later = NOW + LEASE + timedelta(seconds=1)
        with time_machine.travel(later, tick=False):
            assert services.recover()["resent"] == 1
            outcomes["B"] = services.dispatch(row.pk)

    hooked.during = meanwhile
    outcomes["A"] = services.dispatch(row.pk)
    assert outcomes == {"A": "taken over", "B": "sent"}
    row.refresh_from_db()
    assert (row.status, row.provider_id, row.attempts) == (Status.SENT, "prov-2", 2)
    assert statuses(row).count(Status.SENT) == 1
    assert hooked.calls == [row.idempotency_key, row.idempotency_key]


def test_a_worker_taken_over_before_the_provider_never_sends(camille, hooked):
    """Worker A stalls between its claim and the hand-over past the lease; recovery gives the
    row to worker B, which sends it. A wakes up: its hand-over fails, it sends nothing."""
    outcomes = {}
    row_pk = []

    def checker(subject_id: int, version: int) -> bool:
        if "B" not in outcomes and "recovered" not in outcomes:
            later = NOW + LEASE + timedelta(seconds=1)
            with time_machine.travel(later, tick=False):
                outcomes["recovered"] = services.recover()["retried"]
                outcomes["B"] = services.dispatch(row_pk[0])
        return True

    register_subject_checker("stall", checker)
    row = a_row(camille, subject_type="stall", subject_id=1)
    row_pk.append(row.pk)
    outcomes["A"] = services.dispatch(row.pk)
    assert outcomes == {"recovered": 1, "B": "sent", "A": "taken over"}
    assert hooked.calls == [row.idempotency_key]  # one submission in all
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)


def test_recovery_counts_the_lease_from_the_hand_over(camille, hooked):
    """A row claimed long ago but handed over just now is in flight: recovery leaves it."""
    row = a_row(camille)
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENDING,
        claim_token="mine",
        claimed_at=NOW - timedelta(seconds=10),
        handed_over_at=NOW - timedelta(seconds=10),
    )
    with time_machine.travel(NOW + LEASE - timedelta(seconds=11), tick=False):
        assert services.recover()["resent"] == 0
    row.refresh_from_db()
    assert (row.status, row.claim_token) == (Status.SENDING, "mine")


# --- 5. One queue per channel -------------------------------------------------------------------


def test_each_channel_has_its_own_queue(camille, plan):
    plan(services.document_available, client_ids=[camille.pk], document_id=9)
    queues = dict(
        DBTaskResult.objects.filter(
            task_path="notifications.tasks.dispatch_notification"
        ).values_list("args_kwargs__args__0", "queue_name")
    )
    rows = dict(Notification.objects.values_list("pk", "channel"))
    assert queues == rows  # each row's task waits on its channel's queue
    recovery = DBTaskResult.objects.get(task_path="notifications.tasks.recover_outbox")
    assert recovery.queue_name == "default"


def test_emails_flow_while_the_text_provider_hangs(camille, plan, monkeypatch, mail_outbox):
    """The e-mail worker (every queue but "sms") sends e-mails; the text waits for its own."""
    from django_tasks_db.management.commands.db_worker import Worker

    def hung(self, sms):  # would hold the worker: it must not be called here
        raise AssertionError("the e-mail worker took a text message")

    monkeypatch.setattr(backends.LocmemBackend, "send", hung)
    plan(services.document_available, client_ids=[camille.pk], document_id=9)
    worker = Worker(
        queue_names=["*"],
        excluded_queue_names=["sms"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="email-worker",
    )
    # What `db_worker --queue-name '*' --exclude-queues sms` runs (its loop's filter), minus
    # the connection recycling that would end the test's transaction.
    with time_machine.travel(NOW + services.MERGE_WINDOW, tick=False):
        while task := DBTaskResult.objects.ready().exclude(queue_name__in=["sms"]).first():
            task.claim(worker.worker_id)
            worker.run_task(task)
    assert len(mail_outbox) == 1
    sms = Notification.objects.get(channel=Channel.SMS)
    assert sms.status == Status.SCHEDULED
    assert DBTaskResult.objects.get(args_kwargs__args__0=sms.pk).status == "READY"
