"""Writes for the client's data rights. Each function says what it locks and why.

Slow work (building and encrypting a zip) runs in a task, outside any transaction; the task is
enqueued after commit. Erasure is one transaction: the account closes and the personal data goes
together, or nothing changes.
"""

import logging
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.lib.crypto import encrypt_bytes, encrypt_stream, keyring_from_settings
from portal.models import Client, Invitation, User
from privacy import conf
from privacy.models import DataExport, ErasureRequest, PrivacyNotice, ProfileCorrection

logger = logging.getLogger(__name__)

EXPORTS_DIR = "privacy/exports"
ERASED_FIRST_NAME = "Client supprimé"  # stored in French, the clinic's language; shown translated
ERASED_MESSAGE = "—"


def _already_asked() -> str:
    return _("You have already asked to close your account. The clinic will confirm it.")


class PrivacyError(Exception):
    """A request that cannot be honoured; the message is for the person who asked."""


# --- Export --------------------------------------------------------------------------------------


def request_export(*, client: Client, by: User, now: datetime | None = None) -> DataExport:
    """Start building a new export, unless one is being prepared (PrivacyError then).

    No lock: the partial unique constraint (one *preparing* export per client) settles two
    clicks racing; the loser gets the same clear message as a second click.
    """
    now = now or timezone.now()
    # A build whose worker died never finishes: past the tasks' own "interrupted" limit it is
    # failed, so it cannot block the client's next request forever.
    DataExport.objects.of_client(client).filter(
        status=DataExport.Status.PREPARING, created_at__lt=now - stale_after()
    ).update(status=DataExport.Status.FAILED)
    if DataExport.objects.of_client(client).filter(status=DataExport.Status.PREPARING).exists():
        raise PrivacyError(_("Your data is already being prepared. It will be ready shortly."))
    try:
        with transaction.atomic():
            export = DataExport.objects.create(
                client=client, requested_by=by, created_at=now, file_id=uuid.uuid4()
            )
            transaction.on_commit(lambda: _enqueue_build(export.pk))
    except IntegrityError:
        raise PrivacyError(
            _("Your data is already being prepared. It will be ready shortly.")
        ) from None
    return export


def stale_after() -> timedelta:
    return timedelta(seconds=settings.TASKS_INTERRUPTED_AFTER_SECONDS)


def _enqueue_build(export_id: int) -> None:
    from privacy.tasks import build_export

    build_export.enqueue(export_id)


def build_export(export_id: int, *, now: datetime | None = None) -> str:
    """Build, encrypt and store the zip of export `export_id`; harmless when run twice.

    Reads and encryption happen outside any transaction; the row is then marked ready with a
    conditional UPDATE (only a *preparing* row), so a second run deletes its own file.
    """
    from privacy.export import build_zip

    export = (
        DataExport.objects.select_related("client__user", "client__usual_site")
        .filter(pk=export_id)
        .first()
    )
    if export is None or export.status != DataExport.Status.PREPARING:  # gone: erased
        return "nothing to do"
    now = now or timezone.now()
    try:
        content = build_zip(export.client, now=now)
        name = f"{EXPORTS_DIR}/{uuid.uuid4().hex}.enc"
        with tempfile.TemporaryFile() as ciphertext:
            info = encrypt_stream(keyring_from_settings(), [content], ciphertext, aad=export.aad)
            del content
            ciphertext.seek(0)
            name = default_storage.save(name, File(ciphertext, name=name))
    except Exception:
        logger.exception("Data export %s could not be built", export_id)
        DataExport.objects.filter(pk=export_id, status=DataExport.Status.PREPARING).update(
            status=DataExport.Status.FAILED
        )
        return "failed"
    done = DataExport.objects.filter(pk=export_id, status=DataExport.Status.PREPARING).update(
        status=DataExport.Status.READY,
        file=name,
        wrapped_key=info.wrapped_key,
        plaintext_size=info.plaintext_size,
        ready_at=now,
        expires_at=now + timedelta(days=conf.export_days()),
    )
    if not done:
        _delete_quietly(name)
        return "nothing to do"
    _enqueue_purge(at=now + timedelta(days=conf.export_days()))
    return "ready"


def _enqueue_purge(*, at: datetime) -> None:
    """Delete the file when it expires, even if nobody opens the page again. A lost enqueue
    leaves the file until the next purge (any later export plans one, and the page deletes an
    expired file it shows)."""
    from privacy.tasks import purge_expired_exports

    try:
        purge_expired_exports.using(run_after=at).enqueue()
    except Exception:
        logger.exception("Could not plan the purge of expired exports")


def claim_download(*, export: DataExport, now: datetime) -> bool:
    """Mark a ready, unexpired export downloaded; False when another request took it first.

    A conditional UPDATE, not a lock: of two downloads racing, exactly one changes the row.
    """
    return bool(
        DataExport.objects.filter(
            pk=export.pk, status=DataExport.Status.READY, expires_at__gt=now
        ).update(status=DataExport.Status.DOWNLOADED, downloaded_at=now)
    )


def discard_file(export: DataExport) -> None:
    """Delete an export's ciphertext once it was downloaded or expired (the row stays)."""
    if export.file:
        _delete_quietly(export.file.name)
        DataExport.objects.filter(pk=export.pk).update(file="", wrapped_key="")


def purge_expired_exports(*, now: datetime | None = None) -> int:
    """Delete the files of expired exports (their rows stay, to say "expired")."""
    now = now or timezone.now()
    expired = list(
        DataExport.objects.filter(status=DataExport.Status.READY, expires_at__lte=now).exclude(
            file=""
        )
    )
    for export in expired:
        discard_file(export)
    return len(expired)


def _delete_quietly(name: str) -> None:
    try:
        default_storage.delete(name)
    except OSError:
        logger.exception("Could not delete %s", name)


# --- Corrections ---------------------------------------------------------------------------------


def request_correction(*, client: Client, message: str) -> ProfileCorrection:
    return ProfileCorrection.objects.create(client=client, message=message)


def resolve_correction(*, correction: ProfileCorrection, by: User, note: str) -> bool:
    """Mark a correction handled; False when it already was (its first note stays).

    Locks the request so two staff resolving at once do not both stamp it.
    """
    with transaction.atomic():
        locked = ProfileCorrection.objects.select_for_update().get(pk=correction.pk)
        if locked.resolved_at is not None:
            return False
        locked.resolved_at = timezone.now()
        locked.resolved_by = by
        locked.note = note[:500]
        locked.save(update_fields=["resolved_at", "resolved_by", "note"])
    return True


# --- Erasure -------------------------------------------------------------------------------------


def request_erasure(*, client: Client) -> ErasureRequest:
    """Ask the clinic to close the account; PrivacyError when a request is already waiting.

    The partial unique constraint settles two requests racing."""
    if ErasureRequest.objects.filter(client=client, status=ErasureRequest.Status.PENDING).exists():
        raise PrivacyError(_already_asked())
    try:
        with transaction.atomic():
            return ErasureRequest.objects.create(client=client)
    except IntegrityError:
        raise PrivacyError(_already_asked()) from None


@dataclass(frozen=True)
class Erased:
    appointments_cancelled: int
    notifications_cancelled: int
    messages_replaced: int
    attachments_deleted: int


def confirm_erasure(*, erasure: ErasureRequest, by: User) -> Erased:
    """Staff confirm a client's erasure request: `erase_client` runs in the same transaction.

    Locks the request row, so two staff confirming at once erase once; the second is told it
    was done (PrivacyError)."""
    with transaction.atomic():
        locked = ErasureRequest.objects.select_for_update().get(pk=erasure.pk)
        if locked.status != ErasureRequest.Status.PENDING:
            raise PrivacyError(
                _("This request was already confirmed by %(by)s on %(on)s: nothing changed.")
                % {
                    "by": locked.confirmed_by,
                    "on": date_format(timezone.localtime(locked.confirmed_at), "DATETIME_FORMAT"),
                }
            )
        erased = erase_client(locked.client, by=by)
        locked.status = ErasureRequest.Status.DONE
        locked.confirmed_at = timezone.now()
        locked.confirmed_by = by
        locked.save(update_fields=["status", "confirmed_at", "confirmed_by"])
    return erased


def erased_name(client_id: int) -> tuple[str, str]:
    return ERASED_FIRST_NAME, f"#{client_id}"


def is_erased(client: Client) -> bool:
    return (client.first_name, client.last_name) == erased_name(client.pk)


def erase_client(client: Client, *, by: User) -> Erased:
    """Close the client's account and erase or anonymise their personal data.

    Kept, for the medical retention period (conf.medical_retention_years) and for statistics:
    patients, their history, weights and reports; appointments (anonymised: no free text); the
    consent journal (proof of consent, append-only); the access log (append-only). See
    docs/security.md ("The client's data rights") for the full list and why.

    Upcoming appointments are cancelled through booking's own service (so the slots are
    released to the waiting list), by the clinic, before anything else is changed.
    Call inside a transaction (confirm_erasure holds the request's lock); each booking cancel
    locks its appointment row.
    """
    from booking import services as booking
    from booking.models import Appointment
    from messaging.models import Attachment, Conversation, Message, Presence
    from notifications.models import (
        InboundSms,
        Notification,
        NotificationEvent,
        Preference,
        Status,
        VerificationCode,
    )
    from records.models import CorrectionRequest
    from waitlist.models import Entry

    now = timezone.now()
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        user = client.user

        cancelled = 0
        for appointment in Appointment.objects.upcoming_for(client, now):
            try:
                booking.cancel(
                    appointment,
                    by_user=by,
                    by_clinic=True,
                    reason=_("The client closed their account."),
                    now=now,
                )
            except booking.AlreadyDone:
                continue  # cancelled or moved on by someone else a moment ago: nothing to free
            cancelled += 1
        # Free text the client wrote when booking or cancelling; times, service and status stay
        # so the clinic's figures still count the visit.
        Appointment.objects.filter(client=client).update(reason="")
        mine = Appointment.objects.filter(client=client, cancelled_by_clinic=False)
        mine.update(cancel_reason="")
        Entry.objects.filter(client=client, status=Entry.Status.WAITING).update(
            status=Entry.Status.LEFT, ended_at=now
        )

        # Notifications: nothing more is sent; sent ones keep kind, channel and status (counts)
        # but lose the address and the words.
        pending = list(
            Notification.objects.filter(client=client, status=Status.SCHEDULED).values_list(
                "pk", flat=True
            )
        )
        Notification.objects.filter(pk__in=pending, status=Status.SCHEDULED).update(
            status=Status.CANCELLED, reason="account closed"
        )
        NotificationEvent.objects.bulk_create(
            NotificationEvent(notification_id=pk, at=now, status=Status.CANCELLED, detail="")
            for pk in pending
        )
        Notification.objects.filter(client=client).update(
            recipient="", subject="", body="", html="", ics=""
        )
        Preference.objects.filter(client=client).delete()
        # Text messages they sent (their number, their words): nothing kept.
        InboundSms.objects.filter(client=client).delete()
        # One-time codes hold the number or address they went to.
        VerificationCode.objects.filter(client=client).delete()

        # Messages the client wrote are replaced (re-encrypted under their own position);
        # attachments of the client's conversations are deleted, files after commit.
        keyring = keyring_from_settings()
        written = Message.objects.filter(conversation__client=client, kind="client")
        replaced = 0
        for message in written.only("pk", "conversation_id", "seq"):
            key, blob = encrypt_bytes(
                keyring,
                ERASED_MESSAGE.encode(),
                aad=Message.aad(message.conversation_id, message.seq),
            )
            Message.objects.filter(pk=message.pk).update(body_key=key, body_blob=blob)
            replaced += 1
        attachments = Attachment.objects.filter(message__conversation__client=client)
        names = [name for name in attachments.values_list("file", flat=True) if name]
        deleted = attachments.count()
        attachments.delete()
        Conversation.objects.filter(client=client).update(subject=ERASED_MESSAGE)
        for name in names:
            transaction.on_commit(lambda name=name: _delete_quietly(name), robust=True)

        CorrectionRequest.objects.filter(client=client).update(message=ERASED_MESSAGE)
        ProfileCorrection.objects.filter(client=client).update(message=ERASED_MESSAGE, note="")
        Invitation.objects.filter(client=client).delete()
        for export in DataExport.objects.filter(client=client).exclude(file=""):
            name = export.file.name
            transaction.on_commit(lambda name=name: _delete_quietly(name), robust=True)
        DataExport.objects.filter(client=client).delete()

        first, last = erased_name(client.pk)
        client.first_name, client.last_name = first, last
        client.email = client.phone = client.address = ""
        client.save(update_fields=["first_name", "last_name", "email", "phone", "address"])

        if user is not None:
            Presence.objects.filter(user=user).delete()
            close_account(user)
    return Erased(
        appointments_cancelled=cancelled,
        notifications_cancelled=len(pending),
        messages_replaced=replaced,
        attachments_deleted=deleted,
    )


def close_account(user: User) -> None:
    """The account can no longer sign in, and every open session of it ends now."""
    from allauth.account.models import EmailAddress
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user.is_active = False
    user.set_unusable_password()
    user.email = f"erased-{user.pk}@invalid"  # .invalid is reserved (RFC 2606): never delivered
    user.first_name = user.last_name = ""
    user.save(update_fields=["is_active", "password", "email", "first_name", "last_name"])
    EmailAddress.objects.filter(user=user).delete()
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    delete_sessions(user)


def delete_sessions(user: User) -> int:
    """Delete the database sessions of `user`. Erasure is rare, so reading every live session
    is fine; a changed password hash would end them on their next request anyway."""
    now = timezone.now()
    doomed = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=now).iterator()
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in doomed:
        store(session_key=key).delete()  # through the store: a cached_db engine forgets it too
    if apps.is_installed("allauth.usersessions"):
        from allauth.usersessions.models import UserSession

        UserSession.objects.filter(user=user).delete()  # the "signed in on" list
    return len(doomed)


# --- Notice --------------------------------------------------------------------------------------


def save_notice(*, text_fr: str, text_en: str, by: User) -> PrivacyNotice:
    """Write the clinic's notice (one row). Locks it so two managers' saves do not interleave."""
    with transaction.atomic():
        notice = PrivacyNotice.objects.select_for_update().order_by("pk").first()
        if notice is None:
            notice = PrivacyNotice()
        notice.text_fr, notice.text_en = text_fr, text_en
        notice.updated_by, notice.updated_at = by, timezone.now()
        notice.save()
    return notice
