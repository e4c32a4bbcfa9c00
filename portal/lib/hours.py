"""When is the clinic open? Asked by apps that may not import booking (the out-of-hours note).

booking registers the real answer from its weekly hours in its AppConfig.ready(); until then (or
in a deployment without booking) nothing is known and callers say so plainly.
"""

from collections.abc import Callable
from datetime import datetime

# provider(now) -> the next moment the clinic is open (now itself when it is open), or None.
OpeningProvider = Callable[[datetime], datetime | None]
_provider: OpeningProvider | None = None


def set_opening_provider(provider: OpeningProvider | None) -> None:
    global _provider  # one process-wide registration, made at start-up
    _provider = provider


def next_opening(now: datetime) -> datetime | None:
    """`now` when open, the next opening when closed, None when unknown or never."""
    return _provider(now) if _provider is not None else None


def is_open(now: datetime) -> bool | None:
    """True or False when the hours are known, None when they are not."""
    if _provider is None:
        return None
    opening = _provider(now)
    return opening is not None and opening <= now
