"""Who wants to hear that a slot became free: an explicit registry, not a signal.

booking must not import the waitlist (it sits above booking), so the waitlist registers a
listener here from its AppConfig.ready(). Listeners run after commit, one by one; a failing
listener is logged and does not stop the others or undo the cancellation.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReleasedSlot:
    """A stretch of a practitioner's time that was booked and no longer is."""

    site_id: int
    service_id: int
    practitioner_id: int
    starts_at: datetime
    ends_at: datetime
    appointment_id: int  # the appointment that held it (cancelled, or moved away)
    by_clinic: bool


SlotListener = Callable[[ReleasedSlot], None]
_listeners: list[SlotListener] = []


def on_slot_released(listener: SlotListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def slot_released(slot: ReleasedSlot) -> None:
    for listener in list(_listeners):
        try:
            listener(slot)
        except Exception:
            logger.exception("slot listener %r failed for %r", listener, slot)
