"""What booking tells others after a write: a freed slot (to registered listeners), a changed
agenda day (to the staff's open grids, over the channel layer).

Who wants to hear that a slot became free: an explicit registry, not a signal.

booking must not import the waitlist (it sits above booking), so the waitlist registers a
listener here from its AppConfig.ready(). Listeners run after commit, one by one; a failing
listener is logged and does not stop the others or undo the cancellation.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

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


# --- what happened to an appointment, inside the writer's transaction ----------------------------
#
# For those who must not miss it (outbound webhooks write an outbox row per receiver): listeners
# run INSIDE booking's transaction, each in a savepoint, so what they write commits or rolls back
# with the appointment. A failing listener must not refuse the booking: it is logged and tried
# again once the transaction commits (as booking does for the client's messages).


@dataclass(frozen=True)
class AppointmentEvent:
    """What happened to an appointment: ids and times only, never names, notes or reasons."""

    kind: Literal["booked", "moved", "cancelled", "confirmed", "no_show"]
    appointment_id: int
    site_id: int
    service_id: int
    practitioner_id: int
    starts_at: datetime
    ends_at: datetime
    occurred_at: datetime
    version: int
    released: ReleasedSlot | None = None  # a move or a cancellation that frees its old time


AppointmentListener = Callable[[AppointmentEvent], None]
_appointment_listeners: list[AppointmentListener] = []


def on_appointment_event(listener: AppointmentListener) -> None:
    if listener not in _appointment_listeners:
        _appointment_listeners.append(listener)


def appointment_event(event: AppointmentEvent) -> None:
    """Tell the listeners, inside the caller's transaction (see above)."""
    for listener in list(_appointment_listeners):
        try:
            with transaction.atomic():
                listener(event)
        except Exception:
            logger.exception(
                "appointment listener %r failed for %r; again on commit", listener, event
            )
            transaction.on_commit(lambda listener=listener: listener(event), robust=True)


# --- the agenda, live ----------------------------------------------------------------------------
#
# A notice, never the record: "this day changed, read it again". Every receptionist's grid for
# that day reloads itself (booking/consumers.py, booking/static/booking/agenda-live.js), so a lost
# notice costs a stale grid until the next one or a reload, never a booking.

# An announcement waits at most this long for the channel layer: it runs after the write has
# committed, in the request, and a hung Redis must not hold the page that booked.
ANNOUNCE_TIMEOUT = 1.0
AGENDA_EVENT = "agenda.changed"


class AgendaChanged(TypedDict):
    type: Literal["agenda.changed"]
    day: str  # YYYY-MM-DD, in the clinic's zone
    site_id: int | None


def agenda_group(day: date) -> str:
    """One group per local day, every site together: the agenda shows the whole clinic on one
    page (the site is in the event for a page that would want only its own)."""
    return f"agenda.day.{day.isoformat()}"


def agenda_changed(*, day: date, site_id: int | None = None) -> None:
    """Tell everyone watching `day` that its agenda changed, once the transaction commits.

    Outside a transaction it is sent at once. It never raises: the write it announces is
    committed, and failing the request now would make the person retry a booking that exists.
    """
    agenda_days_changed([day], site_id=site_id)


def agenda_changed_at(*instants: datetime | None, site_id: int | None = None) -> None:
    """`agenda_changed` for the local day of each instant (a move: the old and the new start)."""
    from portal.models import Clinic

    tz = Clinic.current().tz
    agenda_days_changed(
        [instant.astimezone(tz).date() for instant in instants if instant], site_id=site_id
    )


def agenda_days_changed(days: Iterable[date], *, site_id: int | None = None) -> None:
    """`agenda_changed` for several days (each once), sent together after commit."""
    events = [
        (agenda_group(day), AgendaChanged(type=AGENDA_EVENT, day=day.isoformat(), site_id=site_id))
        for day in dict.fromkeys(days)
    ]
    if events:
        transaction.on_commit(lambda: _announce(events), robust=True)


def _announce(events: list[tuple[str, AgendaChanged]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send() -> None:
        # One after the other, each given ANNOUNCE_TIMEOUT: when one fails the layer is down,
        # and the others are not tried (a down Redis costs the request one timeout, not one per
        # day).
        for group, event in events:
            await asyncio.wait_for(layer.group_send(group, dict(event)), ANNOUNCE_TIMEOUT)

    try:
        async_to_sync(send)()
    except Exception as exc:
        # Redis down or too slow: the grids catch up on their next notice, reconnect or reload.
        logger.warning(
            "Could not announce %d agenda change(s) (%s: %s)",
            len(events),
            type(exc).__name__,
            exc,
        )
