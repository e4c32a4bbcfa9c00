"""Reading the database into the pure engine (``booking.availability``) and back.

A fixed number of queries whatever the range: weekly hours, extra openings, closures, time off
and appointments are each read once for the whole window (the service and its practitioners
are read by the caller, the rules and the clinic come from the cache).

Pages that only *show* availability (the day strip and slots, clicked through by every client
in the evening) use rows cached under a generation number that every booking, move,
cancellation and change of hours bumps after commit, so a change is visible on the next
request. Writes never use the cache: ``booking.services`` re-reads inside its transaction.
"""

from __future__ import annotations

import time as clock
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.cache import cache

from booking import availability as engine
from booking.models import (
    Appointment,
    BookingRules,
    Closure,
    ExtraOpening,
    Practitioner,
    Service,
    TimeOff,
    WeeklyHours,
)

GENERATION_KEY = "booking:availability:generation"
# A safety net only (changes made outside booking's pages, e.g. in the admin): every change made
# through booking bumps the generation at once.
CACHE_SECONDS = 60


def generation() -> int | None:
    """The availability generation, or None when the cache cannot say (then nothing cached may
    be read or written: callers compute from the database)."""
    value = cache.get(GENERATION_KEY)
    if value is None:
        # Start from the clock so that a cache that lost the key never revives old entries.
        cache.add(GENERATION_KEY, clock.time_ns(), None)
        value = cache.get(GENERATION_KEY)
    return value


def read_current(key: str) -> tuple[int | None, Any]:
    """The generation and what ``store_current`` left under ``key`` for it (else None), in one
    cache read. A value stored for an earlier generation is never returned."""
    found = cache.get_many([GENERATION_KEY, key])
    current = found.get(GENERATION_KEY)
    if current is None:
        return generation(), None
    stored = found.get(key)
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == current:
        return current, stored[1]
    return current, None


def store_current(key: str, current: int, value: Any) -> None:
    """Keeps ``value`` under ``key`` for the generation read before computing it."""
    cache.set(key, (current, value), CACHE_SECONDS)


def invalidate() -> None:
    """Availability changed (after commit): cached rows of earlier generations are ignored."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, clock.time_ns(), None)


# Staff book by phone: no notice (a client on the line can come in ten minutes), a year ahead.
STAFF_RULES_HORIZON = timedelta(days=366)


@dataclass(frozen=True)
class Scope:
    """Who may be booked for a service: its practitioners, or one of them."""

    service: Service
    practitioner_ids: frozenset[int]
    # A client's first visit may take longer (Service.first_visit_minutes).
    first_visit: bool = False

    @classmethod
    def of(
        cls, service: Service, practitioner: Practitioner | None = None, *, first_visit=False
    ) -> Scope:
        ids = frozenset(p.pk for p in service.practitioners.all() if p.is_active)
        if practitioner is not None:
            ids &= {practitioner.pk}
        return cls(service, ids, first_visit)

    @property
    def duration(self) -> timedelta:
        return self.service.duration_for(first_visit=self.first_visit)


def engine_rules(rules: BookingRules, *, online: bool) -> engine.Rules:
    if online:
        return engine.Rules(step=rules.step, min_notice=rules.min_notice, horizon=rules.horizon)
    return engine.Rules(step=rules.step, min_notice=timedelta(0), horizon=STAFF_RULES_HORIZON)


def _utc_bounds(start_day: date, end_day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    # A day of slack on each side: a local date straddles offsets, buffers spill over midnight.
    lo = datetime.combine(start_day - timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(end_day + timedelta(days=2), time(0), tzinfo=tz).astimezone(UTC)
    return lo, hi


def engine_inputs(
    scope: Scope,
    *,
    start_day: date,
    end_day: date,
    tz: ZoneInfo,
    now: datetime,
    online: bool,
    rules: BookingRules,
    exclude_appointment: int | None = None,
    cached: bool = False,
    exclude_hold: str = "",
) -> dict[str, Any]:
    """Keyword arguments for the engine's functions over local days start_day..end_day.

    ``cached=True`` only for pages that show availability; never inside a write transaction.
    Active slot holds are read every time, outside the cache (they expire on their own);
    ``exclude_hold`` (a token's hash) is the caller's own, free for them.
    """
    ids = scope.practitioner_ids
    rows = None
    key = ""
    current = generation() if cached else None
    if current is not None:
        key = (
            f"booking:rows:{current}:{','.join(map(str, sorted(ids)))}:"
            f"{start_day}:{end_day}:{exclude_appointment or ''}:{tz}"
        )
        rows = cache.get(key)
    if rows is None:
        rows = _read_rows(ids, start_day, end_day, tz, exclude_appointment)
        if key:
            cache.set(key, rows, CACHE_SECONDS)
    ranges, extras, closures, time_off, busy = rows
    busy = busy + held(ids, start_day, end_day, tz, now, exclude_hold)
    service = engine.Service(
        duration=scope.duration,
        buffer=scope.service.buffer,
        practitioner_ids=ids,
    )
    return {
        "service": service,
        "ranges": ranges,
        "extras": extras,
        "closures": closures,
        "time_off": time_off,
        "busy": busy,
        "rules": engine_rules(rules, online=online),
        "tz": tz,
        "now": now,
        "online_only": online,
    }


def held(
    ids: frozenset[int], start_day: date, end_day: date, tz: ZoneInfo, now: datetime, mine: str
) -> list:
    """The slots held for newcomers finishing their sign-up, as busy time (one query)."""
    from booking.models import SlotHold

    lo, hi = _utc_bounds(start_day, end_day, tz)
    rows = (
        SlotHold.objects.filter(
            practitioner_id__in=ids, expires_at__gt=now, starts_at__lt=hi, blocks_until__gt=lo
        )
        .exclude(token_hash=mine or "-")
        .values_list("practitioner_id", "starts_at", "blocks_until")
    )
    return [engine.Busy(pid, start, until) for pid, start, until in rows]


def _read_rows(
    ids: frozenset[int],
    start_day: date,
    end_day: date,
    tz: ZoneInfo,
    exclude_appointment: int | None,
) -> tuple[list, list, list, list, list]:
    lo, hi = _utc_bounds(start_day, end_day, tz)
    ranges = [
        engine.WeeklyRange(h.practitioner_id, h.weekday, h.start, h.end, h.online)
        for h in WeeklyHours.objects.filter(practitioner_id__in=ids)
    ]
    extras = [
        engine.ExtraOpening(x.practitioner_id, x.date, x.start, x.end, x.online)
        for x in ExtraOpening.objects.filter(
            practitioner_id__in=ids, date__gte=start_day, date__lte=end_day
        )
    ]
    closures = [
        engine.Closure(c.start, c.end)
        for c in Closure.objects.filter(start__lte=end_day, end__gte=start_day)
    ]
    time_off = [
        engine.TimeOff(t.practitioner_id, t.start, t.end)
        for t in TimeOff.objects.filter(practitioner_id__in=ids, start__lt=hi, end__gt=lo)
    ]
    busy_rows = (
        Appointment.objects.active()
        .filter(practitioner_id__in=ids, starts_at__lt=hi, blocks_until__gt=lo)
        .values_list("practitioner_id", "starts_at", "blocks_until")
    )
    if exclude_appointment is not None:
        busy_rows = busy_rows.exclude(pk=exclude_appointment)
    # blocks_until already holds each appointment's own buffer, fixed when it was booked.
    busy = [engine.Busy(pid, start, until) for pid, start, until in busy_rows]
    return ranges, extras, closures, time_off, busy


def free_slots(
    scope: Scope,
    *,
    start_day: date,
    end_day: date,
    tz: ZoneInfo,
    now: datetime,
    online: bool,
    rules: BookingRules,
    exclude_appointment: int | None = None,
) -> list[engine.Slot]:
    if not scope.practitioner_ids:
        return []
    inputs = engine_inputs(
        scope,
        start_day=start_day,
        end_day=end_day,
        tz=tz,
        now=now,
        online=online,
        rules=rules,
        exclude_appointment=exclude_appointment,
    )
    return engine.free_slots(**inputs, start_day=start_day, end_day=end_day)


def free_days(
    scope: Scope,
    *,
    start_day: date,
    end_day: date,
    tz: ZoneInfo,
    now: datetime,
    online: bool,
    rules: BookingRules,
) -> set[date]:
    if not scope.practitioner_ids:
        return set()
    inputs = engine_inputs(
        scope, start_day=start_day, end_day=end_day, tz=tz, now=now, online=online, rules=rules
    )
    return engine.days_with_free_slots(**inputs, start_day=start_day, end_day=end_day)


def nearest_slots(
    scope: Scope,
    around: datetime,
    *,
    tz: ZoneInfo,
    now: datetime,
    online: bool,
    rules: BookingRules,
    count: int = 3,
) -> list[engine.Slot]:
    """The free slots closest in time to ``around`` (offered when a slot was just taken)."""
    day = around.astimezone(tz).date()
    slots = free_slots(
        scope,
        start_day=day - timedelta(days=1),
        end_day=day + timedelta(days=7),
        tz=tz,
        now=now,
        online=online,
        rules=rules,
    )
    slots.sort(key=lambda slot: (abs(slot.start - around), slot.start))
    return sorted(slots[:count], key=lambda slot: slot.start)


def day_load(
    practitioner_ids: frozenset[int] | tuple[int, ...], day: date, tz: ZoneInfo
) -> Counter:
    """Active appointments per practitioner on a local day (for "first available")."""
    lo = datetime.combine(day, time(0), tzinfo=tz)
    hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    rows = (
        Appointment.objects.active()
        .filter(practitioner_id__in=practitioner_ids, starts_at__gte=lo, starts_at__lt=hi)
        .values_list("practitioner_id", flat=True)
    )
    return Counter(rows)
