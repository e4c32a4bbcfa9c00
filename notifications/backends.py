"""Text-message backends, chosen by the ACCUEIL_SMS_BACKEND setting like EMAIL_BACKEND.

console: prints (the `make run` terminal); locmem: keeps them in `outbox` (tests); file: one file
per message under var/sms/; http: a provider's JSON API. Every backend receives the message's
idempotency key: the HTTP adapter passes it as `Idempotency-Key` so a provider that honours it
drops a resubmission after a crash, and the file backend names its files by it for the same
reason (see services.dispatch on the crash between "accepted" and "marked sent").

Errors: `TransientError` (5xx, timeout, connection refused, an answer that is not HTTP or not
JSON) is retried with backoff; `PermanentError` (the provider refuses this number or message)
fails the row at once. Whatever else an adapter raises is counted like a transient error by
dispatch, against the same attempt cap.

Time: one call to a provider (SMS over HTTP, an e-mail over SMTP) has one total `Deadline`,
shorter than the sending lease, however slowly the provider trickles its answer.
"""

import contextlib
import functools
import hashlib
import hmac
import http.client
import json
import os
import smtplib
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

# A provider's answer is a small JSON object; more than this is not an answer worth reading.
MAX_ANSWER_BYTES = 64 * 1024


class SendError(Exception):
    """A message the provider did not take; str() is the reason shown to staff."""


class TransientError(SendError):
    pass


class PermanentError(SendError):
    pass


@dataclass(frozen=True)
class Sms:
    to: str  # E.164
    sender: str
    body: str
    key: str  # idempotency key


# Messages sent through the locmem backend, like django.core.mail.outbox.
outbox: list[Sms] = []


class ConsoleBackend:
    def send(self, sms: Sms) -> str:
        sys.stdout.write(f"SMS from {sms.sender} to {sms.to} [{sms.key}]\n{sms.body}\n\n")
        sys.stdout.flush()
        return f"console-{_digest(sms.key)}"


class LocmemBackend:
    def send(self, sms: Sms) -> str:
        outbox.append(sms)
        return f"locmem-{_digest(sms.key)}"


class FileBackend:
    """One JSON file per message, named by its key: a resubmission finds the file and does not
    write a second one (what a provider honouring idempotency keys does)."""

    def send(self, sms: Sms) -> str:
        directory = Path(settings.NOTIFICATIONS_SMS_FILE_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{_digest(sms.key)}.json"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return f"file-{path.stem}"
        with os.fdopen(fd, "w") as handle:
            json.dump({"to": sms.to, "from": sms.sender, "body": sms.body, "key": sms.key}, handle)
        return f"file-{path.stem}"


class HttpBackend:
    """A generic JSON provider: POST {to, from, text, reference} with a bearer API key.

    Expects a 2xx answer with {"id": "..."}; 4xx means the provider refuses this message
    (permanent); 5xx, 429, timeouts, a connection cut, an answer that is not HTTP or not JSON
    are worth retrying. The whole call, connection to last byte, ends within
    NOTIFICATIONS_SMS_HTTP_TIMEOUT seconds (capped by `call_seconds`).
    """

    def send(self, sms: Sms) -> str:
        url = settings.NOTIFICATIONS_SMS_HTTP_URL
        if not url:
            raise PermanentError(
                _("the text-message provider is not configured (ACCUEIL_SMS_HTTP_URL)")
            )
        payload = json.dumps(
            {"to": sms.to, "from": sms.sender, "text": sms.body, "reference": sms.key}
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {settings.NOTIFICATIONS_SMS_HTTP_API_KEY}",
            "Idempotency-Key": sms.key,
        }
        status, raw = provider_call("POST", url, payload, headers)
        if status >= 500 or status == 429:
            raise TransientError(_("provider answered HTTP %(code)d") % {"code": status})
        if not 200 <= status < 300:
            raise PermanentError(_("provider answered HTTP %(code)d") % {"code": status})
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            raise TransientError(_("provider answered something that is not JSON")) from None
        provider_id = str(answer.get("id", "")) if isinstance(answer, dict) else ""
        if not provider_id:
            raise TransientError(_("provider answered without a message id"))
        return provider_id


def provider_call(
    method: str, url: str, payload: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    """One HTTP call to a provider within one `Deadline`: (status, body). Whatever goes wrong
    on the way (refused, reset, timed out, not HTTP) is a `TransientError` saying so; reading
    the status is the caller's (each provider has its own way of saying no)."""
    seconds = call_seconds(settings.NOTIFICATIONS_SMS_HTTP_TIMEOUT)
    with Deadline(seconds) as deadline:
        try:
            return _request(method, url, payload, headers, deadline)
        except (OSError, http.client.HTTPException) as error:
            if deadline.expired:
                raise TransientError(deadline.reason()) from None
            if isinstance(error, OSError):  # refused, reset, timed out, cut mid-answer
                reason = str(error) or error.__class__.__name__
                raise TransientError(
                    _("provider unreachable: %(reason)s") % {"reason": reason}
                ) from None
            # BadStatusLine, IncompleteRead, LineTooLong...: garbage where HTTP was due.
            raise TransientError(
                _("provider answered something that is not HTTP (%(error)s)")
                % {"error": error.__class__.__name__}
            ) from None


def _request(
    method: str, url: str, payload: bytes, headers: dict, deadline: "Deadline"
) -> tuple[int, bytes]:
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "", parts.port, timeout=deadline.timeout(None))
    deadline.watch(lambda: connection.sock)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        if response.length is not None and response.length <= MAX_ANSWER_BYTES:
            return response.status, response.read()  # IncompleteRead if cut short
        raw = response.read(MAX_ANSWER_BYTES + 1)
        if len(raw) > MAX_ANSWER_BYTES:
            raise http.client.LineTooLong("answer")  # no provider answers that much
        return response.status, raw
    finally:
        connection.close()


BACKENDS = {
    "console": ConsoleBackend,
    "locmem": LocmemBackend,
    "file": FileBackend,
    "http": HttpBackend,
}


def get_sms_backend():
    name = settings.NOTIFICATIONS_SMS_BACKEND
    if name not in BACKENDS:  # the real providers, one module each (notifications/providers/)
        from notifications.providers import PROVIDERS

        return PROVIDERS[name]()
    return BACKENDS[name]()


def replies_possible(sender: str) -> bool:
    """Whether clients can answer the text messages we send from `sender` with the configured
    backend: a two-way provider, and a sender that is a number (an alphanumeric sender such as
    "CLINIQUE" cannot receive anything)."""
    return bool(getattr(get_sms_backend(), "replies_possible", lambda sender: False)(sender))


# ------------------------------------------------------------------------------------------------
# One deadline per provider call
# ------------------------------------------------------------------------------------------------


def call_seconds(configured: float) -> float:
    """The total time one provider call may take: the configured limit, never more than half
    the sending lease. A call still running when the lease ends would see recovery take its
    row back and submit it again while the first is in flight (settings refuse such values;
    this holds for values set at run time too)."""
    return min(float(configured), settings.NOTIFICATIONS_SENDING_LEASE_SECONDS / 2)


class Deadline:
    """One total time limit for a provider call, however the provider trickles.

    A socket timeout bounds each read, not the call: a provider sending a byte a second never
    trips a 3 s timeout and held a worker 40 s. The sockets a call opens are registered with
    `watch`; when the time is up a timer shuts them down, which ends any read or write blocked
    on them at once, and `expired` tells the caller why the call failed.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self._fired = False
        self._sockets: list[Callable[[], socket.socket | None]] = []
        self._lock = threading.Lock()
        self._over = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._over = True

    def timeout(self, per_operation: object) -> float:
        """A socket timeout for what comes next: the per-operation one, never past the end."""
        left = self.ends - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        if isinstance(per_operation, int | float) and per_operation > 0:
            return min(float(per_operation), left)
        return left

    def watch(self, get_socket: Callable[[], socket.socket | None]) -> None:
        """Shut down the socket `get_socket()` returns if the deadline passes (it is asked
        then, so a socket replaced meanwhile, as STARTTLS does, is the one shut)."""
        with self._lock:
            self._sockets.append(get_socket)

    @property
    def expired(self) -> bool:
        """Whether the call ran out of time (a socket timeout set to what was left may fire a
        hair before the timer does: it is the same deadline)."""
        return self._fired or time.monotonic() >= self.ends - 0.05

    def reason(self) -> str:
        return _("provider unreachable: timed out (no complete answer within %(seconds)s s)") % {
            "seconds": f"{self.seconds:g}"
        }

    def _expire(self) -> None:
        with self._lock:
            if self._over:
                return
            self._fired = True
            for get_socket in self._sockets:
                sock = get_socket()
                if sock is None:
                    continue
                # The plain socket's shutdown, also for TLS: it wakes the blocked reader
                # without touching the TLS object that thread is using.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


def mailer_within(deadline: Deadline):
    """The default mailer; an SMTP one has its sockets bound by `deadline` (the greeting,
    STARTTLS, login, the message and QUIT all end by then), and so has an ESP's API through
    anymail (connection, request and answer). Other mailers as they are."""
    from anymail.backends.base_requests import AnymailRequestsBackend
    from django.core.mail import mailers
    from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

    connection = mailers.default
    if isinstance(connection, SmtpBackend):
        connection.__class__ = _smtp_backend_within(type(connection))
        connection.deadline = deadline
    elif isinstance(connection, AnymailRequestsBackend):
        # requests' timeout bounds each read, not the call: the session's sockets are shut
        # when the deadline passes, as for SMTP (anymail keeps a session it finds open).
        connection.timeout = deadline.seconds
        connection.session = _session_within(connection.create_session(), deadline)
    return connection


def _session_within(session, deadline: Deadline):
    """`session` whose HTTP(S) connections register their sockets with `deadline`."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def watched(base: type) -> type:
        class Watched(base):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                deadline.watch(lambda: getattr(self, "sock", None))
                super().connect()

        return Watched

    pools = {
        "http": type("Pool", (HTTPConnectionPool,), {"ConnectionCls": watched(HTTPConnection)}),
        "https": type("PoolS", (HTTPSConnectionPool,), {"ConnectionCls": watched(HTTPSConnection)}),
    }

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

    for prefix in ("http://", "https://"):
        session.mount(prefix, Adapter())
    return session


class _SmtpDeadlineMixin:
    deadline: Deadline

    @property
    def connection_class(self):
        base = super().connection_class
        deadline = self.deadline

        def connect(*args, **kwargs) -> smtplib.SMTP:
            smtp = _smtp_within(base).__new__(_smtp_within(base))
            smtp.deadline = deadline
            smtp.__init__(*args, **kwargs)
            return smtp

        return connect


@functools.cache
def _smtp_backend_within(backend: type) -> type:
    return type(f"{backend.__name__}WithDeadline", (_SmtpDeadlineMixin, backend), {})


@functools.cache
def _smtp_within(base: type[smtplib.SMTP]) -> type[smtplib.SMTP]:
    class SMTPWithDeadline(base):  # type: ignore[misc, valid-type]
        deadline: Deadline

        def _get_socket(self, host, port, timeout):
            sock = super()._get_socket(host, port, self.deadline.timeout(timeout))
            self.deadline.watch(lambda: self.sock or sock)
            return sock

    return SMTPWithDeadline


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def sign_receipt(body: bytes, secret: str) -> str:
    """The signature a provider puts in X-Signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def receipt_signature_ok(body: bytes, signature: str, secret: str) -> bool:
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign_receipt(body, secret), signature.strip().lower())
