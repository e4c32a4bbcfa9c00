"""The agenda's websocket: staff say which days their page shows, and hear when one changes.

Thin, like messaging's consumers: it checks who is there at connect and again on every event
(account active, session alive and unchanged, still staff, second factor passed), joins one
channel-layer group per watched day (booking.events.agenda_group) and the account's group (so
signing out, or out everywhere, closes it), and forwards "this day changed". It sends no
agenda content: the page reloads its grid over HTTP, through the same view and checks as any
page load.

Frames from the browser: {"type": "watch", "days": ["YYYY-MM-DD", ...]} (at most MAX_DAYS; a
new watch replaces the last), answered {"type": "watching", "days": [...]}, or
{"type": "error", "error": "..."} with the watch left as it was.
Frames to the browser: {"type": "changed", "day": "YYYY-MM-DD"}.
"""

import json
import re
from datetime import date
from importlib import import_module

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from booking import events
from portal import sessions
from portal.access import is_staff
from portal.models import User

# Close codes in the 4000 range are the application's own (RFC 6455 §7.4.2), as messaging's.
CLOSE_FORBIDDEN = 4403
MAX_DAYS = 7  # a week view
MAX_FRAME = 512  # characters: seven dates and a little JSON fit with room to spare
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_watch(text: str | None) -> list[date] | str:
    """The days of a watch frame, each once and in order, or why the frame is refused."""
    if text is None or len(text) > MAX_FRAME:
        return "frame too large"
    try:
        payload = json.loads(text)
    except ValueError:
        return "not JSON"
    if not isinstance(payload, dict) or payload.get("type") != "watch":
        return "unknown frame"
    raw = payload.get("days")
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        return "days must be a list of dates"
    if len(raw) > MAX_DAYS:
        return f"at most {MAX_DAYS} days"
    days: list[date] = []
    for item in raw:
        if not _ISO_DAY.fullmatch(item):
            return "days must be YYYY-MM-DD"
        try:
            days.append(date.fromisoformat(item))
        except ValueError:
            return "days must be YYYY-MM-DD"
    return list(dict.fromkeys(days))


def staff_of(scope: dict, *, fresh: bool) -> User | None:
    """The socket's user if they may watch the agenda, else None.

    At connect (`fresh=False`) AuthMiddleware has just read the session and the user in this
    very handshake and compared the session's auth hash with the password: the role and the
    second factor are left to check. On a later event (`fresh=True`) everything is read again:
    the session row still there and unexpired (signed out, revoked, past its limits), the
    account still active with the same password, still staff.
    """
    user = scope.get("user")
    session = scope.get("session")
    if user is None or not user.is_authenticated or session is None:
        return None
    if fresh:
        key = session.session_key
        if not key or not _session_alive(key):
            return None
        user = User.objects.filter(pk=user.pk, is_active=True).first()
        if user is None or not sessions.auth_hash_matches(
            session.get(HASH_SESSION_KEY), user.password
        ):
            return None
    if not is_staff(user):
        return None
    # Staff always pass a second factor (the HTTP side's TwoFactorRequiredMiddleware).
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    return user


def _session_alive(key: str) -> bool:
    if sessions.stored_in_table():
        # The row's expiry is the sign-in's idle or absolute limit (portal/sessions.py).
        return Session.objects.filter(session_key=key, expire_date__gt=timezone.now()).exists()
    return import_module(settings.SESSION_ENGINE).SessionStore().exists(key)


class AgendaConsumer(AsyncWebsocketConsumer):
    user_id: int | None = None

    async def connect(self) -> None:
        self.watched: set[str] = set()
        user = await database_sync_to_async(staff_of)(self.scope, fresh=False)
        if user is None:
            await self.close(code=CLOSE_FORBIDDEN)  # before accept: the handshake is refused
            return
        self.user_id = user.pk
        self.account_group = sessions.user_group(user.pk)
        await self.channel_layer.group_add(self.account_group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.watched:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.watched = set()
        if self.user_id is not None:
            await self.channel_layer.group_discard(self.account_group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not await self._still_allowed():
            return
        days = parse_watch(text_data)
        if isinstance(days, str):
            await self.send(text_data=json.dumps({"type": "error", "error": days}))
            return
        wanted = {events.agenda_group(day) for day in days}
        for group in self.watched - wanted:
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in wanted - self.watched:
            await self.channel_layer.group_add(group, self.channel_name)
        self.watched = wanted
        shown = [day.isoformat() for day in days]
        await self.send(text_data=json.dumps({"type": "watching", "days": shown}))

    async def agenda_changed(self, event: events.AgendaChanged) -> None:
        if await self._still_allowed():
            await self.send(text_data=json.dumps({"type": "changed", "day": event["day"]}))

    async def sessions_revoked(self, event: dict) -> None:
        await self._still_allowed()

    async def _still_allowed(self) -> bool:
        """Re-checks the user; closes the socket (and says False) when they may no longer."""
        user = await database_sync_to_async(staff_of)(self.scope, fresh=True)
        if user is None or user.pk != self.user_id:
            await self.close(code=CLOSE_FORBIDDEN)
            return False
        return True
