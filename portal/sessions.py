"""Sessions: how long a sign-in lasts, ending sign-ins elsewhere, and pages no cache may keep.

- The session engine (SESSION_ENGINE = "portal.sessions"): Django's database sessions, whose
  row expires with the limits below even when the cookie lasts only until the browser closes,
  so a websocket (which reads the row's expiry) ends when the sign-in would.
- `SessionLimitsMiddleware`: an idle limit and an absolute limit, per role (staff or client).
  Two timestamps live in the session itself (no query); the session is written at most once a
  minute. On expiry the person is signed out and sent to the sign-in page, which says why, and
  returns to the page they were on after signing in again; an htmx request gets HX-Redirect so
  the whole page goes, rather than a sign-in form swapped into a fragment.
- Every page the middleware answers carries `Cache-Control: private, no-store` (static files are
  served before it, by WhiteNoise or nginx, and stay cacheable).
- `end_sessions`: "sign out everywhere" and a password change end the account's other sessions
  (through allauth.usersessions' list of them) and, on commit, tell the account's open
  websockets, which re-check their session and close.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.usersessions.models import UserSession
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.backends import db
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_htmx.http import HttpResponseClientRedirect

from portal.access import is_staff

logger = logging.getLogger(__name__)

STARTED = "accueil_started"  # when this sign-in began (seconds since the epoch)
SEEN = "accueil_seen"  # the last request that wrote the session (at most a minute old)
LIFETIME = "accueil_lifetime"  # seconds the row (and cookie) last from its last write
ENDS_BY = "accueil_ends_by"  # ["idle" or "absolute", its limit in seconds]: what ends it first
ENDED = "accueil_ended"  # in the next, anonymous session: why the last one ended
WRITE_EVERY = 60  # seconds: the session is written at most this often for activity alone
NO_STORE = "private, no-store"
# Sent by a page that reloads part of itself unasked (booking/static/booking/agenda-live.js):
# such a request is checked against the limits but does not count as activity.
BACKGROUND_HEADER = "X-Accueil-Background"


@dataclass(frozen=True)
class Limits:
    idle: int  # seconds without a request
    absolute: int  # seconds since signing in


def limits_for(user) -> Limits:
    if is_staff(user):
        return Limits(settings.ACCUEIL_SESSION_IDLE_STAFF, settings.ACCUEIL_SESSION_MAX_STAFF)
    return Limits(settings.ACCUEIL_SESSION_IDLE_CLIENT, settings.ACCUEIL_SESSION_MAX_CLIENT)


class SessionStore(db.SessionStore):
    """Database sessions whose row lasts what our limits allow, "remember me" or not.

    Django gives a browser-session cookie (expiry 0) a row of SESSION_COOKIE_AGE; here it is the
    lifetime the middleware last wrote, so the row, and the websockets that read it, end with
    the sign-in.
    """

    def get_session_cookie_age(self) -> int:
        return self.get(LIFETIME) or settings.SESSION_COOKIE_AGE

    def load(self) -> dict:
        """The session, or, when its row has expired, a new empty one (a new key, as Django
        does) that remembers why the last ended, for the sign-in page to say. The extra read
        happens only when the browser's session was not found."""
        key = self.session_key
        data = super().load()
        if data or not key:
            return data
        row = self.model.objects.filter(session_key=key).first()
        if row is None:
            return {}
        ends_by = self.decode(row.session_data).get(ENDS_BY)
        return {ENDED: ends_by} if ends_by else {}


def stored_in_table() -> bool:
    """Whether sessions are rows of django_session (their expiry readable in SQL)."""
    from importlib import import_module

    engine = import_module(settings.SESSION_ENGINE)
    return issubclass(engine.SessionStore, db.SessionStore)


# --- Idle and absolute limits --------------------------------------------------------------------


class SessionLimitsMiddleware:
    """Signs out a session past its idle or absolute limit; marks every answer no-store."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            ended = _enforce(request)
            if ended is not None:
                return ended
        elif ENDED in request.session and request.path == resolve_url(settings.LOGIN_URL):
            # Shown once, on the sign-in page (templates/account/login.html).
            request.session_ended = ended_message(request.session.pop(ENDED))
        response = self.get_response(request)
        # Any page may show health data or carry a token (one-tap links, offers, invitations):
        # no browser or proxy cache keeps it, and Back after signing out shows nothing. (A view
        # that already said no-store and private keeps its own wording.)
        said = {part.strip() for part in response.get("Cache-Control", "").split(",")}
        if said != {"no-store", "private"}:
            response["Cache-Control"] = NO_STORE
        return response


def _enforce(request: HttpRequest) -> HttpResponse | None:
    session = request.session
    now = int(time.time())
    limits = limits_for(request.user)
    started, seen = session.get(STARTED), session.get(SEEN)
    if not isinstance(started, int) or not isinstance(seen, int):
        _stamp(session, limits, started=now, now=now)
        return None
    if now - started >= limits.absolute:
        return _sign_out(request, ["absolute", limits.absolute])
    if now - seen >= limits.idle:
        return _sign_out(request, ["idle", limits.idle])
    if request.headers.get(BACKGROUND_HEADER) == "1":
        return None  # a page refreshing itself (the live agenda) is not the person's activity
    # Written when a minute has passed, or when something else set the expiry (allauth's
    # "remember me" at sign-in) so the row's expiry is ours again.
    ours = session.get("_session_expiry") in (0, session.get(LIFETIME))
    if now - seen >= WRITE_EVERY or not ours:
        _stamp(session, limits, started=started, now=now)
        # "Last seen" on the account's list of sign-ins: as fresh as the session itself.
        UserSession.objects.filter(session_key=session.session_key).update(
            last_seen_at=timezone.now()
        )
    return None


def _stamp(session, limits: Limits, *, started: int, now: int) -> None:
    lifetime = max(1, min(limits.idle, started + limits.absolute - now))
    session[STARTED] = started
    session[SEEN] = now
    session[LIFETIME] = lifetime
    by_idle = lifetime == limits.idle
    session[ENDS_BY] = ["idle", limits.idle] if by_idle else ["absolute", limits.absolute]
    if session.get("_session_expiry") != 0:  # 0: the cookie ends with the browser; kept so
        session.set_expiry(lifetime)


def _sign_out(request: HttpRequest, ends_by: list) -> HttpResponse:
    """A limit passed while the row was still there (it usually expires first: `load`)."""
    back = return_to(request)
    logout(request)
    request.session[ENDED] = ends_by
    response = redirect_to_login(back)
    if request.headers.get("HX-Request") == "true":
        # The whole page goes to the sign-in form, not a fragment of it.
        response = HttpResponseClientRedirect(response["Location"])
    response["Cache-Control"] = NO_STORE
    return response


def return_to(request: HttpRequest) -> str:
    """The page to come back to: this one for a plain GET, else the page it was sent from."""
    hosts = {request.get_host()}
    if request.method == "GET" and request.headers.get("HX-Request") != "true":
        return request.get_full_path()
    page = request.headers.get("HX-Current-URL") or request.headers.get("Referer") or ""
    if page and url_has_allowed_host_and_scheme(page, hosts):
        parts = urlsplit(page)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def duration(seconds: int) -> str:
    """The largest whole unit: "30 minutes", "12 hours", "7 days"."""
    if seconds % 86400 == 0:
        days = seconds // 86400
        return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    minutes = max(1, seconds // 60)
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def ended_message(ends_by: object) -> str:
    kind, seconds = ends_by if isinstance(ends_by, list) and len(ends_by) == 2 else ("", 0)
    if kind == "absolute" and isinstance(seconds, int):
        return absolute_message(seconds)
    if kind == "idle" and isinstance(seconds, int):
        return idle_message(seconds)
    return _("You were signed out. Sign in again to carry on where you were.")


def idle_message(seconds: int) -> str:
    return _(
        "You were signed out after %(duration)s without activity. Sign in again to carry on "
        "where you were."
    ) % {"duration": duration(seconds)}


def absolute_message(seconds: int) -> str:
    return _(
        "For your security, a sign-in lasts at most %(duration)s. Sign in again to carry on "
        "where you were."
    ) % {"duration": duration(seconds)}


# --- Ending sessions -----------------------------------------------------------------------------


def user_group(user_id: int) -> str:
    """The channel-layer group every open websocket of this account listens on."""
    return f"accounts.user.{user_id}"


REVOKED = "sessions.revoked"  # the event: "re-check your session now"
ANNOUNCE_TIMEOUT = 1.0


def end_sessions(user, *, keep: str | None) -> int:
    """Ends every session of `user` except the one keyed `keep`; returns how many ended.

    Sessions are found through allauth.usersessions' rows (one per sign-in). Open websockets
    of the account are told after commit and re-check their own session: those whose session
    is gone, or whose auth hash no longer matches the password, close.
    """
    from allauth.usersessions.adapter import get_adapter

    with transaction.atomic():
        ending = [
            session
            for session in UserSession.objects.filter(user_id=user.pk)
            if session.session_key != keep
        ]
        get_adapter().end_sessions(ending)
        transaction.on_commit(lambda: tell_sockets(user.pk))
    return len(ending)


def tell_sockets(user_id: int) -> None:
    """Sends the revocation notice to the account's websockets; a failing layer is logged (the
    sockets still re-check their session on their next event)."""
    layer = get_channel_layer()
    if layer is None:
        return

    async def send() -> None:
        await asyncio.wait_for(
            layer.group_send(user_group(user_id), {"type": REVOKED}), ANNOUNCE_TIMEOUT
        )

    try:
        async_to_sync(send)()
    except Exception as exc:
        logger.warning(
            "Could not tell user %s's websockets to re-check (%s)", user_id, type(exc).__name__
        )


def _password_changed(sender, request: HttpRequest, user, **kwargs) -> None:
    """A new password ends every other sign-in of the account (this one continues, with the
    new auth hash Django gave it; after a reset from an e-mail link, none is kept)."""
    same = getattr(request, "user", None) is not None and request.user.pk == user.pk
    keep = request.session.session_key if same else None
    end_sessions(user, keep=keep)


def _logged_in(sender, request: HttpRequest, user, **kwargs) -> None:
    """A fresh sign-in starts its own clock, written with the sign-in itself (the session is
    saved then anyway), so the first page after it writes nothing."""
    request.session.pop(ENDED, None)
    now = int(time.time())
    _stamp(request.session, limits_for(user), started=now, now=now)


def connect_signals() -> None:
    """Called from PortalConfig.ready()."""
    from allauth.account.signals import password_changed, password_reset, password_set
    from django.contrib.auth.signals import user_logged_in

    for signal in (password_changed, password_set, password_reset):
        signal.connect(_password_changed, dispatch_uid=f"portal.sessions.{id(signal)}")
    user_logged_in.connect(_logged_in, dispatch_uid="portal.sessions.logged_in")


# --- The account's sign-ins, as the security page lists them ------------------------------------


@dataclass(frozen=True)
class SignIn:
    device: str
    ip: str
    started: object  # datetime
    last_seen: object  # datetime
    current: bool


_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str) -> str:
    """A short name such as "Firefox, Android": enough to recognise one's own devices."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser or system:
        return ", ".join(part for part in (browser, system) if part)
    return _("Unknown device")


def signed_in(user, *, current_key: str | None) -> list[SignIn]:
    """The account's live sign-ins, this one first, then the most recently seen.

    Three queries whatever their number: the account's rows, their sessions (read and decoded
    here, rather than one by one as allauth's list does), and the removal of rows whose session
    has ended or no longer matches the password.
    """
    from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.models import Session

    rows = list(UserSession.objects.filter(user_id=user.pk))
    live = {
        session.session_key: session.get_decoded()
        for session in Session.objects.filter(
            session_key__in=[row.session_key for row in rows], expire_date__gt=timezone.now()
        )
    }

    def alive(row: UserSession) -> bool:
        data = live.get(row.session_key, {})
        return str(data.get(SESSION_KEY)) == str(user.pk) and auth_hash_matches(
            data.get(HASH_SESSION_KEY), user.password
        )

    ended = [row.pk for row in rows if not alive(row)]
    if ended:
        UserSession.objects.filter(pk__in=ended).delete()
    found = [
        SignIn(
            device=describe_device(row.user_agent),
            ip=row.ip,
            started=row.created_at,
            last_seen=row.last_seen_at,
            current=row.session_key == current_key,
        )
        for row in rows
        if row.pk not in ended
    ]
    return sorted(found, key=lambda sign_in: (not sign_in.current, -sign_in.last_seen.timestamp()))


def auth_hash_matches(session_hash: str | None, password: str | None) -> bool:
    """Whether a session's auth hash still matches the account's password hash: Django's own
    check on every request (django.contrib.auth.get_user), for a websocket that holds its
    session and reads the password column with its access re-check."""
    if not session_hash or not password:
        return False
    from django.contrib.auth import get_user_model

    probe = get_user_model()(password=password)
    expected = [probe.get_session_auth_hash(), *probe.get_session_auth_fallback_hash()]
    return any(constant_time_compare(session_hash, value) for value in expected)


def touch(session_key: str, user) -> None:
    """Activity outside HTTP (a message sent over a websocket) keeps the session alive as a
    request would: its clock and its row move on. The caller calls at most once a minute; a
    session already past a limit is left to end."""
    store = SessionStore(session_key)
    started, seen = store.get(STARTED), store.get(SEEN)  # one read
    if not isinstance(started, int) or not isinstance(seen, int):
        return
    now = int(time.time())
    limits = limits_for(user)
    if now - started >= limits.absolute or now - seen >= limits.idle or now - seen < WRITE_EVERY:
        return
    _stamp(store, limits, started=started, now=now)
    store.save()
