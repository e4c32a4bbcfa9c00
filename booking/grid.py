"""The agenda grid: columns (a vet each, or a day each), 15-minute rows, appointment blocks.

Pure: no queries, no Django. ``booking.views.agenda`` reads the rows once and hands them here;
the template only places what this module computed (CSS grid lines as classes, since the
Content-Security-Policy forbids ``style=`` attributes).

Rows are wall-clock times of the clinic's zone (08:00, 08:15, ...), the same rows for every
column, so a week reads across. The axis covers every column's opening hours for its day,
widened to cover any appointment outside them; nothing open and nothing booked gives 08:00-18:00.
Limit: on the two daylight-saving days the wall clock is not the real clock. In spring the
02:00-03:00 rows name times that do not exist; in autumn an appointment in the repeated hour is
drawn once, at its wall-clock time. Clinics are closed at 2 a.m., so neither shows in practice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from booking import availability as engine

STEP = 15  # minutes per row
DAY_MINUTES = 24 * 60
DEFAULT_AXIS = (8 * 60, 18 * 60)
MAX_LANES = 4

# What a cell is, in the order a person reads it: closed wins over time off, time off over
# hours; phone-only hours are open for reception and hidden from the public portal.
CLOSED, OFF, BREAK, OPEN, PHONE = "closed", "off", "break", "open", "phone"


class Booked(Protocol):
    pk: int
    practitioner_id: int
    starts_at: datetime
    ends_at: datetime
    status: str


@dataclass(frozen=True)
class Column:
    index: int  # 1-based among the grid's columns
    day: date
    practitioner_id: int
    title: str = ""


@dataclass(frozen=True)
class Row:
    index: int  # 1-based
    minute: int  # minutes after local midnight
    label: str  # "08:15"

    @property
    def on_the_hour(self) -> bool:
        return self.minute % 60 == 0


@dataclass(frozen=True)
class Cell:
    """A run of rows in one column: one free cell (a link when bookable), or a shaded range."""

    column: int
    row: int
    span: int
    kind: str  # CLOSED, OFF, BREAK, OPEN, PHONE
    start: datetime  # the first row's instant
    free: bool = False  # open or phone-only, nothing booked, not yet past
    url: str = ""  # set by the view: book (or move) here

    @property
    def shaded(self) -> bool:
        return self.kind in (CLOSED, OFF, BREAK)


@dataclass(frozen=True)
class Block:
    column: int
    row: int
    span: int
    appointment: Any
    day: date
    status: str  # booked, confirmed, arrived, consultation, attended, no_show, cancelled
    lane: int = 0
    lanes: int = 1


@dataclass(frozen=True)
class NowLine:
    row: int
    offset: int  # minutes into the row
    column: int | None = None  # None: across every column


@dataclass
class Grid:
    columns: list[Column]
    rows: list[Row]
    cells: list[Cell] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    now: NowLine | None = None

    def blocks_in(self, column: int) -> list[Block]:
        return [b for b in self.blocks if b.column == column]

    def cells_in(self, column: int) -> list[Cell]:
        return [c for c in self.cells if c.column == column]


def status_of(appointment: Any) -> str:
    """The colour a block wears. ``arrived_at`` / ``consultation_at`` are read if the model has
    them (the waiting room adds them), so the grid does not depend on that change."""
    status = appointment.status
    if status in ("cancelled", "attended", "no_show"):
        return status
    if getattr(appointment, "consultation_at", None):
        return "consultation"
    if getattr(appointment, "arrived_at", None):
        return "arrived"
    if getattr(appointment, "confirmed_at", None):
        return "confirmed"
    return "booked"


@dataclass(frozen=True)
class _Input:
    column: Column
    hours: list[tuple[int, int, bool]]  # wall minutes [start, end), online
    off: list[tuple[int, int]]  # wall minutes of time off
    closed: bool
    appointments: list[tuple[int, int, Any]]  # wall minutes [start, end), appointment


def _wall(instant: datetime, day: date, tz: ZoneInfo) -> int:
    """Minutes after ``day``'s local midnight, clamped to the day."""
    local = instant.astimezone(tz)
    if local.date() < day:
        return 0
    if local.date() > day:
        return DAY_MINUTES
    return local.hour * 60 + local.minute


def _column_input(
    column: Column,
    *,
    tz: ZoneInfo,
    ranges: Sequence[engine.WeeklyRange],
    extras: Sequence[engine.ExtraOpening],
    closed: bool,
    time_off: Iterable[engine.TimeOff],
    appointments: Iterable[Booked],
) -> _Input:
    day, pid = column.day, column.practitioner_id
    mine_r = [r for r in ranges if r.practitioner_id == pid]
    mine_x = [x for x in extras if x.practitioner_id == pid and x.date == day]
    # Closures are shaded here rather than removing the hours, so the day still shows its shape.
    every = engine.expand_hours(mine_r, mine_x, (), tz, day, online_only=False).get(pid, [])
    online = engine.expand_hours(mine_r, mine_x, (), tz, day, online_only=True).get(pid, [])
    lo = datetime.combine(day, time(0), tzinfo=tz)
    hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    hours = [(_wall(iv.start, day, tz), _wall(iv.end, day, tz), False) for iv in every]
    hours += [(_wall(iv.start, day, tz), _wall(iv.end, day, tz), True) for iv in online]
    off = [
        (_wall(t.start, day, tz), _wall(t.end, day, tz))
        for t in time_off
        if t.practitioner_id == pid and t.start < hi and lo < t.end
    ]
    booked = [
        (
            _wall(a.starts_at, day, tz),
            max(_wall(a.ends_at, day, tz), _wall(a.starts_at, day, tz)),
            a,
        )
        for a in appointments
        if a.practitioner_id == pid and lo <= a.starts_at < hi
    ]
    return _Input(column, hours, off, closed, booked)


def _axis(inputs: Sequence[_Input]) -> tuple[int, int]:
    starts = [s for i in inputs for s, _e, _o in i.hours] + [
        s for i in inputs for s, _e, _a in i.appointments
    ]
    ends = [e for i in inputs for _s, e, _o in i.hours] + [
        e for i in inputs for _s, e, _a in i.appointments
    ]
    if not starts:
        return DEFAULT_AXIS
    first = min(starts) // STEP * STEP
    last = -(-max(ends) // STEP) * STEP
    return first, max(last, first + STEP)


def _kind(inp: _Input, minute: int) -> str:
    if inp.closed:
        return CLOSED
    end = minute + STEP
    if any(s < end and minute < e for s, e in inp.off):
        return OFF
    if any(s <= minute and end <= e for s, e, online in inp.hours if online):
        return OPEN
    if any(s <= minute and end <= e for s, e, online in inp.hours if not online):
        return PHONE
    return BREAK


def _instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)


def _lanes(blocks: Sequence[tuple[int, int, Any]]) -> list[tuple[int, int]]:
    """(lane, lanes of its overlapping group) for each block, given sorted by start: blocks
    that overlap (a double booking, a cancelled one shown under its replacement) sit side by
    side instead of hiding each other."""
    placed: list[list[int]] = []  # [lane, lanes] per block
    group: list[list[int]] = []
    lane_end: list[int] = []
    group_end = -1
    for start, end, _a in blocks:
        if start >= group_end:
            group, lane_end = [], []
        group_end = max(group_end, end)
        lane = next((i for i, until in enumerate(lane_end) if until <= start), len(lane_end))
        if lane == len(lane_end):
            lane_end.append(end)
        else:
            lane_end[lane] = end
        entry = [lane, 0]
        group.append(entry)
        placed.append(entry)
        for member in group:
            member[1] = len(lane_end)
    return [(min(lane, MAX_LANES - 1), min(lanes, MAX_LANES)) for lane, lanes in placed]


def _build(
    inputs: Sequence[_Input], *, tz: ZoneInfo, now: datetime, moving: int | None = None
) -> Grid:
    first, last = _axis(inputs)
    rows = [
        Row(i + 1, m, f"{m // 60:02d}:{m % 60:02d}") for i, m in enumerate(range(first, last, STEP))
    ]
    grid = Grid([i.column for i in inputs], rows)
    local_now = now.astimezone(tz)
    for inp in inputs:
        col = inp.column
        # The appointment being moved does not hold its own time: it may move by a quarter.
        active = [
            (s, e) for s, e, a in inp.appointments if a.status != "cancelled" and a.pk != moving
        ]
        run: Cell | None = None
        for row in rows:
            kind = _kind(inp, row.minute)
            start = _instant(col.day, row.minute, tz)
            if kind in (OPEN, PHONE):
                if run is not None:
                    grid.cells.append(run)
                    run = None
                end = row.minute + STEP
                busy = any(s < end and row.minute < e for s, e in active)
                if not busy:
                    grid.cells.append(Cell(col.index, row.index, 1, kind, start, start >= now))
                continue
            if run is not None and run.kind == kind:
                run = Cell(col.index, run.row, run.span + 1, kind, run.start)
            else:
                if run is not None:
                    grid.cells.append(run)
                run = Cell(col.index, row.index, 1, kind, start)
        if run is not None:
            grid.cells.append(run)
        ordered = sorted(inp.appointments, key=lambda t: (t[0], t[1], t[2].pk))
        for (s, e, a), (lane, lanes) in zip(ordered, _lanes(ordered), strict=True):
            row = (s - first) // STEP + 1
            span = max(1, -(-(e - first) // STEP) + 1 - row)
            grid.blocks.append(Block(col.index, row, span, a, col.day, status_of(a), lane, lanes))
        if col.day == local_now.date():
            minute = local_now.hour * 60 + local_now.minute
            if first <= minute < last:
                grid.now = NowLine((minute - first) // STEP + 1, (minute - first) % STEP)
    if grid.now is not None and len({c.day for c in grid.columns}) > 1:
        today = next(c.index for c in grid.columns if c.day == local_now.date())
        grid.now = NowLine(grid.now.row, grid.now.offset, today)
    return grid


def build_day(
    day: date,
    *,
    tz: ZoneInfo,
    practitioners: Sequence[tuple[int, str]],
    ranges: Sequence[engine.WeeklyRange],
    extras: Sequence[engine.ExtraOpening],
    closed: bool,
    time_off: Sequence[engine.TimeOff],
    appointments: Sequence[Booked],
    now: datetime,
    moving: int | None = None,
) -> Grid:
    """One column per practitioner for a local day (``moving``: an appointment's pk whose own
    time counts as free)."""
    inputs = [
        _column_input(
            Column(i + 1, day, pid, name),
            tz=tz,
            ranges=ranges,
            extras=extras,
            closed=closed,
            time_off=time_off,
            appointments=appointments,
        )
        for i, (pid, name) in enumerate(practitioners)
    ]
    return _build(inputs, tz=tz, now=now, moving=moving)


def build_week(
    days: Sequence[date],
    *,
    tz: ZoneInfo,
    practitioner_id: int,
    ranges: Sequence[engine.WeeklyRange],
    extras: Sequence[engine.ExtraOpening],
    closed_days: set[date],
    time_off: Sequence[engine.TimeOff],
    appointments: Sequence[Booked],
    now: datetime,
    moving: int | None = None,
) -> Grid:
    """One column per day for one practitioner."""
    inputs = [
        _column_input(
            Column(i + 1, day, practitioner_id),
            tz=tz,
            ranges=ranges,
            extras=extras,
            closed=day in closed_days,
            time_off=time_off,
            appointments=appointments,
        )
        for i, day in enumerate(days)
    ]
    return _build(inputs, tz=tz, now=now, moving=moving)
