"""What is announced on the channel layer, to whom, and the one sync helper that announces it.

Announcements are notices, never the record: each says "look at the database" (a sequence number
or "the inbox changed"), so a lost announcement costs a refresh, never a message. Services call
`announce` from `transaction.on_commit`, so nothing is announced that was rolled back.
"""

import logging
from typing import Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

Side = Literal["client", "clinic"]

STAFF_INBOX_GROUP = "messaging.staff"


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


def announce_many(sends: list[tuple[str, Event]]) -> None:
    """Several announcements in one hop to the event loop (each hop costs a thread switch)."""
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group, event in sends:
            try:
                await layer.group_send(group, dict(event))
            except Exception:
                logger.exception("Could not announce %s to %s", event.get("type"), group)

    try:
        async_to_sync(send_all)()
    except Exception:
        logger.exception("Could not announce %d events", len(sends))


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
