"""Who may read which conversation: the client it belongs to, and the clinic team.

Used by the views and, on every event, by the websocket consumers. A stranger gets the same
answer as for a conversation that does not exist (404 / refused), and a DENIED line in the log.
"""

from django.contrib.sessions.backends.base import SessionBase
from django.http import Http404
from django_otp import DEVICE_ID_SESSION_KEY, user_has_device
from django_otp.models import Device

from messaging.models import Conversation
from portal.access import is_staff
from portal.models import AccessLog, User

OBJECT_TYPE = "conversation"


def can_read(user: User, conversation: Conversation) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return is_staff(user) or conversation.client.user_id == user.pk


def conversation_for(user: User, pk: int) -> Conversation:
    """The conversation if `user` may read it, else 404 (the caller logs the refusal)."""
    conversation = (
        Conversation.objects.select_related("client", "patient", "assignee").filter(pk=pk).first()
    )
    if conversation is None or not can_read(user, conversation):
        raise Http404
    return conversation


def session_verified(user: User, session: SessionBase) -> bool:
    """The second factor, as the HTTP middleware demands it: staff always, clients if enrolled."""
    if not (is_staff(user) or user_has_device(user, confirmed=True)):
        return True
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    return device is not None and device.user_id == user.pk and device.confirmed


def log_scope(scope: dict, *, user: User | None, action: str, object_id: object, detail: str = ""):
    """log_access for a websocket: the same line, with the address and agent from the scope."""
    headers = dict(scope.get("headers") or [])
    client = scope.get("client") or [None]
    return AccessLog.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=str(object_id),
        detail=detail[:300],
        ip=client[0] or None,
        user_agent=headers.get(b"user-agent", b"").decode("latin-1")[:300],
    )
