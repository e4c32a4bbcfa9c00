"""The waitlist: who waits for which slot, slots that were released, offers sent to waiters.

An ``Entry`` is a client's wish ("a consultation for Filou, mornings, before the 20th").
A ``Release`` is a stretch of a practitioner's time that became free (a cancellation, the old
time of a move, or a staff "offer this slot"); it is offered in waves of ``Offer`` rows, one per
entry, and the first claim books it through ``booking.services.book`` (never a direct insert).
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from booking.models import Appointment, Practitioner, Service
from portal.lib.links import make_token
from portal.models import Client, Site
from records.models import Patient

OFFER_LINK_PURPOSE = "waitlist.offer"


class Times(models.IntegerChoices):
    """Parts of the day, as bits: an entry wants any combination of them."""

    MORNING = 1, _("Mornings (before noon)")
    AFTERNOON = 2, _("Afternoons (noon to 5 pm)")
    EVENING = 4, _("Evenings (from 5 pm)")


ALL_TIMES = 7
ALL_WEEKDAYS = 127  # bit n = weekday n (Monday = 0)
AFTERNOON_FROM = 12
EVENING_FROM = 17


def time_bit(hour: int) -> int:
    """The part-of-day bit of a local hour."""
    if hour < AFTERNOON_FROM:
        return Times.MORNING
    if hour < EVENING_FROM:
        return Times.AFTERNOON
    return Times.EVENING


class EntryQuerySet(models.QuerySet["Entry"]):
    def waiting(self) -> EntryQuerySet:
        return self.filter(status=Entry.Status.WAITING)

    def with_related(self) -> EntryQuerySet:
        return self.select_related("client", "patient", "service", "practitioner", "appointment")

    def of_client(self, client: Client) -> EntryQuerySet:
        return self.filter(client=client).with_related().order_by("-created_at", "-pk")


class Entry(models.Model):
    """A client waiting for a slot for one of their animals."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        BOOKED = "booked", _("Booked")
        LEFT = "left", _("Left the list")
        EXPIRED = "expired", _("Expired")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="waitlist_entries")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Local dates in the clinic's zone, both included.
    earliest = models.DateField(pgettext_lazy("waitlist window", "from"))
    latest = models.DateField(_("until (included)"))
    times = models.PositiveSmallIntegerField(_("times of day"), default=ALL_TIMES)
    weekdays = models.PositiveSmallIntegerField(_("days"), default=ALL_WEEKDAYS)
    # "I'd take an earlier slot": booking an offer cancels this appointment.
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    booked = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = EntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        ordering = ["created_at", "pk"]
        indexes = [
            # The matching query walks a service's waiting entries in sign-up order and stops
            # at the first few that fit (ranking "signup"); the window is checked on the way.
            models.Index(fields=["service", "status", "created_at"], name="waitlist_entry_queue"),
            models.Index(fields=["status", "latest"], name="waitlist_entry_expiry"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(earliest__lte=models.F("latest")), name="waitlist_entry_window"
            ),
            models.CheckConstraint(
                condition=models.Q(times__gte=1, times__lte=ALL_TIMES), name="waitlist_entry_times"
            ),
            models.CheckConstraint(
                condition=models.Q(weekdays__gte=1, weekdays__lte=ALL_WEEKDAYS),
                name="waitlist_entry_weekdays",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} — {self.service} ({self.status})"

    def is_open(self, today: date) -> bool:
        return self.status == self.Status.WAITING and self.latest >= today

    def time_labels(self) -> list[str]:
        return [str(label) for value, label in Times.choices if self.times & value]

    def weekday_labels(self) -> list[str]:
        """Days in the middle of a line: Django's own names ("lundi" in French, "Monday" in
        English), not booking's headings ("Lundi")."""
        if self.weekdays == ALL_WEEKDAYS:
            return []
        return [str(WEEKDAYS[value]) for value in range(7) if self.weekdays & (1 << value)]


class ReleaseQuerySet(models.QuerySet["Release"]):
    def with_related(self) -> ReleaseQuerySet:
        return self.select_related("service", "practitioner", "appointment")


class Release(models.Model):
    """A slot that became free and may be offered (or, HELD, must not be)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Being offered")
        CLAIMED = "claimed", _("Taken from the waitlist")
        TAKEN = "taken", _("Booked otherwise")
        LAPSED = "lapsed", _("Not taken in time")
        WITHDRAWN = "withdrawn", _("Not offered")
        HELD = "held", _("Kept free (don't offer)")
        UNBOOKABLE = "unbookable", _("Cannot be booked as freed")

    class Source(models.TextChoices):
        CANCELLED = "cancelled", _("Cancellation")
        MOVED = "moved", _("Moved appointment")
        STAFF = "staff", _("Offered by the clinic")
        HOLD = "hold", _("Kept free by the clinic")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(Practitioner, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"))
    source = models.CharField(max_length=10, choices=Source.choices)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    wave = models.PositiveSmallIntegerField(default=0)
    # Only bookable by phone (phone-only hours): no link is sent, staff book it for a client.
    phone_only = models.BooleanField(_("by phone only"), default=False)
    # What was freed, when booking accepts a later start inside it (an off-grid 09:20 → 09:30).
    freed_at = models.DateTimeField(_("freed from"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    claimed = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("released slot")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["practitioner", "starts_at"], name="waitlist_release_pract"),
            models.Index(fields=["created_at"], name="waitlist_release_created"),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} {self.starts_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Offer(models.Model):
    """One released slot offered to one entry; its link is single use."""

    class Status(models.TextChoices):
        SENT = "sent", pgettext_lazy("offer", "Sent")
        CLAIMED = "claimed", _("Taken")
        MISSED = "missed", _("Taken by someone else")
        ENDED = "ended", _("No longer available")

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="offers")
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="offers")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    wave = models.PositiveSmallIntegerField(default=1)
    manual = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENT)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("offer")
        ordering = ["release", "wave", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "entry"], name="waitlist_one_offer_per_entry"
            )
        ]
        indexes = [models.Index(fields=["client", "sent_at"], name="waitlist_offer_client")]

    def __str__(self) -> str:
        return f"offer {self.pk} → {self.client_id}"

    def token(self) -> str:
        """Signed, bound to this offer, its client and the slot's start; dies at the notice."""
        payload = {
            "o": self.pk,
            "c": self.client_id,
            "r": self.release_id,
            "t": int(self.release.starts_at.timestamp()),
        }
        return make_token(OFFER_LINK_PURPOSE, payload, expires_at=self.expires_at)

    def claim_url(self) -> str:
        path = reverse("waitlist:offer", args=[self.token()])
        return settings.ACCUEIL_BASE_URL.rstrip("/") + path


def local_slot(starts_at: datetime, tz) -> tuple[date, int, int]:
    """(local date, weekday bit, part-of-day bit) of an instant in the clinic's zone."""
    local = starts_at.astimezone(tz)
    return local.date(), 1 << local.weekday(), time_bit(local.hour)
