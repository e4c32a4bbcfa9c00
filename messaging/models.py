"""Conversations between a client and the clinic team, and their encrypted messages.

The database is the record: a message is stored (encrypted) with a sequence number unique in its
conversation before anything is announced on a websocket, and a browser that lost its connection
asks for "everything after seq N" to catch up.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.lib.crypto import decrypt_bytes, keyring_from_settings
from portal.models import Client
from records.models import Patient


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    WAITING_CLINIC = "waiting_clinic", _("Waiting for the clinic")
    WAITING_CLIENT = "waiting_client", _("Waiting for the client")
    CLOSED = "closed", _("Closed")


class ConversationQuerySet(models.QuerySet["Conversation"]):
    def of_client(self, client: Client) -> "ConversationQuerySet":
        return self.filter(client=client)

    def for_inbox(self) -> "ConversationQuerySet":
        """Urgent first, then the longest-waiting activity first, with what the list shows."""
        return self.select_related("client", "patient", "assignee").order_by(
            "-urgent", "-last_message_at", "-pk"
        )

    def unread_for_clinic(self) -> "ConversationQuerySet":
        return self.filter(last_client_seq__gt=models.F("clinic_read_seq"))

    def unread_for_client(self) -> "ConversationQuerySet":
        return self.filter(last_clinic_seq__gt=models.F("client_read_seq"))


class Conversation(models.Model):
    """A thread between one client and the clinic team, optionally about one patient.

    Read receipts are per side, as the highest sequence number each side has seen: "read" for a
    message means its seq is at most the other side's read mark. `last_seq` is the counter new
    messages take their number from, under a row lock (see services.post_message).
    """

    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="conversations", verbose_name=_("client")
    )
    patient = models.ForeignKey(
        Patient,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("patient"),
    )
    subject = models.CharField(_("subject"), max_length=200)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.WAITING_CLINIC
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
        verbose_name=_("assigned to"),
    )
    urgent = models.BooleanField(pgettext_lazy("conversation", "urgent"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seq = models.PositiveIntegerField(default=0)
    last_client_seq = models.PositiveIntegerField(default=0)
    last_clinic_seq = models.PositiveIntegerField(default=0)
    client_read_seq = models.PositiveIntegerField(default=0)
    clinic_read_seq = models.PositiveIntegerField(default=0)
    client_read_at = models.DateTimeField(null=True, blank=True)
    clinic_read_at = models.DateTimeField(null=True, blank=True)
    first_client_message_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        verbose_name = _("conversation")
        ordering = ["-last_message_at", "-pk"]
        indexes = [models.Index(fields=["status", "urgent"])]

    def __str__(self) -> str:
        return self.subject

    @property
    def unread_for_clinic(self) -> int:
        return max(0, self.last_client_seq - self.clinic_read_seq) if self.last_client_seq else 0

    @property
    def has_unread_for_client(self) -> bool:
        return self.last_clinic_seq > self.client_read_seq


class Kind(models.TextChoices):
    CLIENT = "client", _("Client")
    STAFF = "staff", _("Clinic")
    EMERGENCY = "emergency", _("Automatic emergency reply")
    CLOSED_NOTE = "closed_note", _("Automatic out-of-hours note")


# Messages written by the clinic's side (a person or the automatic replies).
CLINIC_KINDS = frozenset({Kind.STAFF, Kind.EMERGENCY, Kind.CLOSED_NOTE})


class MessageQuerySet(models.QuerySet["Message"]):
    def after(self, conversation_id: int, seq: int) -> "MessageQuerySet":
        return (
            self.filter(conversation_id=conversation_id, seq__gt=seq)
            .select_related("author")
            .prefetch_related("attachments")
            .order_by("seq")
        )


class Message(models.Model):
    """One message. The body is encrypted at rest (AES-GCM, bound to conversation and seq)."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body_key = models.CharField(max_length=160)
    body_blob = models.BinaryField()
    # Set by the sending form: a resubmitted form (double click, retry after a timeout) finds
    # its message instead of posting it twice.
    client_token = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="messaging_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "client_token"],
                condition=~models.Q(client_token=""),
                name="messaging_token_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq}"

    @staticmethod
    def aad(conversation_id: int, seq: int) -> bytes:
        return f"message:{conversation_id}:{seq}".encode()

    @property
    def body(self) -> str:
        plain = decrypt_bytes(
            keyring_from_settings(),
            self.body_key,
            bytes(self.body_blob),
            aad=self.aad(self.conversation_id, self.seq),
        )
        return plain.decode()

    @property
    def from_clinic(self) -> bool:
        return self.kind in CLINIC_KINDS

    @property
    def automatic(self) -> bool:
        return self.kind in (Kind.EMERGENCY, Kind.CLOSED_NOTE)


class Attachment(models.Model):
    """A photo or PDF sent with a message, stored encrypted through the storage API."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    wrapped_key = models.CharField(max_length=160)
    file = models.FileField(upload_to="messaging/%Y/%m/", max_length=200)

    def __str__(self) -> str:
        return self.name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def aad(self) -> bytes:
        # The random stored name (see attachments.stored_name), known before the row exists.
        return self.file.name.rsplit("/", 1)[-1].encode()


class QuickReply(models.Model):
    """A canned answer the team inserts into a reply; managed by a manager. No health data."""

    title = models.CharField(_("title"), max_length=80)
    body = models.TextField(_("text"), max_length=2000)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("quick reply")
        verbose_name_plural = _("quick replies")
        ordering = ["position", "title", "pk"]

    def __str__(self) -> str:
        return self.title


class Presence(models.Model):
    """One open websocket on a conversation: used to skip the offline notice while connected.

    A row per connection (its channel name) rather than a cache counter, because a daphne
    process that dies never decrements a counter; rows are refreshed by the page's heartbeat and
    anything older than TTL counts as gone, and is deleted by `services.sweep_presence` (a
    killed process never runs its disconnects).
    """

    TTL = timedelta(minutes=3)

    channel_name = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["user", "conversation", "seen_at"]),
            models.Index(fields=["seen_at"], name="messaging_presence_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.conversation_id}"
