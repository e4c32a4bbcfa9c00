"""Tests for the pure availability engine (no Django, no database)."""

from __future__ import annotations

import random
import time as clock
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.availability import (
    Busy,
    Closure,
    ExtraOpening,
    Rules,
    Service,
    Slot,
    TimeOff,
    WeeklyRange,
    days_with_free_slots,
    expand_hours,
    free_slots,
    next_free_day,
    overlaps,
    pick_practitioner,
)

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 6, 1)  # an ordinary Monday, CEST (UTC+2)
SPRING = date(2026, 3, 29)  # Sunday, 02:00 -> 03:00
AUTUMN = date(2026, 10, 25)  # Sunday, 03:00 -> 02:00
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)


def paris(day: date, hh: int, mm: int = 0, fold: int = 0) -> datetime:
    """An aware Paris wall-clock datetime (fold picks the occurrence in the repeated hour)."""
    return datetime.combine(day, time(hh, mm), tzinfo=PARIS).replace(fold=fold)


def labels(slots: list[Slot]) -> list[str]:
    return [s.start.astimezone(PARIS).strftime("%H:%M") for s in slots]


def rules(step: int = 30, notice: int = 0, horizon_days: int = 400) -> Rules:
    return Rules(
        step=timedelta(minutes=step),
        min_notice=timedelta(minutes=notice),
        horizon=timedelta(days=horizon_days),
    )


def service(duration: int = 30, buffer: int = 0, ids: frozenset[int] = frozenset({1})) -> Service:
    return Service(
        duration=timedelta(minutes=duration),
        buffer=timedelta(minutes=buffer),
        practitioner_ids=ids,
    )


def kwargs(**overrides: Any) -> dict[str, Any]:
    """Defaults: practitioner 1, Mondays 09:00-12:00 and 14:00-19:00 online, 30-min slots."""
    base: dict[str, Any] = {
        "service": service(),
        "ranges": [
            WeeklyRange(1, 0, time(9), time(12), True),
            WeeklyRange(1, 0, time(14), time(19), True),
        ],
        "extras": [],
        "closures": [],
        "time_off": [],
        "busy": [],
        "rules": rules(),
        "tz": PARIS,
        "now": LONG_AGO,
        "start_day": MONDAY,
        "end_day": MONDAY,
    }
    base.update(overrides)
    return base


# ----------------------------------------------------------------------------- basic behaviour


def test_it_offers_both_ranges_of_a_day() -> None:
    slots = free_slots(**kwargs())
    assert labels(slots) == [
        *("09:00", "09:30", "10:00", "10:30", "11:00", "11:30"),
        *("14:00", "14:30", "15:00", "15:30", "16:00", "16:30", "17:00", "17:30", "18:00"),
        "18:30",
    ]
    assert all(s.start.tzinfo is UTC and s.end - s.start == 30 * MIN for s in slots)
    assert all(s.practitioner_ids == (1,) for s in slots)


def test_it_hides_phone_only_ranges_from_online_booking() -> None:
    ranges = [
        WeeklyRange(1, 0, time(9), time(10), True),
        WeeklyRange(1, 0, time(17), time(18), False),
    ]
    online = free_slots(**kwargs(ranges=ranges))
    staff = free_slots(**kwargs(ranges=ranges, online_only=False))
    assert labels(online) == ["09:00", "09:30"]
    assert labels(staff) == ["09:00", "09:30", "17:00", "17:30"]
    assert set(expand_hours(ranges, [], [], PARIS, MONDAY, online_only=True)[1]) < set(
        expand_hours(ranges, [], [], PARIS, MONDAY, online_only=False)[1]
    )


def test_it_closes_whole_inclusive_closures_even_over_extra_openings() -> None:
    extra = ExtraOpening(1, MONDAY + timedelta(days=1), time(10), time(11), True)
    closure = Closure(MONDAY, MONDAY + timedelta(days=1))
    slots = free_slots(
        **kwargs(
            extras=[extra],
            closures=[closure],
            end_day=MONDAY + timedelta(days=7),
        )
    )
    assert {s.start.astimezone(PARIS).date() for s in slots} == {MONDAY + timedelta(days=7)}
    assert expand_hours([], [extra], [closure], PARIS, extra.date, online_only=True) == {}


def test_it_adds_extra_openings_and_merges_overlaps() -> None:
    extra = ExtraOpening(1, MONDAY, time(11, 30), time(12, 30), True)
    slots = free_slots(**kwargs(extras=[extra]))
    # The extra extends the morning: 11:30-12:00 is offered once, 12:00 is new.
    morning = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00"]
    assert labels(slots)[:8] == [*morning, "14:00"]
    hours = expand_hours(kwargs()["ranges"], [extra], [], PARIS, MONDAY, online_only=True)
    assert [(i.start, i.end) for i in hours[1]] == [
        (paris(MONDAY, 9), paris(MONDAY, 12, 30)),
        (paris(MONDAY, 14), paris(MONDAY, 19)),
    ]


def test_it_skips_time_off() -> None:
    off = TimeOff(1, paris(MONDAY, 10, 15), paris(MONDAY, 15))
    assert labels(free_slots(**kwargs(time_off=[off]))) == [
        *("09:00", "09:30", "15:00", "15:30", "16:00", "16:30", "17:00", "17:30", "18:00"),
        "18:30",
    ]


def test_it_blocks_busy_plus_the_existing_appointments_buffer() -> None:
    busy = [Busy(1, paris(MONDAY, 10), paris(MONDAY, 10, 30), timedelta(minutes=15))]
    got = labels(free_slots(**kwargs(busy=busy, rules=rules(step=15))))
    assert "09:30" in got  # ends exactly when the appointment starts: back to back is fine
    assert not {"09:45", "10:00", "10:15", "10:30"} & set(got)
    assert "10:45" in got  # first start after 10:30 + 15 min buffer


def test_it_keeps_the_new_services_buffer_free() -> None:
    busy = [Busy(1, paris(MONDAY, 11), paris(MONDAY, 11, 30))]
    got = labels(free_slots(**kwargs(busy=busy, service=service(buffer=15), rules=rules(step=15))))
    assert "10:15" in got  # 10:15-10:45 + buffer until 11:00
    assert "10:30" not in got  # its buffer would run into the 11:00 appointment


def test_it_lets_the_trailing_buffer_spill_past_closing_time() -> None:
    got = labels(free_slots(**kwargs(service=service(buffer=15), rules=rules(step=15))))
    assert "11:30" in got  # the service itself must fit before 12:00...
    assert "11:45" not in got  # ...only its buffer may run past closing
    assert got[-1] == "18:30"


def test_it_applies_notice_and_horizon() -> None:
    now = paris(MONDAY, 9, 7)
    slots = free_slots(
        **kwargs(
            now=now,
            rules=Rules(
                step=timedelta(minutes=30), min_notice=timedelta(hours=2), horizon=7 * MIN * 60
            ),
        )
    )
    # earliest start 11:07 -> 11:30 (grid from 09:00); horizon ends 16:07 -> last start 16:00.
    assert labels(slots) == ["11:30", "14:00", "14:30", "15:00", "15:30", "16:00"]


def test_it_only_considers_practitioners_of_the_service() -> None:
    ranges = [WeeklyRange(pid, 0, time(9), time(10), True) for pid in (1, 2, 3)]
    slots = free_slots(**kwargs(ranges=ranges, service=service(ids=frozenset({2, 3}))))
    assert [s.practitioner_ids for s in slots] == [(2, 3), (2, 3)]
    named = free_slots(
        **kwargs(ranges=ranges, service=service(ids=frozenset({2, 3})), practitioner_id=1)
    )
    assert named == []


def test_it_merges_first_available_and_filters_a_named_practitioner() -> None:
    ranges = [
        WeeklyRange(3, 0, time(9), time(10), True),
        WeeklyRange(1, 0, time(9, 30), time(10, 30), True),
    ]
    busy = [Busy(3, paris(MONDAY, 9), paris(MONDAY, 9, 30))]
    svc = service(ids=frozenset({1, 3}))
    first = free_slots(**kwargs(ranges=ranges, busy=busy, service=svc))
    assert [(label, s.practitioner_ids) for label, s in zip(labels(first), first, strict=True)] == [
        ("09:30", (1, 3)),
        ("10:00", (1,)),
    ]
    only_3 = free_slots(**kwargs(ranges=ranges, busy=busy, service=svc, practitioner_id=3))
    assert [
        (label, s.practitioner_ids) for label, s in zip(labels(only_3), only_3, strict=True)
    ] == [("09:30", (3,))]


def test_it_picks_the_least_loaded_practitioner_with_lowest_id_on_ties() -> None:
    slot = Slot(paris(MONDAY, 9), paris(MONDAY, 9, 30), (2, 5, 7))
    assert pick_practitioner(slot, {2: 3, 5: 1, 7: 2}) == 5
    assert pick_practitioner(slot, {2: 1, 5: 1, 7: 1}) == 2
    assert pick_practitioner(slot, {2: 4, 5: 4}) == 7  # missing means no appointment yet
    assert pick_practitioner(slot, {}) == 2


def test_it_finds_days_with_slots_and_the_next_free_day() -> None:
    tuesday, next_monday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=7)
    ranges = [
        WeeklyRange(1, 0, time(9), time(10), True),
        WeeklyRange(1, 1, time(9), time(10), True),
    ]
    full = [Busy(1, paris(MONDAY, 9), paris(MONDAY, 10))]
    args = kwargs(ranges=ranges, busy=full, end_day=next_monday)
    assert days_with_free_slots(**args) == {tuesday, next_monday}
    assert next_free_day(**args) == tuesday
    assert next_free_day(**(args | {"start_day": tuesday + timedelta(days=1)})) == next_monday
    assert next_free_day(**(args | {"end_day": MONDAY})) is None
    defaulted = args | {"now": paris(MONDAY, 8), "rules": rules(horizon_days=3)}
    del defaulted["start_day"], defaulted["end_day"]
    assert next_free_day(**defaulted) == tuesday


def test_it_treats_intervals_as_half_open() -> None:
    a, b, c = paris(MONDAY, 9), paris(MONDAY, 10), paris(MONDAY, 11)
    assert overlaps(a, c, b, c)
    assert not overlaps(a, b, b, c)
    assert not overlaps(b, c, a, b)
    assert not overlaps(b, b, a, c)  # empty interval


def test_it_rejects_naive_datetimes() -> None:
    naive = datetime(2026, 6, 1, 9)
    with pytest.raises(ValueError, match="aware"):
        free_slots(**kwargs(now=naive))
    with pytest.raises(ValueError, match="aware"):
        Busy(1, naive, paris(MONDAY, 10))
    with pytest.raises(ValueError, match="aware"):
        TimeOff(1, paris(MONDAY, 9), naive)
    with pytest.raises(ValueError, match="aware"):
        Slot(naive, paris(MONDAY, 10), (1,))


def test_it_rejects_inverted_opening_ranges() -> None:
    with pytest.raises(ValueError, match="before end"):
        WeeklyRange(1, 0, time(12), time(9), True)
    with pytest.raises(ValueError, match="before end"):
        ExtraOpening(1, MONDAY, time(9), time(9), True)


# ------------------------------------------------------------------------------------------ DST


def test_it_gives_real_durations_across_both_transitions() -> None:
    def hours(day: date) -> timedelta:
        ranges = [WeeklyRange(1, 6, time(1), time(4), True)]
        ivs = expand_hours(ranges, [], [], PARIS, day, online_only=True)[1]
        return sum((i.end - i.start for i in ivs), timedelta())

    assert hours(SPRING) == timedelta(hours=2)
    assert hours(AUTUMN) == timedelta(hours=4)
    assert hours(SPRING - timedelta(days=7)) == timedelta(hours=3)


def test_it_never_offers_a_non_existent_spring_time() -> None:
    slots = free_slots(
        **kwargs(
            ranges=[WeeklyRange(1, 6, time(0), time(6), True)],
            start_day=SPRING,
            end_day=SPRING,
        )
    )
    assert labels(slots) == [
        *("00:00", "00:30", "01:00", "01:30"),
        *("03:00", "03:30", "04:00", "04:30", "05:00", "05:30"),
    ]
    assert len(slots) == 10  # 5 real hours
    assert [s.start.astimezone(PARIS).utcoffset() for s in slots] == [timedelta(hours=1)] * 4 + [
        timedelta(hours=2)
    ] * 6
    assert all(b.start - a.start == 30 * MIN for a, b in pairwise(slots))


def test_it_offers_each_instant_of_the_repeated_autumn_hour_once() -> None:
    slots = free_slots(
        **kwargs(
            ranges=[WeeklyRange(1, 6, time(0), time(6), True)],
            start_day=AUTUMN,
            end_day=AUTUMN,
        )
    )
    assert len(slots) == 14  # 7 real hours
    assert len({s.start for s in slots}) == 14
    assert all(b.start - a.start == 30 * MIN for a, b in pairwise(slots))
    local = [s.start.astimezone(PARIS) for s in slots]
    twos = [d for d in local if d.strftime("%H:%M") == "02:00"]
    assert [d.isoformat() for d in twos] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
    ]
    assert labels(slots)[3:9] == ["01:30", "02:00", "02:30", "02:00", "02:30", "03:00"]


def test_it_moves_a_boundary_inside_the_spring_gap_to_the_end_of_the_gap() -> None:
    ranges = [
        WeeklyRange(1, 6, time(2, 30), time(5), True),  # start in the gap
        WeeklyRange(2, 6, time(0), time(2, 30), True),  # end in the gap
        WeeklyRange(3, 6, time(2, 10), time(2, 50), True),  # wholly inside the gap
    ]
    hours = expand_hours(ranges, [], [], PARIS, SPRING, online_only=True)
    gap_end = datetime(2026, 3, 29, 1, tzinfo=UTC)  # 03:00 CEST, first instant after the gap
    assert [(i.start, i.end) for i in hours[1]] == [(gap_end, paris(SPRING, 5))]
    assert [(i.start, i.end) for i in hours[2]] == [(paris(SPRING, 0), gap_end)]
    assert 3 not in hours
    slots = free_slots(
        **kwargs(
            ranges=ranges,
            service=service(ids=frozenset({1, 2, 3})),
            start_day=SPRING,
            end_day=SPRING,
        )
    )
    assert [(label, s.practitioner_ids) for label, s in zip(labels(slots), slots, strict=True)] == [
        ("00:00", (2,)),
        ("00:30", (2,)),
        ("01:00", (2,)),
        ("01:30", (2,)),
        ("03:00", (1,)),
        ("03:30", (1,)),
        ("04:00", (1,)),
        ("04:30", (1,)),
    ]


def test_it_applies_an_ambiguous_boundary_to_both_autumn_passes() -> None:
    ranges = [WeeklyRange(1, 6, time(2, 30), time(5), True)]
    slots = free_slots(**kwargs(ranges=ranges, start_day=AUTUMN, end_day=AUTUMN))
    assert [s.start.astimezone(PARIS).isoformat()[11:] for s in slots] == [
        "02:30:00+02:00",
        "02:30:00+01:00",
        "03:00:00+01:00",
        "03:30:00+01:00",
        "04:00:00+01:00",
        "04:30:00+01:00",
    ]


# -------------------------------------------------------------------------- property tests

PIDS = (1, 2, 3)
START_DAYS = (SPRING - timedelta(days=1), SPRING, AUTUMN - timedelta(days=1), AUTUMN, MONDAY)


@st.composite
def wall_range(draw: st.DrawFn) -> tuple[time, time]:
    start = draw(st.integers(0, 286)) * 5  # minutes, 5-minute grid, end <= 23:55
    end = draw(st.integers(start // 5 + 1, 287)) * 5
    return time(start // 60, start % 60), time(end // 60, end % 60)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    start_day = draw(st.sampled_from(START_DAYS))
    n_days = draw(st.integers(1, 5))
    end_day = start_day + timedelta(days=n_days - 1)
    days = [start_day + timedelta(days=i) for i in range(n_days)]
    origin = paris(start_day, 0).astimezone(UTC)  # UTC: Paris-aware arithmetic is wall-clock
    span = n_days * 1440

    ranges = []
    for _ in range(draw(st.integers(1, 8))):
        a, b = draw(wall_range())
        pid, weekday = draw(st.sampled_from(PIDS)), draw(st.integers(0, 6))
        ranges.append(WeeklyRange(pid, weekday, a, b, draw(st.booleans())))
    extras = []
    for _ in range(draw(st.integers(0, 2))):
        a, b = draw(wall_range())
        pid, day = draw(st.sampled_from(PIDS)), draw(st.sampled_from(days))
        extras.append(ExtraOpening(pid, day, a, b, draw(st.booleans())))
    closures = []
    if draw(st.booleans()):
        day = draw(st.sampled_from(days))
        closures.append(Closure(day, day + timedelta(days=draw(st.integers(0, 1)))))

    def instant() -> datetime:
        return origin + timedelta(minutes=draw(st.integers(-180, span + 180)))

    busy = [
        Busy(
            draw(st.sampled_from(PIDS)),
            s := instant(),
            s + timedelta(minutes=draw(st.integers(0, 180))),
            timedelta(minutes=draw(st.sampled_from((0, 5, 10, 15, 30)))),
        )
        for _ in range(draw(st.integers(0, 12)))
    ]
    time_off = [
        TimeOff(
            draw(st.sampled_from(PIDS)),
            s := instant(),
            s + timedelta(minutes=draw(st.integers(0, 600))),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    return {
        "service": Service(
            duration=timedelta(minutes=draw(st.sampled_from((15, 20, 30, 45, 60)))),
            buffer=timedelta(minutes=draw(st.sampled_from((0, 5, 10, 15)))),
            practitioner_ids=frozenset(draw(st.sets(st.sampled_from(PIDS), min_size=1))),
        ),
        "ranges": ranges,
        "extras": extras,
        "closures": closures,
        "time_off": time_off,
        "busy": busy,
        "rules": Rules(
            step=timedelta(minutes=draw(st.sampled_from((5, 10, 15, 30)))),
            min_notice=timedelta(minutes=draw(st.sampled_from((0, 60, 1440)))),
            horizon=timedelta(days=draw(st.sampled_from((1, 3, 8)))),
        ),
        "tz": PARIS,
        "now": instant() + timedelta(seconds=draw(st.integers(0, 59))) - timedelta(days=1),
        "start_day": start_day,
        "end_day": end_day,
        "practitioner_id": draw(st.none() | st.sampled_from(PIDS)),
        "online_only": draw(st.booleans()),
    }


def is_open(pid: int, instant: datetime, scenario: dict[str, Any]) -> bool:
    """Independent oracle: does the clinic clock read a time inside one of pid's openings?"""
    wall = instant.astimezone(PARIS).replace(tzinfo=None)
    day, t = wall.date(), wall.time()
    if not scenario["start_day"] <= day <= scenario["end_day"]:
        return False
    if any(c.start <= day <= c.end for c in scenario["closures"]):
        return False
    usable = (lambda o: o.online) if scenario["online_only"] else (lambda o: True)
    return any(
        r.practitioner_id == pid
        and r.weekday == day.weekday()
        and r.start <= t < r.end
        and usable(r)
        for r in scenario["ranges"]
    ) or any(
        x.practitioner_id == pid and x.date == day and x.start <= t < x.end and usable(x)
        for x in scenario["extras"]
    )


def blockers(pid: int, scenario: dict[str, Any]) -> list[tuple[datetime, datetime]]:
    return [(b.start, b.end + b.buffer) for b in scenario["busy"] if b.practitioner_id == pid] + [
        (t.start, t.end) for t in scenario["time_off"] if t.practitioner_id == pid
    ]


def brute_force(scenario: dict[str, Any]) -> dict[datetime, set[int]]:
    """Reference implementation by scanning every minute: open intervals are maximal runs of
    open minutes, slot starts step from each run's start (all inputs are on a minute grid)."""
    svc, rules_ = scenario["service"], scenario["rules"]
    pids = set(svc.practitioner_ids)
    if scenario["practitioner_id"] is not None:
        pids &= {scenario["practitioner_id"]}
    lo = paris(scenario["start_day"], 0).astimezone(UTC) - timedelta(hours=3)
    hi = paris(scenario["end_day"] + timedelta(days=1), 0).astimezone(UTC) + timedelta(hours=3)
    earliest = scenario["now"] + rules_.min_notice
    latest = scenario["now"] + rules_.horizon
    minutes = int((hi - lo) / MIN)
    out: dict[datetime, set[int]] = defaultdict(set)
    for pid in pids:
        open_ = [is_open(pid, lo + i * MIN, scenario) for i in range(minutes)]
        blocked = blockers(pid, scenario)
        n_dur = int(svc.duration / MIN)
        i = 0
        while i < minutes:
            if not open_[i] or (i > 0 and open_[i - 1]):
                i += 1
                continue
            run_end = i
            while run_end < minutes and open_[run_end]:
                run_end += 1
            for s_idx in range(i, run_end - n_dur + 1, int(rules_.step / MIN)):
                s = lo + s_idx * MIN
                window_end = s + svc.duration + svc.buffer
                if earliest <= s < latest and not any(
                    overlaps(s, window_end, a, b) for a, b in blocked
                ):
                    out[s].add(pid)
            i = run_end
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_it_satisfies_the_booking_invariants(scenario: dict[str, Any]) -> None:
    slots = free_slots(**scenario)
    svc, rules_ = scenario["service"], scenario["rules"]
    allowed = set(svc.practitioner_ids)
    if scenario["practitioner_id"] is not None:
        allowed &= {scenario["practitioner_id"]}

    starts = [s.start for s in slots]
    assert starts == sorted(set(starts))  # sorted, unique
    for slot in slots:
        assert slot.start.utcoffset() == timedelta(0)
        assert slot.end.utcoffset() == timedelta(0)
        assert slot.end - slot.start == svc.duration
        assert scenario["now"] + rules_.min_notice <= slot.start < scenario["now"] + rules_.horizon
        assert slot.practitioner_ids == tuple(sorted(set(slot.practitioner_ids)))
        window_end = slot.end + svc.buffer
        for pid in slot.practitioner_ids:
            assert pid in allowed
            for a, b in blockers(pid, scenario):
                assert not overlaps(slot.start, window_end, a, b)
            probes = [slot.start + k * 5 * MIN for k in range(int(svc.duration / (5 * MIN)))]
            probes.append(slot.end - timedelta(microseconds=1))
            assert all(is_open(pid, p, scenario) for p in probes)

    # The cheaper calendar helpers agree with the full listing.
    days = {s.start.astimezone(PARIS).date() for s in slots}
    assert days_with_free_slots(**scenario) == days
    assert next_free_day(**scenario) == (min(days) if days else None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_it_matches_a_minute_by_minute_reference(scenario: dict[str, Any]) -> None:
    expected = brute_force(scenario)
    got = {s.start: set(s.practitioner_ids) for s in free_slots(**scenario)}
    assert got == dict(expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_it_merges_first_available_as_the_union_of_named_practitioners(
    scenario: dict[str, Any],
) -> None:
    scenario = scenario | {"practitioner_id": None}
    union: dict[datetime, set[int]] = defaultdict(set)
    for pid in PIDS:
        for slot in free_slots(**(scenario | {"practitioner_id": pid})):
            assert slot.practitioner_ids == (pid,)
            union[slot.start].add(pid)
    merged = free_slots(**scenario)
    assert {s.start: set(s.practitioner_ids) for s in merged} == dict(union)


# ---------------------------------------------------------------------------------- timing


def month_workload(n_busy: int = 5_000) -> dict[str, Any]:
    """A month of 5 practitioners, Mon-Sat 09-12 and 14-19, with n_busy random appointments."""
    rng = random.Random(20260601)
    pids = range(1, 6)
    ranges = [
        WeeklyRange(pid, wd, a, b, True)
        for pid in pids
        for wd in range(6)
        for a, b in ((time(9), time(12)), (time(14), time(19)))
    ]
    busy = []
    for _ in range(n_busy):
        day = MONDAY + timedelta(days=rng.randrange(-5, 35))
        start = paris(day, rng.randrange(8, 19), rng.choice((0, 15, 30, 45)))
        busy.append(
            Busy(
                rng.choice(pids),
                start,
                start + timedelta(minutes=rng.choice((15, 30, 45, 60))),
                timedelta(minutes=rng.choice((0, 5, 10))),
            )
        )
    return kwargs(
        service=Service(
            duration=timedelta(minutes=30),
            buffer=timedelta(minutes=10),
            practitioner_ids=frozenset(pids),
        ),
        ranges=ranges,
        busy=busy,
        time_off=[TimeOff(2, paris(MONDAY, 0), paris(MONDAY + timedelta(days=5), 0))],
        closures=[Closure(date(2026, 6, 15), date(2026, 6, 15))],
        rules=Rules(
            step=timedelta(minutes=15), min_notice=timedelta(hours=2), horizon=timedelta(days=60)
        ),
        now=paris(MONDAY, 8),
        start_day=MONDAY,
        end_day=MONDAY + timedelta(days=30),
    )


def test_it_computes_a_busy_month_quickly() -> None:
    # A guard against a pathological (quadratic) regression, not a benchmark: the best of three
    # runs, so a machine busy with other work does not fail it (bench/booking.py measures).
    workload = month_workload()
    timings = []
    for _ in range(3):
        started = clock.perf_counter()
        slots = free_slots(**workload)
        days = days_with_free_slots(**workload)
        timings.append(clock.perf_counter() - started)
    assert slots
    assert days
    assert min(timings) < 1.0
