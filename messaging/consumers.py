"""Websocket consumers: thin. They check, call a service, render a fragment, send it.

Every event, from the browser or from the channel layer, re-checks that the user may still read
the conversation (account active, session alive, conversation still theirs): a user whose
access is revoked mid-connection gets nothing more and is disconnected.

Delivery: the browser says which sequence number it has ("hello"), and the consumer sends
every later message from the database, in order, then only newer ones; announcements carry just
a number, so one lost in a full channel layer is made up by the next event or reconnect.
"""

import json
import logging
import secrets
import time
from importlib import import_module
from typing import Any

from asgiref.sync import SyncToAsync
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections, connections
from django.db.models import Exists, F, OuterRef, Subquery, prefetch_related_objects
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import trans_real
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from messaging import live, prepared, services
from messaging.access import can_read, log_scope, session_verified
from messaging.models import Attachment, Conversation, Message, QuickReply
from portal import sessions
from portal.access import has_duty, is_staff
from portal.models import STAFF_ROLES, AccessLog, Client, Clinic, Duty, User

logger = logging.getLogger(__name__)

# Close codes in the 4000 range are the application's own (RFC 6455 §7.4.2).
CLOSE_FORBIDDEN = 4403
TYPING_EVERY = 2.0  # seconds between two typing notices from one connection
TZ_EVERY = 10.0  # seconds an open socket keeps the clinic's time zone before reading it again

# Columns the hot path's queries read (messaging/prepared.py): whole rows for the conversation,
# its client and its messages; for a person (assignee, author) what names and roles need, the
# other columns deferred (read on first access, were a template to use one).
_CONVERSATION = prepared.fields_of(Conversation)
_CLIENT = prepared.fields_of(Client)
_MESSAGE = prepared.fields_of(Message)
_PERSON = prepared.fields_of(User, ("id", "email", "first_name", "last_name", "role", "is_active"))
_SEQ = 2_147_000_001  # stands for "after this number" while compiling (inside the column range)


def _keep_connection_unless_broken() -> None:
    """After each call: close only connections that failed and are no longer usable.

    channels' database_sync_to_async closes every connection whose CONN_MAX_AGE is over after
    each call, which for the embedded SQLite profile (CONN_MAX_AGE 0) means closing, and so
    checkpointing the WAL, several times per message (profiled: 3/4 of the time). The
    consumers' calls all run in one thread, which keeps its connection.
    """
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and connection.errors_occurred:
            if connection.is_usable():
                connection.errors_occurred = False
            else:
                connection.close()


class _DatabaseSyncToAsync(SyncToAsync):
    def thread_handler(self, loop, *args, **kwargs):
        # What channels' consumers did in a hop of its own before every event (dispatch's
        # aclose_old_connections): a connection past its age is closed, one that failed is
        # checked, and the next query health-checks a kept connection (a restarted PostgreSQL).
        close_old_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            _keep_connection_unless_broken()


def database_sync_to_async(function):
    return _DatabaseSyncToAsync(function)


def _device_of(session) -> tuple[type, int] | None:
    """(device model, pk) of the second factor this session passed, if any."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return None
    device = Device.from_persistent_id(persistent_id)
    return (type(device), device.pk) if device is not None else None


def _language(scope: dict) -> str:
    cookie = (scope.get("cookies") or {}).get(settings.LANGUAGE_COOKIE_NAME)
    candidates = [cookie] if cookie else []
    header = dict(scope.get("headers") or []).get(b"accept-language", b"").decode("latin-1")
    candidates += [code for code, _q in trans_real.parse_accept_lang_header(header)]
    for code in candidates:
        try:
            return trans_real.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


class _CheckedConsumer(AsyncWebsocketConsumer):
    """Session user, fresh from the database on every event, with the second factor checked."""

    user: User | None = None

    async def dispatch(self, message: dict) -> None:
        """channels' dispatch, without its hop to the database thread before every event just to
        tidy connections (a thread switch each way, per socket, per event): our own hops do it
        (`_DatabaseSyncToAsync`), and an event that needs no database needs no hop."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def _fresh_user(self) -> User | None:
        scope_user = self.scope.get("user")
        session = self.scope.get("session")
        if scope_user is None or not scope_user.is_authenticated or session is None:
            return None
        engine = import_module(settings.SESSION_ENGINE)
        if not session.session_key or not engine.SessionStore().exists(session.session_key):
            return None  # signed out (or the session was revoked) since the socket opened
        user = User.objects.filter(pk=scope_user.pk, is_active=True).first()
        if user is None or not session_verified(user, session):
            return None
        # A password changed since (here or elsewhere): the session's auth hash no longer
        # matches, as Django checks on every HTTP request.
        if not sessions.auth_hash_matches(session.get(HASH_SESSION_KEY), user.password):
            return None
        return user

    def _connecting_user(self) -> User | None:
        """At connect, AuthMiddleware has just read the session and the user from the database
        in this very handshake (and checked the session's auth hash against the password): only
        the second factor is left to check."""
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or not user.is_active or session is None:
            return None
        return user if session_verified(user, session) else None

    async def _join_account(self) -> None:
        """Listen for "sessions revoked" (a password change, "sign out everywhere")."""
        self.account_group = sessions.user_group(self.user.pk)
        await self.channel_layer.group_add(self.account_group, self.channel_name)

    async def _leave_account(self) -> None:
        if getattr(self, "account_group", None):
            await self.channel_layer.group_discard(self.account_group, self.channel_name)

    async def _send_html(self, html: str) -> None:
        if html.strip():
            await self.send(text_data=html)

    def _render(self, template: str, context: dict[str, Any]) -> str:
        with translation.override(self.language), timezone.override(self._time_zone()):
            return render_to_string(template, context)

    def _time_zone(self):
        """The clinic's time zone, read again at most every TZ_EVERY seconds per socket: with
        Redis each read is a round trip, and every fragment shows a time."""
        now = time.monotonic()
        if getattr(self, "_tz_until", 0.0) <= now:
            self._tz = Clinic.current().tz
            self._tz_until = now + TZ_EVERY
        return self._tz


class ConversationConsumer(_CheckedConsumer):
    conversation_id: int
    last_sent: int | None = None
    queries: tuple[prepared.Prepared, prepared.Prepared] | None = None

    async def connect(self) -> None:
        self.conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        self.language = _language(self.scope)
        self.last_sent = None
        self.last_typing = 0.0
        self.frames: list[float] = []
        if not await self._open():
            await self.close(code=CLOSE_FORBIDDEN)  # before accept: the handshake is refused
            return
        await self.channel_layer.group_add(
            live.conversation_group(self.conversation_id), self.channel_name
        )
        await self._join_account()
        await self.accept()

    @database_sync_to_async
    def _open(self) -> bool:
        user = self._connecting_user()
        conversation = self._conversation(user)
        if conversation is None:
            log_scope(
                self.scope,
                user=user or self.scope.get("user"),
                action=AccessLog.Action.DENIED,
                object_id=self.conversation_id,
                detail="websocket connect",
            )
            return False
        log_scope(
            self.scope,
            user=user,
            action=AccessLog.Action.VIEW,
            object_id=self.conversation_id,
            detail="websocket",
        )
        services.connection_opened(
            channel_name=self.channel_name, user=user, conversation_id=self.conversation_id
        )
        return True

    def _conversation(self, user: User | None) -> Conversation | None:
        """The full check, at connect: the conversation if `user` may read it."""
        if user is None:
            return None
        conversation = (
            Conversation.objects.select_related("client", "patient", "assignee")
            .filter(pk=self.conversation_id)
            .first()
        )
        if conversation is None or not can_read(user, conversation):
            return None
        self.staff = is_staff(user)
        self.side: live.Side = "clinic" if self.staff else "client"
        session = self.scope["session"]
        self.session_key = session.session_key
        self.session_hash = session.get(HASH_SESSION_KEY)
        self.password_checked = user.password  # AuthMiddleware compared the hash at connect
        self.active_at = time.monotonic()  # the page that opened the socket was activity
        self.device = _device_of(session)
        self.user = user
        self.queries = None  # compiled on the first event (`_prepare`): a connect alone needs none
        return conversation

    def _prepare(self) -> tuple[prepared.Prepared, prepared.Prepared]:
        """Compile the hot path's two queries once (messaging/prepared.py): the access re-check,
        which also reads the conversation as the fragments show it, and "the messages after N"."""
        if self.queries is not None:
            return self.queries
        user_pk = self.user.pk
        query = Conversation.objects.filter(pk=self.conversation_id).order_by()
        # `_person` is the account's password column (NULL when the account no longer may
        # read): the session's auth hash is checked against it, in this same query.
        if self.staff:
            staff = User.objects.filter(pk=user_pk, is_active=True, role__in=STAFF_ROLES)
            query = query.annotate(_person=Subquery(staff.values("password")[:1]))
        else:
            query = query.filter(client__user_id=user_pk, client__user__is_active=True)
            query = query.annotate(_person=F("client__user__password"))
        checks = ["_person"]
        if sessions.stored_in_table():
            # The expiry is read, and compared with now in Python: the SQL never changes.
            query = query.annotate(
                _session_expires=Subquery(
                    Session.objects.filter(session_key=self.session_key).values("expire_date")[:1]
                )
            )
            checks.append("_session_expires")
        if self.device is not None:
            model, pk = self.device
            query = query.annotate(
                _device=Exists(model.objects.filter(pk=pk, user_id=user_pk, confirmed=True))
            )
            checks.append("_device")
        access = prepared.Prepared(
            query.values(
                *_CONVERSATION,
                *prepared.paths("client__", _CLIENT),
                *prepared.paths("assignee__", _PERSON),
                *checks,
            )
        )
        after = prepared.Prepared(
            Message.objects.filter(conversation_id=self.conversation_id, seq__gt=_SEQ)
            .order_by("seq")
            .annotate(_files=Exists(Attachment.objects.filter(message=OuterRef("pk"))))
            .values(*_MESSAGE, *prepared.paths("author__", _PERSON), "_files"),
            seq=_SEQ,
        )
        self.queries = (access, after)
        return self.queries

    def _still_allowed(self) -> Conversation | None:
        """The same rights, re-read in one query on every event (the hot path).

        The session still exists and has not expired (signing out, or a password change
        elsewhere, deletes it), its auth hash still matches the password (`_person` is the
        password column), the account is active (and still staff, with its second-factor
        device still confirmed), and for a client the conversation is still theirs. The query is
        compiled once, on the socket's first event (`_prepare`); it returns the conversation
        with its client and assignee, as the fragments show them.
        """
        access, _after = self._prepare()
        rows = access.rows()
        row = rows[0] if rows else None
        allowed = (
            row is not None
            and row["_person"]
            and self._password_unchanged(row["_person"])
            and (
                row["_session_expires"] is not None and row["_session_expires"] > timezone.now()
                if "_session_expires" in row
                else self._session_exists()
            )
            and (self.device is None or row["_device"])
        )
        if not allowed:
            log_scope(
                self.scope,
                user=self.user,
                action=AccessLog.Action.DENIED,
                object_id=self.conversation_id,
                detail="websocket event after access was revoked",
            )
            return None
        using = access.using
        conversation = prepared.instance(Conversation, using, row, _CONVERSATION)
        conversation.client = prepared.instance(Client, using, row, _CLIENT, "client__")
        conversation.assignee = prepared.instance(User, using, row, _PERSON, "assignee__")
        return conversation

    def _password_unchanged(self, password: str) -> bool:
        """The session's auth hash against the password column, computed again only when the
        column differs from the one last found good (an HMAC, not one per event)."""
        if password == self.password_checked:
            return True
        if not sessions.auth_hash_matches(self.session_hash, password):
            return False
        self.password_checked = password
        return True

    def _active(self) -> None:
        """A message sent is activity: the session's idle clock moves on, as a request's would
        (at most once a minute, so not on the hot path)."""
        now = time.monotonic()
        if now - self.active_at >= sessions.WRITE_EVERY:
            self.active_at = now
            sessions.touch(self.session_key, self.user)

    def _messages_after(self, seq: int) -> list[Message]:
        """Message.objects.after(conversation, seq), through the query compiled at connect:
        the author with each message, the attachments read only for messages that have any."""
        _access, after = self._prepare()
        using = after.using
        messages, with_files = [], []
        for row in after.rows(seq=seq):
            message = prepared.instance(Message, using, row, _MESSAGE)
            message.author = prepared.instance(User, using, row, _PERSON, "author__")
            messages.append(message)
            if row["_files"]:
                with_files.append(message)
            else:
                # Known to have none: the template's `message.attachments.all` asks nothing.
                message._prefetched_objects_cache = {"attachments": _no_attachments()}
        if with_files:
            prefetch_related_objects(with_files, "attachments")
        return messages

    def _session_exists(self) -> bool:
        engine = import_module(settings.SESSION_ENGINE)
        return engine.SessionStore().exists(self.session_key)

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(
            live.conversation_group(self.conversation_id), self.channel_name
        )
        await self._leave_account()
        if self.user is not None:
            await database_sync_to_async(services.connection_closed)(channel_name=self.channel_name)

    async def _refuse(self) -> None:
        await self.close(code=CLOSE_FORBIDDEN)

    # --- From the browser ------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        now = time.monotonic()
        self.frames = [at for at in self.frames if now - at < 10] + [now]
        # Any frame counts here (typing, read marks...); messages have their own per-person
        # limit in the shared cache (services.check_rate).
        if len(self.frames) > settings.ACCUEIL_MESSAGING_FRAMES_PER_10S:
            logger.warning("websocket flood from user %s", getattr(self.user, "pk", None))
            await self._send_error(_("Too many events at once. Please wait a moment."))
            return
        if bytes_data is not None or text_data is None:
            await self._send_error(_("This message could not be read."))
            return
        if len(text_data.encode()) > settings.ACCUEIL_MESSAGING_MAX_FRAME:
            logger.warning("oversized websocket frame (%d bytes) refused", len(text_data))
            await self._send_error(_("This message is too large to be sent."))
            return
        try:
            payload = json.loads(text_data)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            logger.warning("malformed websocket frame refused")
            await self._send_error(_("This message could not be read."))
            return
        claimed = payload.get("conversation")
        if claimed not in (None, "", self.conversation_id, str(self.conversation_id)):
            # A frame naming another conversation: ignored, and logged as a refused read.
            await database_sync_to_async(log_scope)(
                self.scope,
                user=self.user,
                action=AccessLog.Action.DENIED,
                object_id=str(claimed)[:64],
                detail="websocket frame for another conversation",
            )
            await self._send_error(_("This message could not be read."))
            return
        kind = payload.get("type", "message")
        handler = {
            "hello": self._hello,
            "message": self._message,
            "typing": self._typing,
            "read": self._read,
            "ping": self._ping,
        }.get(kind)
        if handler is None:
            await self._send_error(_("This message could not be read."))
            return
        await handler(payload)

    async def _send_error(self, text: str) -> None:
        html = await database_sync_to_async(self._render)(
            "messaging/fragments/error.html", {"error": text}
        )
        await self._send_html(html)

    async def _hello(self, payload: dict) -> None:
        seq = payload.get("last_seq", 0)
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            seq = 0
        self.last_sent = seq
        await self._catch_up(force=True)

    async def _catch_up(self, *, force: bool = False, upto: int | None = None) -> None:
        html = await database_sync_to_async(self._catch_up_html)(force, upto)
        if html is None:
            await self._refuse()
            return
        await self._send_html(html)

    def _catch_up_html(self, force: bool, upto: int | None) -> str | None:
        conversation = self._still_allowed()
        if conversation is None:
            return None
        if self.last_sent is None:
            return ""
        # A browser cannot hold more than exists (a claim from another conversation's page or a
        # forged frame): past the end, it would never be sent anything again.
        self.last_sent = min(self.last_sent, conversation.last_seq)
        if upto is not None and upto <= self.last_sent and not force:
            return ""
        messages = self._messages_after(self.last_sent)
        if not messages and not force:
            return ""
        if messages:
            self.last_sent = messages[-1].seq
        return self._render(
            "messaging/fragments/messages.html",
            {
                "conversation": conversation,
                "thread": messages,
                "viewer_side": self.side,
                "with_status": True,
            },
        )

    async def _message(self, payload: dict) -> None:
        body = payload.get("body", "")
        token = payload.get("client_token", "")
        if not isinstance(body, str) or not isinstance(token, str) or len(token) > 64:
            await self._send_error(_("This message could not be read."))
            return
        posted = await database_sync_to_async(self._post)(body, token)
        if posted is None:
            await self._refuse()
            return
        html, context, sends = posted
        # Announced from here, once stored and committed: the other side's sockets start their
        # catch-up while this one gets its fresh form.
        if not await live.send_all(sends):
            # Stored, but the other side sees it only on reload: say so (the layer is down).
            context["notice"] = live.PAUSED
            html = await database_sync_to_async(self._render)(
                "messaging/fragments/compose.html", context
            )
        await self._send_html(html)

    def _post(self, body: str, token: str) -> tuple[str, dict, live.Sends] | None:
        with translation.override(self.language):  # the refusals' wording
            return self._post_checked(body, token)

    def _post_checked(self, body: str, token: str) -> tuple[str, dict, live.Sends] | None:
        """The compose form to send back (its context, to redo it should the announcements
        fail) and the announcements to make, or None when access is gone."""
        conversation = self._still_allowed()
        if conversation is None:
            return None
        if self.staff and not has_duty(self.user, Duty.MESSAGES, fresh=True):
            return None  # staff answer only with the "messages" duty (issue 11)
        error = ""
        with live.collecting() as sends:
            try:
                services.post_message(
                    conversation_id=conversation.pk,
                    author=self.user,
                    body=body,
                    client_token=token,
                    language=self.language,
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
            except services.RateLimited as exc:
                error = str(exc)
            except PermissionDenied:
                return None
        if not error:
            self._active()
        # A fresh form (new token) after a success; the text kept, with the reason, otherwise.
        context = {
            "conversation": conversation,
            "error": error,
            "notice": "",
            "body": body if error else "",
            "client_token": token if error else _new_token(),
            "oob": True,
            "staff": self.side == "clinic",
            "quick_replies": list(QuickReply.objects.all()) if self.side == "clinic" else [],
        }
        return self._compose(context), context, sends

    def _compose(self, context: dict) -> str:
        """The compose form. After a success it differs from the last one only by its new token
        (and, for the team, by the quick replies if a manager changed them): rendered once per
        socket, the token put in each time."""
        if context["error"] or context["notice"]:
            return self._render("messaging/fragments/compose.html", context)
        key = tuple((reply.pk, reply.title, reply.body) for reply in context["quick_replies"])
        fresh = getattr(self, "_fresh_form", None)
        if fresh is None or fresh[0] != key:
            marker = f"token-{secrets.token_hex(16)}"
            html = self._render(
                "messaging/fragments/compose.html", {**context, "client_token": marker}
            )
            fresh = self._fresh_form = (key, marker, html)
        _key, marker, html = fresh
        return html.replace(marker, context["client_token"])

    async def _typing(self, payload: dict) -> None:
        now = time.monotonic()
        if now - self.last_typing < TYPING_EVERY:
            return
        self.last_typing = now
        if await database_sync_to_async(self._still_allowed)() is None:
            await self._refuse()
            return
        await self.channel_layer.group_send(
            live.conversation_group(self.conversation_id),
            dict(live.Typing(type="conversation.typing", side=self.side, user_id=self.user.pk)),
        )

    async def _read(self, payload: dict) -> None:
        seq = payload.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            return
        sends = await database_sync_to_async(self._mark_read)(seq)
        if sends is None:
            await self._refuse()
            return
        await live.send_all(sends)

    def _mark_read(self, seq: int) -> live.Sends | None:
        conversation = self._still_allowed()
        if conversation is None:
            return None
        with live.collecting() as sends:
            services.mark_read(conversation=conversation, user=self.user, seq=seq)
        services.connection_seen(channel_name=self.channel_name)
        return sends

    async def _ping(self, payload: dict) -> None:
        allowed = await database_sync_to_async(self._seen)()
        if not allowed:
            await self._refuse()

    def _seen(self) -> bool:
        if self._still_allowed() is None:
            return False
        services.connection_seen(channel_name=self.channel_name)
        return True

    # --- From the channel layer ------------------------------------------------------------------

    async def conversation_messages(self, event: live.NewMessages) -> None:
        await self._catch_up(upto=event["last_seq"])

    async def conversation_read(self, event: live.ReadMark) -> None:
        html = await database_sync_to_async(self._status_html)()
        if html is None:
            await self._refuse()
            return
        await self._send_html(html)

    async def conversation_changed(self, event: live.ConversationChanged) -> None:
        await self.conversation_read(event)  # the same fragment: status, assignee, read marks

    async def sessions_revoked(self, event: dict) -> None:
        """Sessions of this account were ended, or its password changed: re-check this one."""
        if await database_sync_to_async(self._still_allowed)() is None:
            await self._refuse()

    def _status_html(self) -> str | None:
        conversation = self._still_allowed()
        if conversation is None:
            return None
        return self._render(
            "messaging/fragments/status.html",
            {"conversation": conversation, "viewer_side": self.side, "oob": True},
        )

    async def conversation_typing(self, event: live.Typing) -> None:
        if event["side"] == self.side:
            return
        if await database_sync_to_async(self._still_allowed)() is None:
            await self._refuse()
            return
        html = await database_sync_to_async(self._render)(
            "messaging/fragments/typing.html", {"side": event["side"]}
        )
        await self._send_html(html)


def _no_attachments():
    """An empty, already evaluated attachments QuerySet, as prefetch_related leaves one
    (iterating `.none()` still goes through the compiler: ~70 µs per message rendered)."""
    empty = Attachment.objects.none()
    empty._result_cache = []
    empty._prefetch_done = True
    return empty


def _new_token() -> str:
    return secrets.token_urlsafe(16)


class InboxConsumer(_CheckedConsumer):
    """Live unread counts: the staff inbox list, or a client's dashboard panel."""

    async def connect(self) -> None:
        self.language = _language(self.scope)
        group = await database_sync_to_async(self._group)()
        if group is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = group
        await self.channel_layer.group_add(group, self.channel_name)
        await self._join_account()
        await self.accept()

    def _group(self) -> str | None:
        user = self._fresh_user()
        if user is None:
            return None
        self.user = user
        self.staff = is_staff(user)
        if self.staff:
            return live.STAFF_INBOX_GROUP
        client = getattr(user, "client", None)
        return live.client_group(client.pk) if client is not None else None

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        await self._leave_account()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return  # nothing to say from this side; frames are ignored

    async def inbox_changed(self, event: live.InboxChanged) -> None:
        html = await database_sync_to_async(self._counts_html)()
        if html is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self._send_html(html)

    async def sessions_revoked(self, event: dict) -> None:
        if await database_sync_to_async(self._fresh_user)() is None:
            await self.close(code=CLOSE_FORBIDDEN)

    def _counts_html(self) -> str | None:
        from messaging import views

        user = self._fresh_user()
        if user is None or user.pk != self.user.pk or is_staff(user) != self.staff:
            return None
        if self.staff:
            query = dict(
                pair.split("=", 1)
                for pair in self.scope.get("query_string", b"").decode().split("&")
                if "=" in pair
            )
            context = views.inbox_context(user, query.get("filter", ""))
            return self._render("messaging/fragments/inbox_live.html", context)
        return self._render(
            "messaging/fragments/client_live.html", views.client_panel_context(user.client)
        )


class EchoConsumer(AsyncWebsocketConsumer):
    """Benchmarks only (ACCUEIL_BENCH_ECHO): the floor a real consumer is compared with."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)
