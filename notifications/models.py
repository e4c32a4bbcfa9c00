"""The outbox: every message is a row before it is sent, plus clients' preferences and consent.

A row's `idempotency_key` is unique, so planning the same message twice (a retried request, two
callers, a re-run after a crash) finds the existing row instead of making a second one, and a
row is sent only by the worker that moved it from *scheduled* to *sending* with a conditional
UPDATE (see `services.dispatch`).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.models import Client


class Channel(models.TextChoices):
    SMS = "sms", _("Text message")
    EMAIL = "email", _("E-mail")


class Purpose(models.TextChoices):
    # Contexts: a bare "Service"/"Reason" here would shadow other apps' ("Prestation", "Motif").
    SERVICE = "service", pgettext_lazy("message purpose", "Service")
    MARKETING = "marketing", _("Marketing")


class Kind(models.TextChoices):
    APPOINTMENT_CONFIRMED = "appointment_confirmed", _("Appointment confirmed")
    APPOINTMENT_REMINDER = "appointment_reminder", _("Appointment reminder")
    APPOINTMENT_MOVED = "appointment_moved", _("Appointment moved")
    APPOINTMENT_CANCELLED = "appointment_cancelled", _("Appointment cancelled")
    CARE_REMINDER = "care_reminder", _("Care reminder")
    DOCUMENT_AVAILABLE = "document_available", _("New document")
    NEW_MESSAGE = "new_message", _("New message")
    WAITLIST_OFFER = "waitlist_offer", _("Waiting-list offer")
    CAMPAIGN = "campaign", _("Campaign")
    # Our short answer to a text message a client sent (InboundSms).
    SMS_ANSWER = "sms_answer", _("Answer to a text message")
    # Orders and renewals (the orders app): ready for pick-up, the one reminder while it waits,
    # and news that needs the client (refused, needs a consultation).
    ORDER_READY = "order_ready", _("Order ready for pick-up")
    ORDER_WAITING = "order_waiting", _("Order still waiting")
    ORDER_UPDATE = "order_update", _("News about a request")
    # A one-time code someone just asked for (notifications.codes): urgent, transactional,
    # never capped, sent to the number or address being checked (not the one on file).
    VERIFICATION_CODE = "verification_code", _("Verification code")


class Topic(models.TextChoices):
    """What a client chooses channels for: several kinds share one topic."""

    APPOINTMENTS = "appointments", _("Appointments (confirmations and reminders)")
    CARE = "care", _("Care reminders (vaccinations, treatments)")
    DOCUMENTS = "documents", _("New documents")
    MESSAGES = "messages", _("New messages from the clinic")
    WAITLIST = "waitlist", _("Slots that open up (waiting list)")
    ORDERS = "orders", _("Orders and renewals (ready for pick-up)")


KIND_TOPIC: dict[str, str] = {
    Kind.APPOINTMENT_CONFIRMED: Topic.APPOINTMENTS,
    Kind.APPOINTMENT_REMINDER: Topic.APPOINTMENTS,
    Kind.APPOINTMENT_MOVED: Topic.APPOINTMENTS,
    Kind.APPOINTMENT_CANCELLED: Topic.APPOINTMENTS,
    Kind.CARE_REMINDER: Topic.CARE,
    Kind.DOCUMENT_AVAILABLE: Topic.DOCUMENTS,
    Kind.NEW_MESSAGE: Topic.MESSAGES,
    Kind.WAITLIST_OFFER: Topic.WAITLIST,
    Kind.ORDER_READY: Topic.ORDERS,
    Kind.ORDER_WAITING: Topic.ORDERS,
    Kind.ORDER_UPDATE: Topic.ORDERS,
}

# Until a client says otherwise: e-mail for everything, text messages where a text helps most
# (a reminder the day before, a slot that will not wait).
DEFAULT_CHANNELS: dict[str, list[str]] = {
    Topic.APPOINTMENTS: [Channel.EMAIL, Channel.SMS],
    Topic.CARE: [Channel.EMAIL],
    Topic.DOCUMENTS: [Channel.EMAIL],
    Topic.MESSAGES: [Channel.EMAIL],
    Topic.WAITLIST: [Channel.EMAIL, Channel.SMS],
    Topic.ORDERS: [Channel.EMAIL, Channel.SMS],
}

# What the weekly cap may drop: prevention and news campaigns (PRODUCT.md: "cap prevention and
# marketing... but never drop a service message the client needs"). Every other kind is a
# service message: appointment messages, care reminders (vaccinations, antiparasitics,
# check-ups, renewals are clinically needed), documents, messages and waiting-list offers the
# client asked for. Those are never capped; several at once are merged (MERGEABLE_KINDS).
CAPPED_KINDS = frozenset({Kind.CAMPAIGN})

# "Something is waiting in your space": several of one kind to one client within minutes go as
# one message ("3 new documents..."), each row kept and marked *sent together*.
MERGEABLE_KINDS = frozenset({Kind.DOCUMENT_AVAILABLE, Kind.NEW_MESSAGE})


class Status(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    # Decided not to send (no consent, no address, the weekly cap...): the reason says why.
    # Not "held": a held message is one still *scheduled* for later.
    SUPPRESSED = "suppressed", _("Not sent")
    MERGED = "merged", _("Sent together with another")


PENDING = (Status.SCHEDULED, Status.SENDING)
FINAL = (
    Status.SENT,
    Status.DELIVERED,
    Status.FAILED,
    Status.CANCELLED,
    Status.SUPPRESSED,
    Status.MERGED,
)


class NotificationQuerySet(models.QuerySet["Notification"]):
    def pending(self) -> "NotificationQuerySet":
        return self.filter(status=Status.SCHEDULED)

    def for_subject(self, subject_type: str, subject_id: int) -> "NotificationQuerySet":
        return self.filter(subject_type=subject_type, subject_id=subject_id)

    def sms_sent_between(self, start, end) -> "NotificationQuerySet":
        return self.filter(
            channel=Channel.SMS,
            status__in=(Status.SENT, Status.DELIVERED),
            sent_at__gte=start,
            sent_at__lt=end,
        )


class Notification(models.Model):
    """One message to one person on one channel."""

    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("client")
    )
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    purpose = models.CharField(
        _("purpose"), max_length=16, choices=Purpose.choices, default=Purpose.SERVICE
    )
    urgent = models.BooleanField(_("urgent"), default=False)
    language = models.CharField(max_length=8, default="fr")
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("message"))
    html = models.TextField(blank=True)
    ics = models.TextField(blank=True)
    segments = models.PositiveSmallIntegerField(_("SMS parts"), default=0)
    scheduled_at = models.DateTimeField(_("scheduled for"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SCHEDULED
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    provider_id = models.CharField(_("provider id"), max_length=120, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    # What the message is about, asked again just before sending (notifications.contracts).
    subject_type = models.CharField(max_length=32, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    subject_version = models.IntegerField(default=0)
    # Messages that replace each other (a care reminder's key from records).
    group_key = models.CharField(max_length=160, blank=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Who holds a *sending* row (a fresh token per claim): every later transition is made
    # WHERE claim_token matches, so a worker whose claim recovery took over writes nothing.
    claim_token = models.CharField(max_length=32, blank=True, default="")
    # Set (with the attempt counted and the lease restarted) just before the provider is
    # called: a *sending* row without it never reached a provider, so recovery sends it again
    # whatever its channel; with it, the message may have left (see services.recover).
    handed_over_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        ordering = ["-scheduled_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "scheduled_at"], name="notif_status_due"),
            models.Index(fields=["client", "-scheduled_at"], name="notif_client_recent"),
            models.Index(fields=["subject_type", "subject_id"], name="notif_subject"),
            models.Index(fields=["channel", "sent_at"], name="notif_channel_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} → {self.recipient} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


class NotificationEvent(models.Model):
    """A message's history: each change of status, with why."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.status}"


class Preference(models.Model):
    """A client's choices. Marketing is opt-in (never pre-ticked); service messages opt-out."""

    client = models.OneToOneField(
        Client, on_delete=models.CASCADE, related_name="notification_preference"
    )
    channels = models.JSONField(default=dict)  # topic -> ["email", "sms"]
    marketing_opt_in = models.BooleanField(_("news and prevention campaigns"), default=False)
    service_opt_out = models.BooleanField(_("no reminders at all"), default=False)
    phone_verified = models.BooleanField(_("mobile number checked"), default=False)
    # The number (E.164) the tick was given for: a client whose number changed since is not
    # checked any more (services.phone_checked). Blank on a tick written without a number
    # (migration 0007 filled in the existing ones).
    verified_phone = models.CharField(max_length=20, blank=True)
    # Unticked by the e-mail provider's hard bounce or spam complaint (notifications.anymail_hooks);
    # ticked again when the client confirms or changes their address.
    email_valid = models.BooleanField(_("e-mail address valid"), default=True)
    email_invalid_reason = models.CharField(
        _("why the e-mail address is invalid"), max_length=300, blank=True
    )
    email_invalid_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"preferences of {self.client_id}"

    def channels_for(self, topic: str) -> list[str]:
        chosen = self.channels.get(topic)
        return list(DEFAULT_CHANNELS.get(topic, [Channel.EMAIL]) if chosen is None else chosen)


class PreferenceChangeQuerySet(models.QuerySet["PreferenceChange"]):
    def update(self, **kwargs):
        raise PermissionError("The consent journal is append-only.")

    def delete(self):
        raise PermissionError("The consent journal is append-only.")


class PreferenceChange(models.Model):
    """The consent journal: who changed what, when and how. Append-only (proof of consent)."""

    class How(models.TextChoices):
        CLIENT_PAGE = "client_page", _("preferences page")
        STAFF = "staff", _("by the clinic")
        UNSUBSCRIBE_LINK = "unsubscribe_link", _("unsubscribe link")
        SMS_REPLY = "sms_reply", _("text message reply (STOP)")
        SYSTEM = "system", _("automatic")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    how = models.CharField(max_length=20, choices=How.choices)
    what = models.CharField(max_length=80)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)

    objects = PreferenceChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.what}: {self.old_value} → {self.new_value}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("The consent journal is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The consent journal is append-only.")

    # The journal stores plain values ("no", "email,sms"), proof that reads the same in any
    # language; people read them translated.
    WHAT_LABELS = {
        "marketing_opt_in": _("News and campaigns"),
        "service_opt_out": _("No reminders at all"),
        "phone_verified": _("Mobile number checked"),
        "email_valid": _("E-mail address valid"),
    }
    VALUE_LABELS = {
        "yes": _("yes"),
        "no": _("no"),
        "-": _("nothing"),
        Channel.EMAIL: Channel.EMAIL.label,
        Channel.SMS: Channel.SMS.label,
    }

    @property
    def what_label(self) -> str:
        if self.what.startswith("channels:"):
            topic = self.what.removeprefix("channels:")
            label = Topic(topic).label if topic in Topic.values else topic
            return str(_("Channels for %(topic)s") % {"topic": label})
        return str(self.WHAT_LABELS.get(self.what, self.what))

    @property
    def old_label(self) -> str:
        return self._label(self.old_value)

    @property
    def new_label(self) -> str:
        return self._label(self.new_value)

    def _label(self, value: str) -> str:
        return ", ".join(str(self.VALUE_LABELS.get(part, part)) for part in value.split(","))


class MessageTemplate(models.Model):
    """A clinic's own wording for one kind, channel and language (the default is in code)."""

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "channel", "language"], name="notif_one_template_per_slot"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.channel}/{self.language}"


class Campaign(models.Model):
    """A news or prevention e-mail from a manager, sent only to clients who opted in."""

    title = models.CharField(_("title"), max_length=120)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class InboundSms(models.Model):
    """A text message a client sent back (a reply to a reminder, "STOP", free text).

    `(provider, provider_message_id)` is unique, so a provider retrying its webhook, or a
    replayed request, finds the row instead of acting twice. The sender's number and the text
    are personal data: deleted when the client's data is erased (privacy.erase_client); a row
    from a number we do not know holds no client and is deleted after 30 days
    (replies.UNKNOWN_KEPT).
    """

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", pgettext_lazy("text message reply", "Appointment confirmed")
        ALREADY = "already", _("Already confirmed")
        CANCELLED = "cancelled", pgettext_lazy("text message reply", "Appointment cancelled")
        TOO_LATE = "too_late", _("Too late to cancel: told to call")
        GONE = "gone", _("Appointment moved or cancelled meanwhile")
        STOP_MARKETING = "stop_marketing", _("STOP: campaigns off")
        STOP_ALL = "stop_all", _("STOP again: no reminders at all")
        MESSAGE = "message", _("Passed to the clinic as a message")
        UNKNOWN_NUMBER = "unknown_number", _("Unknown number: no answer")
        EMPTY = "empty", _("Nothing readable: no answer")

    provider = models.CharField(_("provider"), max_length=16)
    provider_message_id = models.CharField(_("provider id"), max_length=120)
    from_number = models.CharField(_("from"), max_length=20)
    text = models.TextField(_("text"), max_length=1600)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    client = models.ForeignKey(
        Client,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inbound_sms",
        verbose_name=_("client"),
    )
    # The message it answers (the latest that asked for an answer), and our answer to it.
    notification = models.ForeignKey(
        Notification, on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    answer = models.ForeignKey(
        Notification, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("text message received")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"], name="notif_inbound_once"
            )
        ]
        indexes = [models.Index(fields=["client", "-received_at"], name="notif_inbound_client")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_message_id} ({self.outcome})"


class VerificationCode(models.Model):
    """A one-time code sent to prove a number or an address is someone's (notifications.codes).

    One row per (client, purpose): a new code replaces the previous one on the same row, so
    the throttles (sends and typed codes in the last hour, the lock) hold whatever the target.
    The code itself is never stored: only its HMAC under SECRET_KEY, bound to the row's client,
    purpose and target.
    """

    class Purpose(models.TextChoices):
        PHONE = "phone", _("Mobile number")
        LINK_RECORD = "link-record", _("Link to a client record")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="verification_codes")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    target = models.CharField(max_length=254)  # E.164 number or e-mail address
    code_hash = models.CharField(max_length=64, blank=True)  # "" once used
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # wrong tries on the current code
    sends = models.PositiveIntegerField(default=0)  # codes sent, ever
    last_sent_at = models.DateTimeField(null=True, blank=True)
    # When codes were sent and typed within the last hour (ISO instants): rolling windows for
    # the back-off, the hourly send limit and the lock after too many typed codes.
    sent_log = models.JSONField(default=list)
    typed_log = models.JSONField(default=list)
    locked_until = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "purpose"], name="notif_one_code_per_purpose")
        ]

    def __str__(self) -> str:
        return f"code {self.purpose} for {self.client_id}"
