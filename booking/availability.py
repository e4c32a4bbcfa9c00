"""Slot availability engine for Accueil.

This module is deliberately free of Django: callers translate database rows into the plain,
frozen dataclasses below, and get back plain ``Slot`` values. That keeps the rules that decide
what a client may book (opening hours, closures, time off, existing appointments and their
buffers, notice, horizon, daylight-saving transitions) testable in isolation and fast.

Conventions
-----------
* Opening hours (``WeeklyRange``, ``ExtraOpening``) are wall-clock times in the clinic zone,
  because that is how staff think about them ("open 09:00-12:00 on Mondays").
* Everything that is an instant (``TimeOff``, ``Busy``, ``now``, returned slots) is an aware
  ``datetime``; naive datetimes raise ``ValueError`` because guessing their zone is exactly how
  double bookings around DST happen. All returned datetimes are in UTC.
* Intervals are half-open: ``[start, end)``.

Daylight-saving rule
--------------------
An opening range ``start``-``end`` on local date ``D`` means: *every instant at which a clock
on the clinic wall reads a time in* ``[D start, D end)``. Concretely:

* Spring forward (Europe/Paris, 2026-03-29, 02:00 -> 03:00): wall times 02:00-02:59 never
  happen, so no instant (and hence no slot) can carry such a label. A boundary inside the gap
  is moved to the first valid instant after the gap (02:30 -> 03:00 CEST = 01:00 UTC); a range
  wholly inside the gap is empty. ``01:00-04:00`` is 2 real hours.
* Fall back (2026-10-25, 03:00 -> 02:00): wall times 02:00-02:59 happen twice and both
  occurrences are open, so ``01:00-04:00`` is 4 real hours. A boundary inside the repeated
  hour is applied to both passes: an ambiguous start opens at its first occurrence (``fold=0``)
  and ``02:30-05:00`` is open 02:30-03:00 CEST, closed 02:00-02:30 CET (the clock reads a time
  before the opening again), open from 02:30 CET; ``00:00-02:30`` is open 00:00-02:30 CEST
  *and* 02:00-02:30 CET. Such ranges thus give two UTC intervals for that day.

Slots are then generated on the UTC timeline inside each concrete interval (stepping from the
interval's start), so in the repeated hour every instant is offered exactly once and nothing is
skipped; their local labels (02:00+02:00, then 02:00+01:00) are distinct instants.

Booking rules
-------------
* A slot needs its *service duration* inside one open interval of the practitioner. The
  service's trailing buffer (clean-up, notes) may run past the end of the opening range, but the
  whole window ``[start, start + duration + service.buffer)`` must be free of existing
  appointments (each extended by its own buffer) and of time off.
* Overlapping or touching openings of one practitioner on the same day (a weekly range plus an
  extra opening, or the two halves of a range split by a DST transition) are merged first, so
  slot starts step from the merged interval's start.
* Clinic-wide closures win over everything, including one-off extra openings.
* ``start >= now + min_notice`` and ``start < now + horizon``.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "Busy",
    "Closure",
    "ExtraOpening",
    "Interval",
    "Rules",
    "Service",
    "Slot",
    "TimeOff",
    "WeeklyRange",
    "days_with_free_slots",
    "expand_hours",
    "free_slots",
    "next_free_day",
    "overlaps",
    "pick_practitioner",
    "prepare",
]

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_SAMPLE = timedelta(minutes=30)  # far shorter than the gap between two real DST transitions
_PAD = timedelta(hours=3)
_SECOND = timedelta(seconds=1)


# --------------------------------------------------------------------------- validation helpers


def _require_aware(value: datetime, name: str) -> datetime:
    """Return ``value`` in UTC, refusing naive datetimes (their zone would be a guess)."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


def _require_wall_range(start: time, end: time, what: str) -> None:
    """Opening ranges are naive wall-clock times within one day, start strictly before end."""
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError(f"{what}: opening times are wall-clock times and must be naive")
    if not start < end:
        raise ValueError(f"{what}: start {start} must be before end {end} (same day)")


# --------------------------------------------------------------------------------- input types


@dataclass(frozen=True, slots=True)
class WeeklyRange:
    """A recurring opening of one practitioner, in clinic wall-clock time.

    ``online=False`` means the range is bookable by phone/urgent only and is hidden from the
    public portal (``online_only=True``).
    """

    practitioner_id: int
    weekday: int  # 0 = Monday ... 6 = Sunday, like date.weekday()
    start: time
    end: time
    online: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0..6, got {self.weekday}")
        _require_wall_range(self.start, self.end, "WeeklyRange")


@dataclass(frozen=True, slots=True)
class ExtraOpening:
    """A one-off opening on a specific local date (does not override a closure)."""

    practitioner_id: int
    date: date
    start: time
    end: time
    online: bool = True

    def __post_init__(self) -> None:
        _require_wall_range(self.start, self.end, "ExtraOpening")


@dataclass(frozen=True, slots=True)
class Closure:
    """A clinic-wide closure, inclusive local dates (public holiday, annual closure)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"Closure end {self.end} is before start {self.start}")

    def covers(self, day: date) -> bool:
        """Whether the clinic is closed on local date ``day``."""
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class TimeOff:
    """A practitioner's absence, as real instants (aware datetimes, normalised to UTC)."""

    practitioner_id: int
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _require_aware(self.start, "TimeOff.start"))
        object.__setattr__(self, "end", _require_aware(self.end, "TimeOff.end"))
        if self.end < self.start:
            raise ValueError("TimeOff end is before start")


@dataclass(frozen=True, slots=True)
class Busy:
    """An existing active appointment; it blocks ``[start, end + buffer)``.

    The buffer is the one of the service booked for *that* appointment, so that changing a
    service's buffer later does not silently shorten the clean-up after existing bookings.
    """

    practitioner_id: int
    start: datetime
    end: datetime
    buffer: timedelta = _ZERO

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _require_aware(self.start, "Busy.start"))
        object.__setattr__(self, "end", _require_aware(self.end, "Busy.end"))
        if self.end < self.start:
            raise ValueError("Busy end is before start")
        if self.buffer < _ZERO:
            raise ValueError("Busy buffer must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """What is being booked: its duration, trailing buffer, and who may perform it."""

    duration: timedelta
    buffer: timedelta = _ZERO
    practitioner_ids: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.duration <= _ZERO:
            raise ValueError("Service duration must be positive")
        if self.buffer < _ZERO:
            raise ValueError("Service buffer must not be negative")
        object.__setattr__(self, "practitioner_ids", frozenset(self.practitioner_ids))


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """Booking policy: slot step, minimum notice before a slot, and how far ahead to offer."""

    step: timedelta = timedelta(minutes=15)
    min_notice: timedelta
    horizon: timedelta

    def __post_init__(self) -> None:
        if self.step <= _ZERO:
            raise ValueError("Rules step must be positive")
        if self.min_notice < _ZERO:
            raise ValueError("Rules min_notice must not be negative")


# -------------------------------------------------------------------------------- output types


@dataclass(frozen=True, slots=True)
class Interval:
    """A concrete half-open interval of real time, in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable start, in UTC, with every practitioner free for it (sorted by id)."""

    start: datetime
    end: datetime
    practitioner_ids: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _require_aware(self.start, "Slot.start"))
        object.__setattr__(self, "end", _require_aware(self.end, "Slot.end"))
        if not self.practitioner_ids:
            raise ValueError("Slot needs at least one practitioner")


# ------------------------------------------------------------------------------ small helpers


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Whether half-open ``[a_start, a_end)`` and ``[b_start, b_end)`` share an instant.

    Touching intervals (``a_end == b_start``) do not overlap, so back-to-back appointments are
    allowed; an empty interval overlaps nothing.
    """
    return a_start < a_end and b_start < b_end and a_start < b_end and b_start < a_end


def pick_practitioner(slot: Slot, load: Mapping[int, int]) -> int:
    """Choose who gets a "first available" booking: least loaded that day, then lowest id.

    ``load`` maps practitioner id to their number of appointments on the slot's local day;
    missing ids count as 0. Deterministic so that retries and tests agree.
    """
    if not slot.practitioner_ids:
        raise ValueError("Slot has no practitioner to pick from")
    return min(slot.practitioner_ids, key=lambda pid: (load.get(pid, 0), pid))


# ------------------------------------------------------------------------ wall clock -> UTC


def _offset_at(instant: datetime, tz: tzinfo) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    if offset is None:  # only a broken tzinfo returns no offset for an aware instant
        raise ValueError(f"time zone {tz!r} gives no UTC offset for {instant}")
    return offset


@lru_cache(maxsize=2048)
def _offset_pieces(tz: tzinfo, day: date) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """Split the real time around local ``day`` into UTC pieces with a constant UTC offset.

    The window spans both readings of local midnight at either end of the day, padded, so it
    contains every instant whose wall-clock date is ``day``. Offsets are sampled every 30
    minutes and each change is located to the second by bisection. Cached: a month view asks
    for the same day once per range.
    """
    ends = [
        datetime.combine(d, time(0), tzinfo=tz).replace(fold=f).astimezone(UTC)
        for d in (day, day + _ONE_DAY)
        for f in (0, 1)
    ]
    lo, hi = min(ends) - _PAD, max(ends) + _PAD
    bounds = [lo]
    offsets = [_offset_at(lo, tz)]
    cursor = lo
    while cursor < hi:
        nxt = min(cursor + _SAMPLE, hi)
        offset = _offset_at(nxt, tz)
        if offset != offsets[-1]:
            a, b = cursor, nxt  # offset(a) == offsets[-1] != offset(b)
            while b - a > _SECOND:
                mid = a + (b - a) / 2
                mid = mid.replace(microsecond=0)
                if mid <= a:
                    break
                if _offset_at(mid, tz) == offsets[-1]:
                    a = mid
                else:
                    b = mid
            bounds.append(b)
            offsets.append(offset)
        cursor = nxt
    bounds.append(hi)
    return tuple((bounds[i], bounds[i + 1], offsets[i]) for i in range(len(offsets)))


def _wall_range_to_utc(day: date, start: time, end: time, tz: tzinfo) -> list[Interval]:
    """Instants whose wall-clock reading lies in ``[day start, day end)`` (see module doc)."""
    wall_start = datetime.combine(day, start)
    wall_end = datetime.combine(day, end)
    out: list[Interval] = []
    for lo, hi, offset in _offset_pieces(tz, day):
        a = max(lo, (wall_start - offset).replace(tzinfo=UTC))
        b = min(hi, (wall_end - offset).replace(tzinfo=UTC))
        if a < b:
            out.append(Interval(a, b))
    return out


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals."""
    if not intervals:
        return []
    intervals = sorted(intervals, key=lambda iv: iv.start)
    merged = [intervals[0]]
    for iv in intervals[1:]:
        last = merged[-1]
        if iv.start <= last.end:
            if iv.end > last.end:
                merged[-1] = Interval(last.start, iv.end)
        else:
            merged.append(iv)
    return merged


# ------------------------------------------------------------------------------ opening hours


class _Hours:
    """Opening inputs indexed by weekday/date so a month view doesn't rescan every range."""

    __slots__ = ("by_date", "by_weekday", "closures", "tz")

    def __init__(
        self,
        ranges: Iterable[WeeklyRange],
        extras: Iterable[ExtraOpening],
        closures: Iterable[Closure],
        tz: tzinfo,
        *,
        online_only: bool,
        practitioners: frozenset[int] | None = None,
    ) -> None:
        self.tz = tz
        self.closures = tuple(closures)
        self.by_weekday: dict[int, list[WeeklyRange]] = defaultdict(list)
        self.by_date: dict[date, list[ExtraOpening]] = defaultdict(list)
        for r in ranges:
            if (r.online or not online_only) and (
                practitioners is None or r.practitioner_id in practitioners
            ):
                self.by_weekday[r.weekday].append(r)
        for x in extras:
            if (x.online or not online_only) and (
                practitioners is None or x.practitioner_id in practitioners
            ):
                self.by_date[x.date].append(x)

    def expand(self, day: date) -> dict[int, list[Interval]]:
        if any(c.covers(day) for c in self.closures):
            return {}
        raw: dict[int, list[Interval]] = defaultdict(list)
        openings: list[WeeklyRange | ExtraOpening] = [
            *self.by_weekday.get(day.weekday(), ()),
            *self.by_date.get(day, ()),
        ]
        for o in openings:
            raw[o.practitioner_id].extend(_wall_range_to_utc(day, o.start, o.end, self.tz))
        return {pid: merged for pid, ivs in raw.items() if (merged := _merge(ivs))}


def expand_hours(
    ranges: Iterable[WeeklyRange],
    extras: Iterable[ExtraOpening],
    closures: Iterable[Closure],
    tz: ZoneInfo | tzinfo,
    day: date,
    *,
    online_only: bool,
) -> dict[int, list[Interval]]:
    """Concrete UTC opening intervals per practitioner for local date ``day``.

    Applies closures (which win over extra openings), the online/phone-only filter, and the
    DST rule from the module docstring. Each practitioner's intervals are sorted and merged;
    practitioners with nothing open that day are absent.
    """
    return _Hours(ranges, extras, closures, tz, online_only=online_only).expand(day)


# ------------------------------------------------------------------------------ blocking index


class _Blocked:
    """Disjoint, sorted blocked intervals of one practitioner, searchable with bisect."""

    __slots__ = ("ends", "starts")

    def __init__(self, intervals: list[tuple[datetime, datetime]]) -> None:
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        for s, e in sorted(intervals):
            if s >= e:
                continue
            if self.ends and s <= self.ends[-1]:
                if e > self.ends[-1]:
                    self.ends[-1] = e
            else:
                self.starts.append(s)
                self.ends.append(e)

    def blocker_end(self, start: datetime, end: datetime) -> datetime | None:
        """End of the blocked interval overlapping ``[start, end)``, or None if it is free.

        Intervals are disjoint and sorted, so only the last one starting before ``end`` can
        overlap; its end tells the caller how far to skip.
        """
        i = bisect.bisect_left(self.starts, end) - 1
        if i >= 0 and self.ends[i] > start:
            return self.ends[i]
        return None


class _Engine:
    """Everything free_slots needs, prepared once and then queried day by day."""

    __slots__ = ("blocked", "duration", "earliest", "hours", "latest", "step", "tz", "window")

    def __init__(
        self,
        *,
        service: Service,
        ranges: Iterable[WeeklyRange],
        extras: Iterable[ExtraOpening],
        closures: Iterable[Closure],
        time_off: Iterable[TimeOff],
        busy: Iterable[Busy],
        rules: Rules,
        tz: tzinfo,
        now: datetime,
        practitioner_id: int | None,
        online_only: bool,
    ) -> None:
        now = _require_aware(now, "now")
        practitioners = service.practitioner_ids
        if practitioner_id is not None:
            practitioners = practitioners & {practitioner_id}
        self.tz = tz
        self.hours = _Hours(
            ranges, extras, closures, tz, online_only=online_only, practitioners=practitioners
        )
        raw: dict[int, list[tuple[datetime, datetime]]] = {pid: [] for pid in practitioners}
        for b in busy:
            if b.practitioner_id in raw:
                raw[b.practitioner_id].append((b.start, b.end + b.buffer))
        for t in time_off:
            if t.practitioner_id in raw:
                raw[t.practitioner_id].append((t.start, t.end))
        self.blocked = {pid: _Blocked(ivs) for pid, ivs in raw.items()}
        self.duration = service.duration
        self.window = service.duration + service.buffer
        self.step = rules.step
        self.earliest = now + rules.min_notice
        self.latest = now + rules.horizon

    def days(self, start_day: date, end_day: date) -> Iterable[date]:
        """Local days in range that can hold a slot; one day of slack around notice/horizon
        because a local date can straddle an offset change."""
        first = max(start_day, self.earliest.astimezone(self.tz).date() - _ONE_DAY)
        last = min(end_day, self.latest.astimezone(self.tz).date() + _ONE_DAY)
        day = first
        while day <= last:
            yield day
            day += _ONE_DAY

    def starts_for(self, pid: int, intervals: list[Interval]) -> Iterable[datetime]:
        """Free slot starts of one practitioner inside their open intervals, ascending."""
        step, duration, window = self.step, self.duration, self.window
        earliest, latest = self.earliest, self.latest
        blocked = self.blocked[pid]
        for iv in intervals:
            k = 0
            if earliest > iv.start:
                k = -((iv.start - earliest) // step)  # ceil: first aligned start >= earliest
            s = iv.start + k * step
            last_start = min(iv.end - duration, latest - timedelta(microseconds=1))
            while s <= last_start:
                end = blocked.blocker_end(s, s + window)
                if end is None:
                    yield s
                    s += step
                else:  # jump to the first aligned start at or after the blocker's end
                    s = iv.start + (-((iv.start - end) // step)) * step

    def day_slots(self, day: date) -> dict[datetime, list[int]]:
        found: dict[datetime, list[int]] = defaultdict(list)
        for pid, intervals in sorted(self.hours.expand(day).items()):
            for s in self.starts_for(pid, intervals):
                found[s].append(pid)
        return found

    def day_has_slot(self, day: date) -> bool:
        return any(
            next(iter(self.starts_for(pid, ivs)), None) is not None
            for pid, ivs in self.hours.expand(day).items()
        )


# ---------------------------------------------------------------------------------- public API


def free_slots(
    *,
    service: Service,
    ranges: Iterable[WeeklyRange],
    extras: Iterable[ExtraOpening],
    closures: Iterable[Closure],
    time_off: Iterable[TimeOff],
    busy: Iterable[Busy],
    rules: Rules,
    tz: ZoneInfo | tzinfo,
    now: datetime,
    start_day: date,
    end_day: date,
    practitioner_id: int | None = None,
    online_only: bool = True,
) -> list[Slot]:
    """Bookable slots on local dates ``start_day``..``end_day`` (inclusive), sorted by start.

    Only practitioners in ``service.practitioner_ids`` are considered; naming a practitioner
    who does not perform the service gives no slots. With ``practitioner_id=None`` ("first
    available"), practitioners free at the same start share one ``Slot`` (ids sorted); use
    ``pick_practitioner`` to assign one at booking time. See the module docstring for the
    booking and DST rules.
    """
    engine = _Engine(
        service=service,
        ranges=ranges,
        extras=extras,
        closures=closures,
        time_off=time_off,
        busy=busy,
        rules=rules,
        tz=tz,
        now=now,
        practitioner_id=practitioner_id,
        online_only=online_only,
    )
    merged: dict[datetime, set[int]] = defaultdict(set)
    for day in engine.days(start_day, end_day):
        for s, pids in engine.day_slots(day).items():
            merged[s].update(pids)
    duration = service.duration
    return [Slot(s, s + duration, tuple(sorted(merged[s]))) for s in sorted(merged)]


def days_with_free_slots(
    *,
    service: Service,
    ranges: Iterable[WeeklyRange],
    extras: Iterable[ExtraOpening],
    closures: Iterable[Closure],
    time_off: Iterable[TimeOff],
    busy: Iterable[Busy],
    rules: Rules,
    tz: ZoneInfo | tzinfo,
    now: datetime,
    start_day: date,
    end_day: date,
    practitioner_id: int | None = None,
    online_only: bool = True,
) -> set[date]:
    """Local dates in ``start_day``..``end_day`` with at least one slot (calendar highlights).

    Same rules as ``free_slots`` but stops at the first free start of each day, so a month
    view stays cheap.
    """
    engine = _Engine(
        service=service,
        ranges=ranges,
        extras=extras,
        closures=closures,
        time_off=time_off,
        busy=busy,
        rules=rules,
        tz=tz,
        now=now,
        practitioner_id=practitioner_id,
        online_only=online_only,
    )
    return {day for day in engine.days(start_day, end_day) if engine.day_has_slot(day)}


def next_free_day(
    *,
    service: Service,
    ranges: Iterable[WeeklyRange],
    extras: Iterable[ExtraOpening],
    closures: Iterable[Closure],
    time_off: Iterable[TimeOff],
    busy: Iterable[Busy],
    rules: Rules,
    tz: ZoneInfo | tzinfo,
    now: datetime,
    start_day: date | None = None,
    end_day: date | None = None,
    practitioner_id: int | None = None,
    online_only: bool = True,
) -> date | None:
    """First local date with a free slot, or None ("no availability, please call us").

    ``start_day`` defaults to the first local date the notice allows and ``end_day`` to the
    local date of the horizon, which bounds the search anyway.
    """
    engine = _Engine(
        service=service,
        ranges=ranges,
        extras=extras,
        closures=closures,
        time_off=time_off,
        busy=busy,
        rules=rules,
        tz=tz,
        now=now,
        practitioner_id=practitioner_id,
        online_only=online_only,
    )
    if start_day is None:
        start_day = engine.earliest.astimezone(tz).date() - _ONE_DAY
    if end_day is None:
        end_day = engine.latest.astimezone(tz).date() + _ONE_DAY
    return next((day for day in engine.days(start_day, end_day) if engine.day_has_slot(day)), None)


class Prepared:
    """The engine prepared once for several questions over the same inputs (a booking page
    asks for the highlighted days, the next free day and one day's slots): the blocking index
    is built once instead of once per question."""

    __slots__ = ("_engine", "_service")

    def __init__(self, engine: _Engine, service: Service) -> None:
        self._engine = engine
        self._service = service

    def free_slots(self, start_day: date, end_day: date) -> list[Slot]:
        merged: dict[datetime, set[int]] = defaultdict(set)
        for day in self._engine.days(start_day, end_day):
            for s, pids in self._engine.day_slots(day).items():
                merged[s].update(pids)
        duration = self._service.duration
        return [Slot(s, s + duration, tuple(sorted(merged[s]))) for s in sorted(merged)]

    def days_with_free_slots(self, start_day: date, end_day: date) -> set[date]:
        engine = self._engine
        return {day for day in engine.days(start_day, end_day) if engine.day_has_slot(day)}

    def next_free_day(self, start_day: date, end_day: date) -> date | None:
        engine = self._engine
        return next((d for d in engine.days(start_day, end_day) if engine.day_has_slot(d)), None)


def prepare(
    *,
    service: Service,
    ranges: Iterable[WeeklyRange],
    extras: Iterable[ExtraOpening],
    closures: Iterable[Closure],
    time_off: Iterable[TimeOff],
    busy: Iterable[Busy],
    rules: Rules,
    tz: ZoneInfo | tzinfo,
    now: datetime,
    practitioner_id: int | None = None,
    online_only: bool = True,
) -> Prepared:
    """Same inputs and rules as ``free_slots``; ask it several questions without re-indexing."""
    engine = _Engine(
        service=service,
        ranges=ranges,
        extras=extras,
        closures=closures,
        time_off=time_off,
        busy=busy,
        rules=rules,
        tz=tz,
        now=now,
        practitioner_id=practitioner_id,
        online_only=online_only,
    )
    return Prepared(engine, service)
