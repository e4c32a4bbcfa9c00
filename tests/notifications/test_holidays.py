"""Quiet hours cover public holidays (the clinic's country, France by default), all day long."""

import zoneinfo
from datetime import date, datetime

import pytest
import time_machine

from notifications import schedule

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _window(settings):
    settings.NOTIFICATIONS_QUIET_START = "20:00"
    settings.NOTIFICATIONS_QUIET_END = "08:30"
    settings.NOTIFICATIONS_QUIET_SUNDAY = True
    settings.NOTIFICATIONS_HOLIDAYS_COUNTRY = "FR"


@pytest.mark.parametrize(
    "day",
    [date(2026, 12, 25), date(2027, 1, 1), date(2027, 5, 17), date(2026, 5, 25)],
    ids=["christmas", "new-year", "whit-monday-2027", "whit-monday-2026"],
)
def test_a_french_public_holiday_is_quiet_all_day(day):
    assert schedule.is_holiday(day)
    assert schedule.is_quiet(
        datetime.combine(day, datetime.min.time()).replace(hour=11, tzinfo=PARIS), PARIS
    )


def test_an_ordinary_weekday_is_not_quiet_at_eleven():
    assert not schedule.is_holiday(date(2026, 12, 23))
    assert not schedule.is_quiet(paris(2026, 12, 23, 11, 0), PARIS)


def test_christmas_eve_evening_waits_for_the_26th():
    # Thursday 24 December 20:30 → not on the 25th (holiday) → Saturday 26th 08:30.
    assert schedule.next_allowed(paris(2026, 12, 24, 20, 30), PARIS) == paris(2026, 12, 26, 8, 30)


def test_new_year_friday_waits_for_saturday_morning():
    assert schedule.next_allowed(paris(2027, 1, 1, 10, 0), PARIS) == paris(2027, 1, 2, 8, 30)


def test_a_sunday_and_whit_monday_pair_waits_for_tuesday():
    saturday_evening = paris(2027, 5, 15, 21, 0)
    assert schedule.next_allowed(saturday_evening, PARIS) == paris(2027, 5, 18, 8, 30)
    # And backwards: the last allowed minute before the pair is Saturday 19:59.
    assert schedule.previous_allowed(paris(2027, 5, 17, 12, 0), PARIS) == paris(2027, 5, 15, 19, 59)


def test_the_country_comes_from_the_setting(settings):
    settings.NOTIFICATIONS_HOLIDAYS_COUNTRY = "DE"
    assert not schedule.is_holiday(date(2027, 7, 14))  # Bastille Day is French only
    assert schedule.is_holiday(date(2027, 10, 3))  # German Unity Day
    settings.NOTIFICATIONS_HOLIDAYS_COUNTRY = ""
    assert not schedule.is_holiday(date(2026, 12, 25))


@time_machine.travel(paris(2026, 12, 20, 10, 0), tick=False)
def test_a_reminder_due_on_christmas_goes_the_day_before(settings):
    """A 24 h text reminder for Saturday 26th 10:00 would go on the 25th: it goes on the 24th
    at 19:59 (the next allowed moment, the 26th 08:30, is under 2 h before the appointment)."""
    from datetime import UTC, timedelta

    at = schedule.reminder_time(
        paris(2026, 12, 26, 10, 0), timedelta(hours=24), PARIS, now=datetime.now(UTC), sms=True
    )
    assert at == paris(2026, 12, 24, 19, 59)
