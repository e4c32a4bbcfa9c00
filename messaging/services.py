"""Every write of messaging: one transaction each, the lock named, announcements after commit."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connections, router, transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from messaging import attachments as files
from messaging import contact, live
from messaging.models import (
    CLINIC_KINDS,
    Attachment,
    Conversation,
    Kind,
    Message,
    Presence,
    Status,
)
from messaging.prepared import Prepared, fields_of, instance, paths
from messaging.rules import emergency_words_in
from portal.access import is_staff
from portal.lib import dates
from portal.lib.crypto import encrypt_bytes, keyring_from_settings
from portal.lib.phones import display_phone
from portal.models import Client, Clinic, User
from records.models import Patient

logger = logging.getLogger(__name__)

CLOSED_NOTE_EVERY = timedelta(hours=12)


class RateLimited(Exception):
    """Too many messages from one person in the current minute."""

    def __str__(self) -> str:
        return _("You are sending messages too fast. Please wait a minute, then send again.")


@dataclass(frozen=True)
class Posted:
    conversation: Conversation
    messages: list[Message] = field(default_factory=list)
    duplicate: bool = False


# --- urgent messages, told inside the transaction -----------------------------------------------
#
# Who must hear that a client wrote words of an emergency (outbound webhooks write an outbox row
# per receiver): an explicit registry filled from the higher app's AppConfig.ready(), so that
# messaging imports nothing above it. Listeners run inside post_message's transaction, each in a
# savepoint; a failing one is logged and tried again on commit, never refusing the message.


@dataclass(frozen=True)
class UrgentMessage:
    """Ids and a time: never the words, the client or the animal."""

    conversation_id: int
    message_id: int
    at: datetime


UrgentListener = Callable[[UrgentMessage], None]
_urgent_listeners: list[UrgentListener] = []


def on_urgent_message(listener: UrgentListener) -> None:
    if listener not in _urgent_listeners:
        _urgent_listeners.append(listener)


def _tell_urgent(event: UrgentMessage) -> None:
    for listener in list(_urgent_listeners):
        try:
            with transaction.atomic():
                listener(event)
        except Exception:
            logger.exception("urgent-message listener %r failed; again on commit", listener)
            transaction.on_commit(lambda listener=listener: listener(event), robust=True)


def check_body(body: str, *, has_files: bool = False) -> str:
    body = (body or "").strip()
    if not body and not has_files:
        raise ValidationError(_("Write a message (or attach a photo or a PDF)."))
    if len(body) > settings.ACCUEIL_MESSAGING_MAX_BODY:
        raise ValidationError(
            _("This message is too long: at most %(limit)s characters.")
            % {"limit": settings.ACCUEIL_MESSAGING_MAX_BODY}
        )
    return body


def check_rate(user_id: int, now: datetime) -> None:
    """A fixed one-minute window per person, in the shared cache (one counter per Redis key).

    `incr` first: after the window's first message that is the only call (with Redis, each
    call is a round trip made while the sender waits)."""
    key = f"messaging:rate:{user_id}:{int(now.timestamp() // 60)}"
    try:
        count = cache.incr(key)
    except ValueError:  # the window's first message (or the key just expired)
        if cache.add(key, 1, timeout=120):
            count = 1
        else:  # another process started the window first
            try:
                count = cache.incr(key)
            except ValueError:  # ...and the key expired in between
                cache.set(key, 1, timeout=120)
                count = 1
    if count > settings.ACCUEIL_MESSAGING_RATE_PER_MINUTE:
        raise RateLimited


def _encrypted(conversation_id: int, seq: int, body: str) -> tuple[str, bytes]:
    return encrypt_bytes(
        keyring_from_settings(), body.encode(), aad=Message.aad(conversation_id, seq)
    )


def _add_message(
    conversation: Conversation,
    *,
    kind: str,
    author: User | None,
    body: str,
    now: datetime,
    client_token: str = "",
) -> Message:
    """Append a message to a conversation whose row the caller holds locked."""
    conversation.last_seq += 1
    seq = conversation.last_seq
    key, blob = _encrypted(conversation.pk, seq, body)
    message = Message.objects.create(
        conversation=conversation,
        seq=seq,
        kind=kind,
        author=author,
        body_key=key,
        body_blob=blob,
        client_token=client_token,
        created_at=now,
    )
    conversation.last_message_at = now
    if kind == Kind.CLIENT:
        conversation.last_client_seq = seq
    else:
        conversation.last_clinic_seq = seq
    return message


def _emergency_reply(clinic: Clinic, *, closed: bool | None) -> str:
    """Call now, never "wait for us". Out of hours the emergency line comes first: the
    clinic's own number would ring in an empty room."""
    if clinic.emergency_phone and closed:
        return _(
            "Automatic reply: your message may describe an emergency. The clinic is closed now: "
            "do not wait for a written answer, call the emergency line now on %(emergency)s. "
            "This automatic reply is not a medical opinion."
        ) % {"emergency": display_phone(clinic.emergency_phone)}
    if clinic.emergency_phone:
        return _(
            "Automatic reply: your message may describe an emergency. Do not wait for a written "
            "answer: call the clinic now on %(phone)s, or the emergency line on %(emergency)s. "
            "This automatic reply is not a medical opinion."
        ) % {
            "phone": display_phone(clinic.phone),
            "emergency": display_phone(clinic.emergency_phone),
        }
    return _(
        "Automatic reply: your message may describe an emergency. Do not wait for a written "
        "answer: call the clinic now on %(phone)s. This automatic reply is not a medical opinion."
    ) % {"phone": display_phone(clinic.phone)}


def _closed_note(clinic: Clinic, opening: datetime) -> str:
    local = timezone.localtime(opening, clinic.tz)
    when = f"{dates.weekday_day_month(local.date())}, {formats.time_format(local, 'H:i')}"
    if clinic.emergency_phone:
        return _(
            "Automatic note: the clinic is closed now. The team will answer from %(when)s. "
            "In an emergency, call the emergency line on %(emergency)s."
        ) % {"when": when, "emergency": display_phone(clinic.emergency_phone)}
    return _("Automatic note: the clinic is closed now. The team will answer from %(when)s.") % {
        "when": when
    }


def _closed_until(conversation: Conversation, now: datetime) -> datetime | None:
    """The next opening when a closed-clinic note is due, else None.

    Nothing is said when the hours are unknown (no provider, or no hours set: next_opening is
    None), when the clinic is open, or when this conversation had a note in the last 12 hours.
    """
    opening = contact.next_opening(now)
    if opening is None or opening <= now:
        return None
    if conversation.messages.filter(
        kind=Kind.CLOSED_NOTE, created_at__gt=now - CLOSED_NOTE_EVERY
    ).exists():
        return None
    return opening


def start_conversation(
    *,
    client: Client,
    author: User,
    subject: str,
    body: str,
    patient: Patient | None = None,
    uploads: list[UploadedFile] | None = None,
    client_token: str = "",
    now: datetime | None = None,
    language: str | None = None,
) -> Posted:
    """A client opens a conversation with its first message.

    The patient must be one of the client's (checked again here: a forged form must not link a
    conversation to someone else's animal). The new row needs no lock: nobody else sees it yet.
    """
    if author.pk != client.user_id:
        raise PermissionDenied
    if patient is not None and not Patient.objects.of_client(client).filter(pk=patient.pk).exists():
        raise PermissionDenied
    now = now or timezone.now()
    with transaction.atomic():
        conversation = Conversation.objects.create(
            client=client,
            patient=patient,
            subject=subject.strip()[:200],
            status=Status.WAITING_CLINIC,
            created_at=now,
            last_message_at=now,
        )
    try:
        return post_message(
            conversation_id=conversation.pk,
            author=author,
            body=body,
            uploads=uploads,
            client_token=client_token,
            now=now,
            language=language,
        )
    except Exception:
        conversation.delete()  # the first message failed (rate, file): no empty thread left
        raise


_SLOT_PK = 2_147_000_001  # stand for the values while the queries compile (messaging/prepared.py)
_SLOT_TEXT = "slot:client-token:7f3e"
_CONVERSATION = fields_of(Conversation)
_CLIENT = fields_of(Client)


@dataclass
class _PostQueries:
    lock: Prepared
    token: Prepared


_compiled: dict[tuple[str, str], _PostQueries] = {}


def _queries() -> _PostQueries:
    """post_message's two reads, compiled once per database (inside the first transaction:
    select_for_update compiles only there). Each message was paying ~0.3 ms of ORM per read."""
    using = router.db_for_write(Conversation)
    key = (using, connections[using].vendor)
    if key not in _compiled:
        _compiled[key] = _PostQueries(
            lock=Prepared(
                Conversation.objects.using(using)
                .select_for_update()
                .filter(pk=_SLOT_PK)
                .order_by()
                .values(*_CONVERSATION, *paths("client__", _CLIENT)),
                pk=_SLOT_PK,
            ),
            token=Prepared(
                Message.objects.using(using)
                .filter(conversation_id=_SLOT_PK, client_token=_SLOT_TEXT)
                .order_by()
                .values("id")[:1],
                pk=_SLOT_PK,
                token=_SLOT_TEXT,
            ),
        )
    return _compiled[key]


def _locked(conversation_id: int) -> Conversation:
    """The conversation and its client, the row locked (select_for_update on PostgreSQL; the
    IMMEDIATE transaction holds SQLite's write lock already)."""
    query = _queries().lock
    rows = query.rows(pk=conversation_id)
    if not rows:
        raise Conversation.DoesNotExist
    conversation = instance(Conversation, query.using, rows[0], _CONVERSATION)
    conversation.client = instance(Client, query.using, rows[0], _CLIENT, "client__")
    return conversation


def post_message(
    *,
    conversation_id: int,
    author: User,
    body: str,
    uploads: list[UploadedFile] | None = None,
    client_token: str = "",
    now: datetime | None = None,
    language: str | None = None,
) -> Posted:
    """Store a message (and any automatic reply), then announce it after commit.

    Locks the conversation row (select_for_update on PostgreSQL; SQLite's IMMEDIATE transactions
    take the write lock up front) so that two messages posted at once, from two daphne
    processes, take two different sequence numbers in the order they commit. A `client_token`
    already used in this conversation returns the stored message: a retried form is not doubled.
    """
    now = now or timezone.now()
    uploads = uploads or []
    body = check_body(body, has_files=bool(uploads))
    staff = is_staff(author)
    # Files are checked and encrypted before the transaction: slow work must not hold the lock.
    prepared = []
    for upload in uploads:
        content_type, extension = files.check_upload(upload)
        name = files.stored_name(extension)
        content, wrapped_key, digest = files.encrypt_upload(upload, aad=name.encode())
        prepared.append((upload, content_type, name, content, wrapped_key, digest))
    check_rate(author.pk, now)

    with transaction.atomic():
        conversation = _locked(conversation_id)
        if not staff and conversation.client.user_id != author.pk:
            raise PermissionDenied
        if client_token:
            existing = _queries().token.rows(pk=conversation.pk, token=client_token)
            if existing:
                message = Message.objects.get(pk=existing[0]["id"])
                return Posted(conversation, [message], duplicate=True)
        kind = Kind.STAFF if staff else Kind.CLIENT
        message = _add_message(
            conversation, kind=kind, author=author, body=body, now=now, client_token=client_token
        )
        for upload, content_type, name, content, wrapped_key, digest in prepared:
            attachment = Attachment(
                message=message,
                name=(upload.name or name)[-200:],
                content_type=content_type,
                size=upload.size,
                sha256=digest,
                wrapped_key=wrapped_key,
            )
            attachment.file.save(name, content, save=False)
            attachment.save()
        posted = [message]
        fields = ["last_seq", "last_message_at", "status"]
        if staff:
            fields.append("last_clinic_seq")
            conversation.status = Status.WAITING_CLIENT
            # The team answering has read what came before.
            conversation.clinic_read_seq = conversation.last_seq
            conversation.clinic_read_at = now
            fields += ["clinic_read_seq", "clinic_read_at"]
            if conversation.first_response_at is None and conversation.first_client_message_at:
                conversation.first_response_at = now
                fields.append("first_response_at")
        else:
            fields.append("last_client_seq")
            conversation.status = Status.WAITING_CLINIC
            if conversation.first_client_message_at is None:
                conversation.first_client_message_at = now
                fields.append("first_client_message_at")
            # Automatic replies speak the language the client is using now, else their own.
            with translation.override(language or conversation.client.preferred_language):
                if emergency_words_in(body):
                    posted.append(
                        _add_message(
                            conversation,
                            kind=Kind.EMERGENCY,
                            author=None,
                            body=_emergency_reply(Clinic.current(), closed=contact.closed_now(now)),
                            now=now,
                        )
                    )
                    conversation.urgent = True
                    fields.append("urgent")
                    _tell_urgent(UrgentMessage(conversation.pk, message.pk, now))
                opening = _closed_until(conversation, now)
                if opening is not None:
                    posted.append(
                        _add_message(
                            conversation,
                            kind=Kind.CLOSED_NOTE,
                            author=None,
                            body=_closed_note(Clinic.current(), opening),
                            now=now,
                        )
                    )
            if len(posted) > 1:
                fields.append("last_clinic_seq")
        conversation.save(update_fields=fields)
        transaction.on_commit(
            lambda: live.announce_messages(
                conversation.pk, conversation.client_id, conversation.last_seq
            )
        )
        if staff:
            transaction.on_commit(
                lambda: _notify_unread(client_id=conversation.client_id, message_id=message.pk)
            )
    return Posted(conversation, posted)


def _notify_unread(*, client_id: int, message_id: int) -> None:
    """Ask notifications for the no-content "new message" notice if still unread later."""
    try:
        from notifications.services import new_message_unread
    except ImportError:
        logger.warning("notifications.services.new_message_unread is not available yet")
        return
    new_message_unread(
        client_id=client_id,
        message_id=message_id,
        delay=timedelta(minutes=settings.ACCUEIL_MESSAGING_OFFLINE_NOTICE_MINUTES),
    )


def mark_read(*, conversation: Conversation, user: User, seq: int) -> bool:
    """Move this side's read mark up to `seq` (never down, never past the last message).

    A conditional UPDATE, no lock: two tabs marking at once both move the mark forward.
    """
    now = timezone.now()
    seq = min(int(seq), conversation.last_seq)
    if is_staff(user):
        side, field_name = "clinic", "clinic_read_seq"
        updates = {"clinic_read_seq": seq, "clinic_read_at": now}
    else:
        side, field_name = "client", "client_read_seq"
        updates = {"client_read_seq": seq, "client_read_at": now}
    moved = Conversation.objects.filter(pk=conversation.pk, **{f"{field_name}__lt": seq}).update(
        **updates
    )
    if moved:
        setattr(conversation, field_name, seq)
        transaction.on_commit(
            lambda: (
                live.announce(
                    live.conversation_group(conversation.pk),
                    live.ReadMark(type="conversation.read", side=side, seq=seq),
                ),
                live.announce_inboxes(conversation.client_id),
            )
        )
    return bool(moved)


def _changed(conversation: Conversation) -> None:
    transaction.on_commit(
        lambda: (
            live.announce(
                live.conversation_group(conversation.pk),
                live.ConversationChanged(type="conversation.changed"),
            ),
            live.announce_inboxes(conversation.client_id),
        )
    )


def assign(*, conversation: Conversation, assignee: User | None) -> None:
    """Give the conversation to a member of the team (or to nobody)."""
    if assignee is not None and not is_staff(assignee):
        raise PermissionDenied
    with transaction.atomic():
        conversation.assignee = assignee
        conversation.save(update_fields=["assignee"])
        _changed(conversation)


def set_closed(*, conversation: Conversation, closed: bool) -> None:
    """Close, or reopen as waiting for whoever is due to answer."""
    with transaction.atomic():
        if closed:
            conversation.status = Status.CLOSED
        elif conversation.last_seq and conversation.last_clinic_seq >= conversation.last_client_seq:
            conversation.status = Status.WAITING_CLIENT
        else:
            conversation.status = Status.WAITING_CLINIC
        conversation.save(update_fields=["status"])
        _changed(conversation)


def set_urgent(*, conversation: Conversation, urgent: bool) -> None:
    with transaction.atomic():
        conversation.urgent = urgent
        conversation.save(update_fields=["urgent"])
        _changed(conversation)


def connection_opened(*, channel_name: str, user: User, conversation_id: int) -> None:
    # Channel names are unique per connection: a plain insert, no read first.
    now = timezone.now()
    Presence.objects.create(
        channel_name=channel_name,
        user=user,
        conversation_id=conversation_id,
        seen_at=now,
    )
    sweep_presence(now)


def sweep_presence(now: datetime | None = None) -> int:
    """Delete the rows of connections not seen within Presence.TTL: their daphne process was
    killed (no disconnect ran) or the page stopped its heartbeat. Run on every new connection
    and before the offline-notice check, one indexed DELETE; returns how many went."""
    now = now or timezone.now()
    deleted, _ = Presence.objects.filter(seen_at__lt=now - Presence.TTL).delete()
    if deleted:
        logger.info("Swept %d stale websocket presence rows", deleted)
    return deleted


def connection_seen(*, channel_name: str) -> None:
    Presence.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())


def connection_closed(*, channel_name: str) -> None:
    Presence.objects.filter(channel_name=channel_name).delete()


def message_still_unread(message_id: int, version: int) -> bool:
    """Notifications' subject checker for "message": send the notice only if it still holds.

    True while this clinic message is unread by the client and the client has no live
    connection to the conversation (a Presence row refreshed within its TTL).
    """
    message = (
        Message.objects.select_related("conversation__client")
        .filter(pk=message_id, kind__in=CLINIC_KINDS)
        .first()
    )
    if message is None:
        return False
    conversation = message.conversation
    if conversation.client_read_seq >= message.seq:
        return False
    user_id = conversation.client.user_id
    now = timezone.now()
    sweep_presence(now)
    connected = Presence.objects.filter(
        user_id=user_id,
        conversation=conversation,
        seen_at__gt=now - Presence.TTL,
    ).exists()
    return not connected


def sms_reply(reply) -> "object":
    """A client's text message that is no keyword (not OUI, NON or STOP), from
    notifications.replies through `register_free_text_handler`: a message from them in their
    latest conversation still open (else a new one), so the team reads it in the inbox, with
    emergency words applying as on the site. A client without an account has no conversation:
    "kept" (the outbox shows the reply to staff)."""
    from notifications.contracts import ReplyOutcome

    client = Client.objects.filter(pk=reply.client_id).select_related("user").first()
    if client is None or client.user is None or not reply.text.strip():
        return ReplyOutcome("message", "kept")
    latest = (
        Conversation.objects.of_client(client)
        .exclude(status=Status.CLOSED)
        .order_by("-last_message_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    text = reply.text.strip()[: settings.ACCUEIL_MESSAGING_MAX_BODY]
    try:
        if latest is None:
            posted = start_conversation(
                client=client,
                author=client.user,
                subject=str(_("Text message")),
                body=text,
                now=reply.received_at,
            )
        else:
            posted = post_message(
                conversation_id=latest, author=client.user, body=text, now=reply.received_at
            )
    except (RateLimited, ValidationError):
        return ReplyOutcome("message", "kept")
    return ReplyOutcome("message", "urgent" if posted.conversation.urgent else "posted")
