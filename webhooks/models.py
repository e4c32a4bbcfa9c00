"""Outbound webhooks: the manager's endpoints, and one outbox row per (endpoint, event).

A `Delivery` is written in the transaction of the write it reports (booking's, messaging's), so
it commits or rolls back with it; a worker sends it later, signed (Standard Webhooks), and each
try is an `Attempt`. The body is stored as the exact bytes that are signed and sent: a retry or a
replay sends the same bytes under the same `webhook-id`, so a receiver can drop duplicates.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Event(models.TextChoices):
    APPOINTMENT_BOOKED = "appointment.booked", _("Appointment booked")
    APPOINTMENT_MOVED = "appointment.moved", _("Appointment moved")
    APPOINTMENT_CANCELLED = "appointment.cancelled", _("Appointment cancelled")
    APPOINTMENT_CONFIRMED = "appointment.confirmed", _("Appointment confirmed by the client")
    APPOINTMENT_NO_SHOW = "appointment.no_show", _("Client did not come (no-show)")
    SLOT_RELEASED = "slot.released", _("Slot released")
    MESSAGE_URGENT = "message.urgent", _("Urgent message from a client")


class Endpoint(models.Model):
    """A receiver the manager registered. Its signing secret is encrypted at rest (the master
    keys, portal/lib/crypto.py) and shown once, when the endpoint is made."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    secret_key = models.CharField(max_length=200)  # the wrapped data key
    secret_blob = models.BinaryField()
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def event_labels(self) -> list[str]:
        return [str(Event(value).label) for value in self.events if value in Event.values]


class Status(models.TextChoices):
    PENDING = "pending", pgettext_lazy("webhook delivery", "Pending")
    SENDING = "sending", pgettext_lazy("webhook delivery", "Sending")
    DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
    RETRYING = "retrying", pgettext_lazy("webhook delivery", "Retrying")
    FAILED = "failed", pgettext_lazy("webhook delivery", "Failed")


WAITING = (Status.PENDING, Status.RETRYING)


class Delivery(models.Model):
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=64)  # webhook-id: the same on retries and replays
    event_type = models.CharField(max_length=40, choices=Event.choices)
    body = models.TextField()  # the JSON sent, byte for byte
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhooks_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhooks_endpoint_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return (
            f"{self.delivery_id} at {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
        )

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
