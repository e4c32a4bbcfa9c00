from datetime import date, datetime

from django import template

from portal.lib import dates
from portal.lib.phones import display_phone

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """A stored E.164 number as a person dials it."""
    return display_phone(value)


@register.filter
def day_month(value: date | datetime | None) -> str:
    """ "1er décembre" / "1 December" (portal/lib/dates.py)."""
    return dates.day_month(value)


@register.filter
def weekday_day_month(value: date | datetime | None) -> str:
    """ "mardi 1er décembre" / "Tuesday 1 December"."""
    return dates.weekday_day_month(value)


@register.filter
def long_date(value: date | datetime | None) -> str:
    """ "lundi 1er décembre 2026" / "Monday 1 December 2026"; `|capfirst` for a heading."""
    return dates.long_date(value)


@register.filter
def day_month_time(value: datetime | None) -> str:
    """ "1er décembre, 14:30" / "1 December, 14:30"."""
    return dates.day_month_time(value)


@register.simple_tag
def colon() -> str:
    """The colon after a label: French puts a space before it ("Motif :"), English does not."""
    return dates.colon()
