"""What is announced on the channel layer, to whom, and the one sync helper that announces it.

Announcements are notices, never the record: each says "look at the database" (a sequence number
or "the inbox changed"), so a lost announcement costs a refresh, never a message. Services call
`announce` from `transaction.on_commit`, so nothing is announced that was rolled back.
"""

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

Side = Literal["client", "clinic"]

STAFF_INBOX_GROUP = "messaging.staff"

# An announcement waits at most this long for the channel layer: it runs after the write has
# committed, in the request, and a hung Redis must not hold the sender's page.
ANNOUNCE_TIMEOUT = 1.0


def conversation_group(conversation_id: int) -> str:
    return f"messaging.conversation.{conversation_id}"


def client_group(client_id: int) -> str:
    return f"messaging.client.{client_id}"


class NewMessages(TypedDict):
    type: Literal["conversation.messages"]
    last_seq: int


class ReadMark(TypedDict):
    type: Literal["conversation.read"]
    side: Side
    seq: int


class Typing(TypedDict):
    type: Literal["conversation.typing"]
    side: Side
    user_id: int


class ConversationChanged(TypedDict):
    type: Literal["conversation.changed"]


class InboxChanged(TypedDict):
    type: Literal["inbox.changed"]


Event = NewMessages | ReadMark | Typing | ConversationChanged | InboxChanged


def announce(group: str, event: Event) -> None:
    """Send `event` to everyone listening on `group`; a failing layer is logged, not raised.

    The write it announces is already committed: failing the request now would make the sender
    retry a message that exists. Listeners catch up from the database on their next event or
    reconnect.
    """
    announce_many([(group, event)])


# What the sender reads when the message is stored but the live fan-out could not run.
PAUSED = _(
    "Your message is saved. Live updates are paused for now: it will appear for the other side "
    "when they open or reload the conversation."
)


@dataclass
class FanOut:
    """Whether the announcements made inside `watching()` all reached the channel layer."""

    failed: bool = False


_local = threading.local()


@contextmanager
def watching() -> Iterator[FanOut]:
    """Notes whether the live fan-out failed for what this thread posts inside the block (the
    announcements run on commit, inside the service call), so the sender can be told that the
    message is stored but will be seen on reload only."""
    fan_out = FanOut()
    previous = getattr(_local, "fan_out", None)
    _local.fan_out = fan_out
    try:
        yield fan_out
    finally:
        _local.fan_out = previous


Sends = list[tuple[str, Event]]


@contextmanager
def collecting() -> Iterator[Sends]:
    """Announcements made by this thread inside the block are kept in the list it gives, not
    sent: a websocket consumer sends them from the event loop itself (`send_all`) once its
    database call has returned, rather than the database thread hopping to the loop and waiting
    there for the channel layer (a thread switch each way, while the next event waits)."""
    sends: Sends = []
    previous = getattr(_local, "collected", None)
    _local.collected = sends
    try:
        yield sends
    finally:
        _local.collected = previous


async def send_all(sends: Sends) -> bool:
    """The announcements, each given ANNOUNCE_TIMEOUT: the first, then the others at once (a
    down layer costs one timeout, not one per group); False when any could not be sent, each
    failure logged."""
    layer = get_channel_layer()
    if layer is None or not sends:
        return True

    async def one(group: str, event: Event) -> bool:
        try:
            await asyncio.wait_for(layer.group_send(group, dict(event)), ANNOUNCE_TIMEOUT)
            return True
        except Exception as exc:
            logger.warning(
                "Could not announce %s to %s (%s: %s): listeners catch up on reconnect",
                event.get("type"),
                group,
                type(exc).__name__,
                exc,
            )
            return False

    # The first (the conversation's own notice, which the other side is waiting for) alone, so
    # the inboxes' notices do not hold it up; when it fails the layer is down: stop there.
    if not await one(*sends[0]):
        return False
    return all(await asyncio.gather(*(one(group, event) for group, event in sends[1:])))


def announce_many(sends: Sends) -> bool:
    """Several announcements in one hop to the event loop (each hop costs a thread switch).

    False when any could not be sent (the channel layer is down or too slow); logged, and noted
    for `watching()`. Inside `collecting()`, kept for the caller to send instead.
    """
    collected = getattr(_local, "collected", None)
    if collected is not None:
        collected.extend(sends)
        return True
    if get_channel_layer() is None:
        return True
    try:
        ok = async_to_sync(send_all)(sends)
    except Exception:
        logger.exception("Could not announce %d events", len(sends))
        ok = False
    if not ok and getattr(_local, "fan_out", None) is not None:
        _local.fan_out.failed = True
    return ok


def announce_messages(conversation_id: int, client_id: int, last_seq: int) -> None:
    announce_many(
        [
            (
                conversation_group(conversation_id),
                NewMessages(type="conversation.messages", last_seq=last_seq),
            ),
            *_inbox_sends(client_id),
        ]
    )


def announce_inboxes(client_id: int) -> None:
    announce_many(_inbox_sends(client_id))


def _inbox_sends(client_id: int) -> list[tuple[str, Event]]:
    return [
        (STAFF_INBOX_GROUP, InboxChanged(type="inbox.changed")),
        (client_group(client_id), InboxChanged(type="inbox.changed")),
    ]
