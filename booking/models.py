"""Booking: practitioners, services, opening hours, closures, time off and appointments.

Opening hours are wall-clock times in the clinic's zone (how staff think about them); every
instant (appointments, time off) is stored in UTC. `booking.availability` turns these rows into
free slots; `booking.services` is the only place that writes appointments.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.models import Client, Site
from records.models import Patient, Species


class Weekday(models.IntegerChoices):
    MONDAY = 0, pgettext_lazy("weekday, as a heading", "Monday")
    TUESDAY = 1, pgettext_lazy("weekday, as a heading", "Tuesday")
    WEDNESDAY = 2, pgettext_lazy("weekday, as a heading", "Wednesday")
    THURSDAY = 3, pgettext_lazy("weekday, as a heading", "Thursday")
    FRIDAY = 4, pgettext_lazy("weekday, as a heading", "Friday")
    SATURDAY = 5, pgettext_lazy("weekday, as a heading", "Saturday")
    SUNDAY = 6, pgettext_lazy("weekday, as a heading", "Sunday")


class BookingRules(models.Model):
    """The clinic's booking policy: one row, edited by a manager."""

    horizon_days = models.PositiveSmallIntegerField(
        _("how far ahead clients may book (days)"), default=60
    )
    min_notice_minutes = models.PositiveIntegerField(
        _("minimum notice before a slot (minutes)"), default=120
    )
    slot_step_minutes = models.PositiveSmallIntegerField(
        _("slot step (minutes)"),
        default=15,
        help_text=_("Slots start every so many minutes within opening hours."),
    )
    cutoff_hours = models.PositiveSmallIntegerField(
        _("clients may cancel or move until (hours before)"), default=24
    )
    max_upcoming = models.PositiveSmallIntegerField(
        _("maximum upcoming appointments per client"), default=5
    )
    # Who besides the manager may enter absences: vets their own time off, reception anyone's
    # time off; closures of the whole clinic by reception. A small clinic lets the team do it.
    team_enters_time_off = models.BooleanField(
        _("vets and reception may enter time off"),
        default=True,
        help_text=_("Vets enter their own time off; reception enters anyone's."),
    )
    reception_enters_closures = models.BooleanField(
        _("reception may enter clinic closures"), default=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    CACHE_KEY = "booking:rules:v1"

    class Meta:
        verbose_name = _("booking rules")
        verbose_name_plural = _("booking rules")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(slot_step_minutes__gte=5), name="booking_rules_step_min"
            ),
            models.CheckConstraint(
                condition=models.Q(horizon_days__gte=1), name="booking_rules_horizon_min"
            ),
            models.CheckConstraint(
                condition=models.Q(max_upcoming__gte=1), name="booking_rules_upcoming_min"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Booking rules"))

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        cache.delete(self.CACHE_KEY)

    @classmethod
    def current(cls) -> BookingRules:
        """The rules row, cached: every slot page reads it."""
        rules = cache.get(cls.CACHE_KEY)
        if rules is None:
            rules = cls.objects.order_by("pk").first() or cls.objects.create()
            cache.set(cls.CACHE_KEY, rules, 300)
        return rules

    @property
    def horizon(self) -> timedelta:
        return timedelta(days=self.horizon_days)

    @property
    def min_notice(self) -> timedelta:
        return timedelta(minutes=self.min_notice_minutes)

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.slot_step_minutes)

    @property
    def cutoff(self) -> timedelta:
        return timedelta(hours=self.cutoff_hours)


class PractitionerQuerySet(models.QuerySet["Practitioner"]):
    def active(self) -> PractitionerQuerySet:
        return self.filter(is_active=True)


class Practitioner(models.Model):
    """Someone clients book with (a vet), working at one site."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="practitioner",
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="practitioners")
    name = models.CharField(_("name"), max_length=150)
    is_active = models.BooleanField(_("active"), default=True)

    objects = PractitionerQuerySet.as_manager()

    class Meta:
        verbose_name = _("practitioner")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class ServiceQuerySet(models.QuerySet["Service"]):
    def active(self) -> ServiceQuerySet:
        return self.filter(is_active=True)

    def online(self) -> ServiceQuerySet:
        return self.active().filter(online=True)

    def for_species(self, species: str) -> ServiceQuerySet:
        return self.filter(models.Q(species="") | models.Q(species=species))


class Service(models.Model):
    """What a client books: a duration, a trailing buffer, who performs it."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="services")
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"))
    buffer_minutes = models.PositiveSmallIntegerField(
        _("buffer after (minutes)"), default=0, help_text=_("Clean-up and notes time.")
    )
    online = models.BooleanField(_("clients may book it online"), default=True)
    new_clients_allowed = models.BooleanField(
        _("new clients may book it"),
        default=True,
        help_text=_("Unticked: only clients who have already come may book it online."),
    )
    first_visit_minutes = models.PositiveSmallIntegerField(
        _("first visit (minutes)"),
        null=True,
        blank=True,
        help_text=_("A client's first visit takes this long; empty: the usual duration."),
    )
    species = models.CharField(
        _("only for species"), max_length=16, choices=Species.choices, blank=True
    )
    practitioners = models.ManyToManyField(
        Practitioner, related_name="services", verbose_name=_("practitioners")
    )
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(default=0)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("service")
        ordering = ["order", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=5), name="booking_service_duration"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def buffer(self) -> timedelta:
        return timedelta(minutes=self.buffer_minutes)

    @property
    def first_visit_length(self) -> int:
        """Minutes a client's first visit takes (what a newcomer books)."""
        return max(self.first_visit_minutes or 0, self.duration_minutes)

    def duration_for(self, *, first_visit: bool) -> timedelta:
        return timedelta(minutes=self.first_visit_length) if first_visit else self.duration


class WeeklyHours(models.Model):
    """A recurring opening range of a practitioner, in the clinic's wall-clock time."""

    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="weekly_hours"
    )
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("to"))
    online = models.BooleanField(
        _("bookable online"),
        default=True,
        help_text=_("Unticked: phone or urgent bookings only."),
    )

    class Meta:
        verbose_name = _("weekly hours")
        verbose_name_plural = _("weekly hours")
        ordering = ["practitioner", "weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")), name="booking_hours_start_end"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class ExtraOpening(models.Model):
    """A one-off opening of a practitioner on a date (a closure still wins)."""

    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="extra_openings"
    )
    date = models.DateField(_("date"))
    start = models.TimeField(_("from"))
    end = models.TimeField(_("to"))
    online = models.BooleanField(_("bookable online"), default=True)

    class Meta:
        verbose_name = _("extra opening")
        ordering = ["date", "start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")), name="booking_extra_start_end"
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.start:%H:%M}-{self.end:%H:%M}"


class Closure(models.Model):
    """A clinic-wide closure (public holiday, annual closure), inclusive local dates."""

    start = models.DateField(_("from"))
    end = models.DateField(_("to (included)"))
    label = models.CharField(pgettext_lazy("absence", "reason"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("closure")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lte=models.F("end")), name="booking_closure_dates"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.start}-{self.end}"


class TimeOff(models.Model):
    """A practitioner's absence between two instants."""

    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="time_off"
    )
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("to"))
    reason = models.CharField(pgettext_lazy("absence", "reason"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("time off")
        verbose_name_plural = _("time off")
        ordering = ["start"]
        indexes = [models.Index(fields=["practitioner", "end"], name="booking_timeoff_end")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")), name="booking_timeoff_dates"
            )
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} {self.start:%Y-%m-%d}"


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def active(self) -> AppointmentQuerySet:
        return self.exclude(status=Appointment.Status.CANCELLED)

    def with_related(self) -> AppointmentQuerySet:
        return self.select_related("patient", "service", "practitioner", "site", "client")

    def upcoming_for(self, client: Client, now: datetime) -> AppointmentQuerySet:
        return (
            self.filter(client=client, status=Appointment.Status.BOOKED, starts_at__gte=now)
            .with_related()
            .order_by("starts_at", "pk")
        )

    def past_for(self, client: Client, now: datetime) -> AppointmentQuerySet:
        return (
            self.filter(client=client, starts_at__lt=now)
            .with_related()
            .order_by("-starts_at", "-pk")
        )

    def blocking(self, start: datetime, end: datetime) -> AppointmentQuerySet:
        """Active appointments whose blocked time (buffer included) meets ``[start, end)``."""
        return self.active().filter(starts_at__lt=end, blocks_until__gt=start)


class Appointment(models.Model):
    """A booked slot. ``version`` grows on every move and cancellation, so that reminders and
    one-tap links made for an older version are recognised as stale.

    ``blocks_until`` is the end plus the service's buffer at booking time: the database refuses
    two active appointments of one practitioner whose ``[starts_at, blocks_until)`` meet (an
    exclusion constraint on PostgreSQL, see migration 0002).
    """

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        ATTENDED = "attended", _("Attended")
        NO_SHOW = "no_show", _("No-show")
        CANCELLED = "cancelled", _("Cancelled")

    class Channel(models.TextChoices):
        ONLINE = "online", _("Online")
        STAFF = "staff", _("By the clinic")

    class ConfirmedVia(models.TextChoices):
        """How the client's "I'll be there" reached us (the agenda shows "confirmed (SMS)")."""

        LINK = "link", _("link")
        SMS = "sms", _("SMS")
        STAFF = "staff", _("by the clinic")
        API = "api", _("API")

    class Stage(models.TextChoices):
        """Where the appointment stands for reception, from the status and the day's marks."""

        BOOKED = "booked", _("Booked")
        CONFIRMED = "confirmed", pgettext_lazy("appointment stage", "Confirmed")
        ARRIVED = "arrived", pgettext_lazy("appointment stage", "Arrived")
        CONSULTATION = "consultation", pgettext_lazy("appointment stage", "In consultation")
        ATTENDED = "attended", _("Attended")
        NO_SHOW = "no_show", _("No-show")
        CANCELLED = "cancelled", _("Cancelled")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="appointments"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"))
    blocks_until = models.DateTimeField()
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.BOOKED
    )
    version = models.PositiveIntegerField(default=1)
    reason = models.CharField(_("reason for the visit"), max_length=300, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.ONLINE)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The booking form's one-time key: a double submit finds the first appointment.
    request_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_via = models.CharField(
        _("confirmed by"), max_length=8, choices=ConfirmedVia.choices, blank=True
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True)
    cancelled_by_clinic = models.BooleanField(default=False)
    outcome_at = models.DateTimeField(null=True, blank=True)
    # The day's marks by reception: in the waiting room, then taken in by the vet.
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    consultation_at = models.DateTimeField(_("in consultation since"), null=True, blank=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment")
        ordering = ["starts_at", "pk"]
        indexes = [
            models.Index(fields=["practitioner", "starts_at"], name="booking_appt_pract_start"),
            models.Index(fields=["client", "starts_at"], name="booking_appt_client_start"),
            models.Index(fields=["starts_at"], name="booking_appt_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at"))
                & models.Q(ends_at__lte=models.F("blocks_until")),
                name="booking_appt_times",
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status != self.Status.CANCELLED

    @property
    def stage(self) -> str:
        """booked, confirmed, arrived, consultation, attended, no_show or cancelled: the
        outcome wins over the day's marks, which win over the client's confirmation."""
        if self.status != self.Status.BOOKED:
            return self.status
        if self.consultation_at is not None:
            return self.Stage.CONSULTATION
        if self.arrived_at is not None:
            return self.Stage.ARRIVED
        if self.confirmed_at is not None:
            return self.Stage.CONFIRMED
        return self.Stage.BOOKED

    @property
    def stage_label(self) -> str:
        if self.stage == self.Stage.CONFIRMED and self.confirmed_via == self.ConfirmedVia.SMS:
            return str(_("Confirmed (SMS)"))
        return self.Stage(self.stage).label

    def client_may_change(self, now: datetime, cutoff: timedelta) -> bool:
        """Whether the client may still cancel or move it themselves (else: phone)."""
        return self.status == self.Status.BOOKED and now < self.starts_at - cutoff


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_days() -> int:
    """How long a calendar feed lives before it must be renewed (ACCUEIL_FEED_DAYS, 180)."""
    return int(getattr(settings, "BOOKING_FEED_DAYS", 180))


def _feed_expiry() -> datetime:
    return timezone.now() + timedelta(days=feed_days())


class CalendarFeedQuerySet(models.QuerySet["CalendarFeed"]):
    def live(self, now: datetime | None = None) -> CalendarFeedQuerySet:
        """Feeds a calendar may still read: not revoked, not expired, and their practitioner
        still working here with an active account (checked at each read, so deactivating the
        account or the practitioner stops every feed at once)."""
        return self.filter(
            revoked_at=None,
            expires_at__gt=now or timezone.now(),
            practitioner__is_active=True,
            practitioner__user__is_active=True,
        )


class CalendarFeed(models.Model):
    """A practitioner's private iCalendar feed: a secret URL, revocable, expiring.

    Only a hash of the token is kept, so the URL is shown once when it is made. Events carry
    no animal's name unless the practitioner chose so when making the feed.
    """

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    include_names = models.BooleanField(_("include animal names"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    expires_at = models.DateTimeField(default=_feed_expiry)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CalendarFeedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.practitioner} feed"

    @classmethod
    def issue(
        cls, practitioner: Practitioner, *, by=None, include_names: bool = False
    ) -> tuple[CalendarFeed, str]:
        """A new feed for `practitioner`; their live ones are revoked (one address at a time)."""
        token = secrets.token_urlsafe(32)
        now = timezone.now()
        cls.objects.filter(practitioner=practitioner, revoked_at=None).update(revoked_at=now)
        feed = cls.objects.create(
            practitioner=practitioner,
            token_hash=_hash_token(token),
            include_names=include_names,
            created_at=now,
            created_by=by,
            expires_at=now + timedelta(days=feed_days()),
        )
        return feed, token

    def renew(self, *, by) -> tuple[CalendarFeed, str]:
        """A new token with the same options; this one stops working."""
        return CalendarFeed.issue(self.practitioner, by=by, include_names=self.include_names)

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    @classmethod
    def by_token(cls, token: str) -> CalendarFeed | None:
        """The live feed behind `token`, or None (unknown, revoked, expired, or its account
        deactivated)."""
        return (
            cls.objects.live()
            .select_related("practitioner__user")  # the reader, for the access log
            .filter(token_hash=_hash_token(token))
            .first()
        )


class SlotHold(models.Model):
    """A slot kept for someone who is finishing their sign-up (the newcomer's booking).

    While `expires_at` is ahead, the slot is busy for everyone else (booking.slots adds the
    active holds to each read, outside its cache); the holder books it with the token, whose
    sha256 is all that is stored. An expired hold blocks nothing and is swept.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    blocks_until = models.DateTimeField()
    first_visit = models.BooleanField(default=True)
    expires_at = models.DateTimeField(db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["practitioner", "starts_at"], name="booking_hold_slot")]

    def __str__(self) -> str:
        return f"hold {self.starts_at:%Y-%m-%d %H:%M} until {self.expires_at:%H:%M}"
