"""Closures and time off: who may enter them, the appointments they cover, and what to do with
those appointments.

A closure (the whole clinic, local dates) or a time off (one practitioner, two instants) makes
its time unbookable, but the appointments already booked inside it stay booked until staff
decide: cancel them (the client gets the clinic's cancellation notice) or move each one. Before
an absence is saved the affected appointments are listed; after, the agenda flags the ones
still booked inside an absence as "to move".

Cancelling here is ``services.cancel`` by the clinic with ``release=False``: the freed time is
NOT offered to the waitlist. It lies inside the absence, so the engine would refuse to book it
and an offer would be a promise the clinic cannot keep.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import events, services
from booking import slots as slot_reader
from booking.models import Appointment, BookingRules, Closure, Practitioner, TimeOff
from portal.models import Clinic, Role, User

Absence = Closure | TimeOff


# --- who may enter what ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rights:
    """What one staff member may enter on the hours page."""

    hours: bool  # weekly hours and extra openings: the manager only
    closures: bool
    time_off_for: frozenset[int] = field(default_factory=frozenset)  # practitioner ids

    @property
    def any(self) -> bool:
        return self.hours or self.closures or bool(self.time_off_for)

    def may_edit(self, absence: Absence) -> bool:
        if isinstance(absence, Closure):
            return self.closures
        return absence.practitioner_id in self.time_off_for


def rights_of(user: User, rules: BookingRules | None = None) -> Rights:
    """The manager enters everything; reception and vets what the booking rules allow:
    vets their own time off, reception anyone's, and clinic closures."""
    rules = rules or BookingRules.current()
    active = Practitioner.objects.active()
    if user.role == Role.MANAGER:
        return Rights(True, True, frozenset(active.values_list("pk", flat=True)))
    time_off: Iterable[int] = ()
    if rules.team_enters_time_off:
        if user.role == Role.RECEPTION:
            time_off = active.values_list("pk", flat=True)
        elif user.role == Role.VET:
            time_off = active.filter(user=user).values_list("pk", flat=True)
    closures = user.role == Role.RECEPTION and rules.reception_enters_closures
    return Rights(False, closures, frozenset(time_off))


# --- the time an absence covers -------------------------------------------------------------------


def bounds(absence: Absence, tz: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """The absence as ``[start, end)`` instants; a closure's dates are whole local days."""
    if isinstance(absence, TimeOff):
        return absence.start, absence.end
    tz = tz or Clinic.current().tz
    return (
        datetime.combine(absence.start, time(0), tzinfo=tz),
        datetime.combine(absence.end + timedelta(days=1), time(0), tzinfo=tz),
    )


def affected(absence: Absence, *, now: datetime | None = None) -> QuerySet[Appointment]:
    """Booked appointments not yet started that the absence covers, even in part.

    One already under way is left alone: staff handle it in the room, not with a notice.
    """
    now = now or timezone.now()
    start, end = bounds(absence)
    found = Appointment.objects.filter(
        status=Appointment.Status.BOOKED,
        starts_at__gte=now,
        starts_at__lt=end,
        ends_at__gt=start,
    )
    if isinstance(absence, TimeOff):
        found = found.filter(practitioner_id=absence.practitioner_id)
    return found.with_related().order_by("starts_at", "pk")


def default_reason(absence: Absence) -> str:
    """The cancellation reason recorded for the team: the absence's own, else what it is."""
    own = absence.label if isinstance(absence, Closure) else absence.reason
    if own:
        return own
    return _("Clinic closed") if isinstance(absence, Closure) else _("Practitioner absent")


# --- writes ---------------------------------------------------------------------------------------


@dataclass
class Entered:
    absence: Absence
    cancelled: list[Appointment]
    still_booked: list[Appointment]


def enter(
    absence: Absence,
    *,
    cancel_ids: Sequence[int] = (),
    by_user: User,
    now: datetime | None = None,
) -> Entered:
    """Save a closure or a time off and cancel the listed appointments it covers, together.

    ``cancel_ids`` are the appointments staff saw listed and chose to cancel: one booked since
    the list was shown is not cancelled behind their back, it stays booked and is reported
    (the agenda flags it "to move"). One transaction: the absence is never saved with half of
    the chosen cancellations. Each appointment row is locked by ``cancel_for_absence``.
    """
    now = now or timezone.now()
    with transaction.atomic():
        absence.save()
        cancelled = _cancel(
            affected(absence, now=now).filter(pk__in=list(cancel_ids)), absence, by_user, now
        )
        transaction.on_commit(slot_reader.invalidate, robust=True)
        events.agenda_days_changed(days_of(absence))  # the shading, on every grid showing it
    return Entered(absence, cancelled, list(affected(absence, now=now)))


def days_of(absence: Absence, *, at_most: int = 62) -> list[date]:
    """The local days an absence covers; of a long one, its first `at_most` (a grid open on a
    later day of it shows the shading on its next reload)."""
    tz = Clinic.current().tz
    start, end = bounds(absence, tz)
    first, last = (
        start.astimezone(tz).date(),
        (end - timedelta(microseconds=1)).astimezone(tz).date(),
    )
    return [first + timedelta(days=i) for i in range(min((last - first).days + 1, at_most))]


def cancel_affected(
    absence: Absence,
    *,
    by_user: User,
    ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> list[Appointment]:
    """Cancel the appointments still booked inside a saved absence (or the listed ones)."""
    now = now or timezone.now()
    with transaction.atomic():
        found = affected(absence, now=now)
        if ids is not None:
            found = found.filter(pk__in=list(ids))
        return _cancel(found, absence, by_user, now)


def _cancel(
    found: QuerySet[Appointment], absence: Absence, by_user: User, now: datetime
) -> list[Appointment]:
    reason = default_reason(absence)
    done = []
    for appointment in found:
        try:
            done.append(cancel_for_absence(appointment, reason=reason, by_user=by_user, now=now))
        except services.AlreadyDone:
            continue  # cancelled or marked meanwhile: nothing left to do
    return done


def cancel_for_absence(
    appointment: Appointment, *, reason: str, by_user: User, now: datetime
) -> Appointment:
    """Cancel by the clinic, the client told, the freed time kept from the waitlist.

    ``services.cancel`` locks the row and plans the clinic-cancelled notice in the transaction;
    ``release=False`` because the time lies inside the absence: nobody could book it.
    """
    return services.cancel(
        appointment, by_user=by_user, by_clinic=True, reason=reason, now=now, release=False
    )


# --- reads for the agenda -------------------------------------------------------------------------


@dataclass(frozen=True)
class DayAbsences:
    """What the agenda shows for one local day: closures (a banner) and time off (per vet)."""

    closures: list[Closure]
    time_off: list[TimeOff]

    def __bool__(self) -> bool:
        return bool(self.closures or self.time_off)

    def covers(self, appointment: Appointment, tz: ZoneInfo) -> bool:
        """Whether a booked appointment lies (even in part) inside one of these absences."""
        if appointment.status != Appointment.Status.BOOKED:
            return False
        if self.closures:
            return True
        return any(
            t.practitioner_id == appointment.practitioner_id
            and t.start < appointment.ends_at
            and appointment.starts_at < t.end
            for t in self.time_off
        )


def absences_by_day(
    days: Sequence[date], tz: ZoneInfo, *, practitioner: Practitioner | None = None
) -> dict[date, DayAbsences]:
    """Closures and time off meeting each day: two queries whatever the range."""
    first, last = days[0], days[-1]
    lo = datetime.combine(first, time(0), tzinfo=tz)
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    closures = list(Closure.objects.filter(start__lte=last, end__gte=first))
    time_off_qs = TimeOff.objects.filter(start__lt=hi, end__gt=lo).select_related("practitioner")
    if practitioner is not None:
        time_off_qs = time_off_qs.filter(Q(practitioner=practitioner))
    time_off = list(time_off_qs.order_by("start", "pk"))
    out = {}
    for d in days:
        d_lo = datetime.combine(d, time(0), tzinfo=tz)
        d_hi = datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz)
        out[d] = DayAbsences(
            [c for c in closures if c.start <= d <= c.end],
            [t for t in time_off if t.start < d_hi and d_lo < t.end],
        )
    return out
