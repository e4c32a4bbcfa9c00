"""When a message may go: reminder offsets, quiet hours, care lead times. Pure functions.

Quiet hours: the evening and night window, Sundays, and the public holidays of the clinic's
country (ACCUEIL_HOLIDAYS_COUNTRY, France by default, from the `holidays` package), when
operators forbid marketing text messages and people do not want reminders either.

Everything is computed on the clinic's wall clock, then turned back into an aware UTC instant,
so the daylight-saving changes move nothing a person would notice: a 24 h reminder for a
10:00 appointment goes at 10:00 the day before, even on the night the clocks change.
"""

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import holidays
from django.conf import settings


def on_wall_clock(moment: datetime, tz: zoneinfo.ZoneInfo, *, minus: timedelta) -> datetime:
    """`moment` minus `minus`, counted on the local wall clock rather than in elapsed time."""
    local = moment.astimezone(tz).replace(tzinfo=None) - minus
    return aware(local, tz)


def aware(local: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """A local wall-clock time as an aware UTC instant. A time skipped by the spring change
    (02:30 on the last Sunday of March) is read with the offset before the change, i.e. one
    hour later in summer time; a repeated autumn time takes its first occurrence."""
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_window() -> tuple[time, time, bool]:
    return (
        _parse_hhmm(settings.NOTIFICATIONS_QUIET_START),
        _parse_hhmm(settings.NOTIFICATIONS_QUIET_END),
        settings.NOTIFICATIONS_QUIET_SUNDAY,
    )


@functools.cache
def _holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year))


def is_holiday(day: date, country: str | None = None) -> bool:
    """Whether `day` is a public holiday in `country` (default: ACCUEIL_HOLIDAYS_COUNTRY; ""
    means none)."""
    country = settings.NOTIFICATIONS_HOLIDAYS_COUNTRY if country is None else country
    return bool(country) and day in _holidays(country, day.year)


def is_quiet(moment: datetime, tz: zoneinfo.ZoneInfo) -> bool:
    """True when a non-urgent text message must not go (evening, night, Sunday, a public
    holiday: the whole local day, like Sunday)."""
    start, end, sunday = quiet_window()
    local = moment.astimezone(tz)
    if sunday and local.weekday() == 6:
        return True
    if is_holiday(local.date()):
        return True
    clock = local.time()
    if start > end:  # the usual case: the window spans midnight
        return clock >= start or clock < end
    return start <= clock < end


def next_allowed(moment: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """The first moment at or after `moment` outside quiet hours."""
    if not is_quiet(moment, tz):
        return moment
    _, end, _ = quiet_window()
    local_day = moment.astimezone(tz).date()
    # The window ends at `end` on some day: today's (before dawn) or a later one.
    for offset in range(15):
        candidate = aware(datetime.combine(local_day + timedelta(days=offset), end), tz)
        if candidate >= moment and not is_quiet(candidate, tz):
            return candidate
    return moment  # unreachable with a sane window; never drop a message over it


def previous_allowed(moment: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """The last moment before `moment` outside quiet hours (just before the window starts)."""
    if not is_quiet(moment, tz):
        return moment
    start, _, _ = quiet_window()
    local_day = moment.astimezone(tz).date()
    for offset in range(15):
        candidate = aware(datetime.combine(local_day - timedelta(days=offset), start), tz)
        candidate -= timedelta(minutes=1)
        if candidate <= moment and not is_quiet(candidate, tz):
            return candidate
    return moment


def reminder_time(
    starts_at: datetime, offset: timedelta, tz: zoneinfo.ZoneInfo, *, now: datetime, sms: bool
) -> datetime | None:
    """When a reminder `offset` before `starts_at` should go; None when it no longer makes sense.

    A text message that would fall in quiet hours is moved out of them: to the next allowed
    time, unless that is too close to the appointment (under 2 h before), in which case to the
    last allowed time before (e.g. Saturday 19:59 for a Monday 09:00 appointment).
    """
    at = on_wall_clock(starts_at, tz, minus=offset)
    if sms:
        later = next_allowed(at, tz)
        at = later if later <= starts_at - timedelta(hours=2) else previous_allowed(at, tz)
    if at < now:
        # Booked less than `offset` ahead: the confirmation just sent does the reminding,
        # unless there is still a useful window (more than 2 h before for the last reminder).
        return None
    return at


CARE_SEND_TIME = time(10, 0)


def care_send_time(
    due: date, kind: str, tz: zoneinfo.ZoneInfo, *, now: datetime
) -> datetime | None:
    """10:00 clinic time, N days before the due date; at once if that has passed; None when the
    due date itself has passed."""
    days = (
        settings.NOTIFICATIONS_RENEWAL_LEAD_DAYS
        if kind == "renewal"
        else settings.NOTIFICATIONS_CARE_LEAD_DAYS
    )
    if due < now.astimezone(tz).date():
        return None
    at = aware(datetime.combine(due - timedelta(days=days), CARE_SEND_TIME), tz)
    return max(at, now)
