"""Which number a client should call now: the clinic's, or its emergency line when closed.

Opening hours come from `portal.lib.hours` (booking registers the real answer); messaging never
imports booking. Unknown hours say nothing about being closed, so the main number is given,
with the emergency line beside it where the page has room.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache

from portal.lib import hours
from portal.lib.phones import display_phone
from portal.models import Clinic


@dataclass(frozen=True)
class Line:
    number: str  # as stored (E.164), for the tel: link
    emergency: bool  # the emergency line rather than the clinic's main number

    @property
    def display(self) -> str:
        return display_phone(self.number)


def next_opening(now: datetime) -> datetime | None:
    """booking's answer, kept a minute: it expands weeks of hours, and every client message
    and every conversation page asks. Hours edited now apply within the minute."""
    key = f"messaging:next-opening:{int(now.timestamp() // 60)}"
    cached = cache.get(key)
    if cached is None:
        cached = (hours.next_opening(now),)
        cache.set(key, cached, 90)
    return cached[0]


def closed_now(now: datetime) -> bool | None:
    """True when the clinic is closed at `now`, False when open, None when the hours are unknown
    (no provider, or no hours set: `next_opening` is None)."""
    opening = next_opening(now)
    if opening is None:
        return None
    return opening > now


def line_to_call(clinic: Clinic, now: datetime) -> Line | None:
    """The emergency line when the clinic is closed and has one, else the main number."""
    if clinic.emergency_phone and closed_now(now):
        return Line(clinic.emergency_phone, emergency=True)
    if clinic.phone:
        return Line(clinic.phone, emergency=False)
    if clinic.emergency_phone:
        return Line(clinic.emergency_phone, emergency=True)
    return None
