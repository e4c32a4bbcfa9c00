"""Dates as people write them, in French and English: "1er décembre", "lundi 1er décembre 2026".

French writes the first of the month "1er" and keeps weekdays and months lower-case (a heading
capitalises with `|capfirst`); English says "1 December", "Monday 1 December 2026". Aware
datetimes are shown in the active zone (the clinic's, set per request by
ClinicTimezoneMiddleware). The template filters in portal_tags wrap these.
"""

from datetime import date, datetime

from django.utils import formats, timezone
from django.utils.translation import get_language


def _local(value: date | datetime) -> date:
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def _french() -> bool:
    return (get_language() or "").startswith("fr")


def _day_number(value: date) -> str:
    return "1er" if value.day == 1 and _french() else str(value.day)


def _name(value: date, letter: str) -> str:
    """The weekday ("l") or month ("F") name; lower-case in French whatever a catalogue says
    (an app translating its own "Monday" choice label as "Lundi" changes Django's date names
    too, and French writes them lower-case mid-sentence)."""
    name = formats.date_format(value, letter)
    return name.lower() if _french() else name


def day_month(value: date | datetime | None) -> str:
    """ "1er décembre" / "1 December"."""
    if not value:
        return ""
    value = _local(value)
    return f"{_day_number(value)} {_name(value, 'F')}"


def weekday_day_month(value: date | datetime | None) -> str:
    """ "mardi 1er décembre" / "Tuesday 1 December": a date near enough to need no year."""
    if not value:
        return ""
    value = _local(value)
    return f"{_name(value, 'l')} {day_month(value)}"


def long_date(value: date | datetime | None) -> str:
    """ "lundi 1er décembre 2026" / "Monday 1 December 2026"."""
    if not value:
        return ""
    value = _local(value)
    return f"{weekday_day_month(value)} {value.year}"


def day_month_time(value: datetime | None) -> str:
    """ "1er décembre, 14:30" / "1 December, 14:30": when a message was written or read."""
    if not value:
        return ""
    value = _local(value)
    return f"{day_month(value)}, {formats.time_format(value, 'H:i')}"


def colon() -> str:
    """ " :" in French, ":" in English (typography, not a date, but the same rule of who reads)."""
    return " :" if _french() else ":"
