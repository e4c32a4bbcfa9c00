"""Every write of outbound webhooks, and the sending.

The outbox pattern (docs/architecture.md, "Cross-app writes"): booking and messaging call the
listeners below INSIDE their transactions (booking.events.on_appointment_event,
messaging.services.on_urgent_message), which write one `Delivery` per active endpoint that
asked for the event. A rolled-back booking leaves no delivery; a committed one cannot lose it:
its task is enqueued on commit, and `recover()` re-queues a delivery whose task was lost (a crash
between commit and enqueue) and takes back one a killed worker left *sending*.

Sending happens in a worker (queue "webhooks", so a hung receiver holds only webhook workers),
never in a web request, with one total deadline per call (notifications.backends.Deadline).
A delivery is claimed with a conditional UPDATE and a fresh token (no lock held while the
receiver is called); any answer but 2xx, a timeout or a refused connection is retried after
RETRY_DELAYS (1 min, 5 min, 30 min, 2 h, 12 h), then the delivery is *failed*.
"""

import http.client
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.events import AppointmentEvent, ReleasedSlot
from messaging.services import UrgentMessage
from notifications.backends import Deadline
from portal.lib.crypto import decrypt_bytes, encrypt_bytes, keyring_from_settings
from portal.models import User
from webhooks import signing
from webhooks.models import WAITING, Attempt, Delivery, Endpoint, Event, Status

log = logging.getLogger(__name__)

# After the n-th failed attempt, wait RETRY_DELAYS[n-1]; after the last, the delivery fails.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A delivery still *sending* this long after its claim lost its worker (the call itself ends
# after WEBHOOKS_TIMEOUT_SECONDS).
LEASE = timedelta(minutes=2)
# A waiting delivery this overdue, with no task queued for it, lost its task.
LOST_AFTER = timedelta(minutes=5)
# A receiver's answer is read only this far: its status is what counts.
MAX_ANSWER_BYTES = 4096
QUEUE = "webhooks"

_APPOINTMENT_EVENTS = {
    "booked": Event.APPOINTMENT_BOOKED,
    "moved": Event.APPOINTMENT_MOVED,
    "cancelled": Event.APPOINTMENT_CANCELLED,
    "confirmed": Event.APPOINTMENT_CONFIRMED,
    "no_show": Event.APPOINTMENT_NO_SHOW,
}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- endpoints -----------------------------------------------------------------------------------


def _aad(endpoint_created: datetime, url: str) -> bytes:
    return f"webhook-secret:{endpoint_created.isoformat()}:{url}".encode()


def endpoint_secret(endpoint: Endpoint) -> str:
    """The signing secret, decrypted (for signing; the pages never show it again)."""
    return decrypt_bytes(
        keyring_from_settings(),
        endpoint.secret_key,
        bytes(endpoint.secret_blob),
        aad=_aad(endpoint.created_at, endpoint.url),
    ).decode()


def create_endpoint(
    *, name: str, url: str, events: list[str], by: User | None
) -> tuple[Endpoint, str]:
    """A new active endpoint and its secret, which the caller shows once. No lock: a new row."""
    now = timezone.now()
    secret = signing.new_secret()
    wrapped, blob = encrypt_bytes(keyring_from_settings(), secret.encode(), aad=_aad(now, url))
    endpoint = Endpoint.objects.create(
        name=name,
        url=url,
        events=sorted(set(events) & set(Event.values)),
        secret_key=wrapped,
        secret_blob=blob,
        created_at=now,
        created_by=by,
    )
    return endpoint, secret


def set_active(*, endpoint: Endpoint, active: bool) -> None:
    """Disable (or enable again). A disabled endpoint gets no new deliveries; those waiting fail
    when their turn comes (see `deliver`)."""
    endpoint.is_active = active
    endpoint.disabled_at = None if active else timezone.now()
    endpoint.save(update_fields=["is_active", "disabled_at"])


# --- events, written in the caller's transaction -------------------------------------------------


def _record(event_type: str, data: dict, occurred_at: datetime) -> list[Delivery]:
    """One delivery per active endpoint that asked for `event_type`, in the current transaction,
    each queued on commit. One query to find the endpoints, one insert."""
    endpoints = [
        endpoint
        for endpoint in Endpoint.objects.filter(is_active=True).only("pk", "events")
        if event_type in endpoint.events
    ]
    if not endpoints:
        return []
    event_id = "evt_" + secrets.token_hex(12)
    body = json.dumps(
        {"type": event_type, "id": event_id, "occurred_at": _iso(occurred_at), "data": data},
        separators=(",", ":"),
    )
    now = timezone.now()
    rows = Delivery.objects.bulk_create(
        Delivery(
            endpoint_id=endpoint.pk,
            event_id=event_id,
            event_type=event_type,
            body=body,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in endpoints
    )
    for row in rows:
        enqueue(row.pk, now)
    return rows


def appointment_event(event: AppointmentEvent) -> None:
    """booking.events' listener: an appointment's event and, for a move or a cancellation that
    frees its time, "slot.released" too. Ids and times only."""
    _record(
        _APPOINTMENT_EVENTS[event.kind],
        {
            "appointment_id": event.appointment_id,
            "starts_at": _iso(event.starts_at),
            "ends_at": _iso(event.ends_at),
            "practitioner_id": event.practitioner_id,
            "site_id": event.site_id,
            "service_id": event.service_id,
            "version": event.version,
        },
        event.occurred_at,
    )
    if event.released is not None:
        slot_released(event.released, occurred_at=event.occurred_at)


def slot_released(slot: ReleasedSlot, *, occurred_at: datetime) -> None:
    _record(
        Event.SLOT_RELEASED,
        {
            "starts_at": _iso(slot.starts_at),
            "ends_at": _iso(slot.ends_at),
            "practitioner_id": slot.practitioner_id,
            "site_id": slot.site_id,
        },
        occurred_at,
    )


def urgent_message(event: UrgentMessage) -> None:
    """messaging's listener: a client's message with emergency words. No words, no names."""
    _record(
        Event.MESSAGE_URGENT,
        {"conversation_id": event.conversation_id, "at": _iso(event.at)},
        event.at,
    )


# --- queueing ------------------------------------------------------------------------------------


def enqueue(pk: int, at: datetime) -> None:
    """Ask a worker to send delivery `pk` at `at`, once the current transaction commits."""

    def go() -> None:
        from webhooks.tasks import deliver_webhook

        now = timezone.now()
        deliver_webhook.using(queue_name=QUEUE, run_after=at if at > now else None).enqueue(pk)
        _plan_recovery()

    transaction.on_commit(go, robust=True)


def _plan_recovery() -> None:
    """A recovery pass planned at most once per lease (the cache spares the queue a row; when
    Redis is down a second pass is planned, which is harmless)."""
    from webhooks.tasks import recover_webhooks

    try:
        if not cache.add("webhooks:recovery-planned", True, timeout=int(LEASE.total_seconds())):
            return
    except Exception as error:
        log.warning("cache unavailable (%s): planning a recovery pass", type(error).__name__)
    recover_webhooks.using(queue_name=QUEUE, run_after=timezone.now() + LEASE).enqueue()


# --- sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST within one total deadline; never raises."""
    seconds = float(settings.WEBHOOKS_TIMEOUT_SECONDS)
    started = time.monotonic()
    status, error = None, ""
    with Deadline(seconds) as deadline:
        try:
            parts = urlsplit(url)
            kind = (
                http.client.HTTPSConnection
                if parts.scheme == "https"
                else http.client.HTTPConnection
            )
            connection = kind(parts.hostname or "", parts.port, timeout=deadline.timeout(None))
            deadline.watch(lambda: connection.sock)
            try:
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read(MAX_ANSWER_BYTES)
                status = response.status
            finally:
                connection.close()
        except (OSError, http.client.HTTPException) as exc:
            if deadline.expired:
                error = _("no answer within %(seconds)s s") % {"seconds": f"{seconds:g}"}
            elif isinstance(exc, OSError):
                error = _("unreachable: %(reason)s") % {"reason": str(exc) or type(exc).__name__}
            else:
                error = _("answered something that is not HTTP (%(error)s)") % {
                    "error": type(exc).__name__
                }
    if status is not None and not 200 <= status < 300:
        error = _("answered HTTP %(code)d") % {"code": status}
    return Answer(status, error[:300], int((time.monotonic() - started) * 1000))


def deliver(pk: int) -> str:
    """Send delivery `pk` if it is waiting and due; return what happened (for the task log).

    Claimed by a conditional UPDATE with a fresh token; the outcome is written only if the row
    is still *sending* under that token, so a slow worker cannot overwrite what recovery
    decided meanwhile. No lock is held while the receiver is called."""
    now = timezone.now()
    token = secrets.token_hex(16)
    claimed = Delivery.objects.filter(pk=pk, status__in=WAITING, next_attempt_at__lte=now).update(
        status=Status.SENDING, claimed_at=now, claim_token=token
    )
    if not claimed:
        return "not mine"
    row = Delivery.objects.select_related("endpoint").get(pk=pk)
    endpoint = row.endpoint
    if not endpoint.is_active:
        Delivery.objects.filter(pk=pk, claim_token=token).update(
            status=Status.FAILED, last_error=_("The endpoint is disabled."), claim_token=""
        )
        return "endpoint disabled"
    body = row.body.encode()
    try:
        secret = endpoint_secret(endpoint)
    except Exception as error:  # a master key retired too early: say so, retry, then fail
        log.error("webhook %s: the endpoint's secret does not decrypt (%s)", pk, error)
        answer = Answer(None, str(_("the signing secret could not be read")), 0)
        return _settle(row, token, now, answer)
    headers = signing.headers(secret, row.event_id, int(time.time()), body)
    answer = _post(endpoint.url, body, headers)
    return _settle(row, token, now, answer)


def _settle(row: Delivery, token: str, started: datetime, answer: Answer) -> str:
    attempts = row.attempts + 1
    now = timezone.now()
    if answer.ok:
        fields = {"status": Status.DELIVERED, "delivered_at": now, "last_error": ""}
        outcome = "delivered"
    elif attempts >= MAX_ATTEMPTS:
        error = _("Gave up after %(n)d attempts: %(error)s") % {
            "n": attempts,
            "error": answer.error,
        }
        fields = {"status": Status.FAILED, "last_error": error[:300]}
        outcome = "failed"
    else:
        fields = {
            "status": Status.RETRYING,
            "next_attempt_at": now + RETRY_DELAYS[attempts - 1],
            "last_error": answer.error,
        }
        outcome = "retrying"
    with transaction.atomic():
        changed = Delivery.objects.filter(
            pk=row.pk, status=Status.SENDING, claim_token=token
        ).update(attempts=attempts, claim_token="", **fields)
        Attempt.objects.create(
            delivery=row,
            at=started,
            status_code=answer.status_code,
            error=answer.error,
            duration_ms=answer.duration_ms,
        )
        if changed and outcome == "retrying":
            enqueue(row.pk, fields["next_attempt_at"])
    return outcome if changed else "taken over"


def recover(*, now: datetime | None = None) -> dict[str, int]:
    """Take back what a crash left: deliveries *sending* past the lease (counted as an attempt,
    so a delivery that kills its worker still ends), and waiting ones overdue with no task."""
    now = now or timezone.now()
    counts = {"interrupted": 0, "requeued": 0}
    stale = Delivery.objects.filter(status=Status.SENDING, claimed_at__lt=now - LEASE)
    for row in stale.only("pk", "attempts", "claim_token", "claimed_at"):
        answer = Answer(None, str(_("interrupted: the worker stopped while sending")), 0)
        if _settle(row, row.claim_token, row.claimed_at or now, answer) != "taken over":
            counts["interrupted"] += 1
    queued = _queued_deliveries()
    overdue = Delivery.objects.filter(
        status__in=WAITING, next_attempt_at__lt=now - LOST_AFTER
    ).values_list("pk", flat=True)[:5000]
    for pk in overdue:
        if queued is None or pk not in queued:
            enqueue(pk, now)
            counts["requeued"] += 1
    return counts


def purge(*, now: datetime | None = None) -> int:
    """Forget finished deliveries (and their attempts) older than WEBHOOKS_KEEP_DAYS: what
    was delivered or given up on long ago answers no one's question. In batches, never a
    delivery still waiting."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WEBHOOKS_KEEP_DAYS)
    old = Delivery.objects.filter(
        status__in=[Status.DELIVERED, Status.FAILED], created_at__lt=cutoff
    ).values_list("pk", flat=True)[:5000]
    deleted, _by_model = Delivery.objects.filter(pk__in=list(old)).delete()
    return deleted


def _queued_deliveries() -> set[int] | None:
    """Deliveries a task still waits to send (django-tasks-db only; None otherwise)."""
    from django.tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from webhooks.tasks import deliver_webhook

    if not isinstance(task_backends["default"], DatabaseBackend):
        return None
    waiting = DBTaskResult.objects.filter(
        status="READY", task_path=deliver_webhook.module_path
    ).values_list("args_kwargs", flat=True)
    return {entry["args"][0] for entry in waiting if entry.get("args")}


def replay(*, delivery: Delivery) -> Delivery:
    """A new delivery of the same bytes under the same webhook-id (receivers that already hold
    it drop it as a duplicate; one that lost or refused it takes it now), sent at once."""
    now = timezone.now()
    with transaction.atomic():
        copy = Delivery.objects.create(
            endpoint_id=delivery.endpoint_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            body=delivery.body,
            next_attempt_at=now,
            created_at=now,
            replay_of=delivery,
        )
        enqueue(copy.pk, now)
    return copy
