"""Who is calling: the bearer token names a key; the key's state, network, rate and scope decide.

Every call, accepted or refused, leaves one line in the access log naming the key
(``portal.access.log_access``): the API reads client data on behalf of an integration, and the
clinic must be able to tell which one. The rate limit is a fixed one-minute window per key in
the shared cache; while Redis is down the ``api:rate:`` keys are counted in each process's
memory instead (``LOCAL_WHEN_DOWN`` in settings, ``portal/lib/cache.py``): degraded, each
process counting on its own, but still limiting.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from api.models import ApiKey
from api.problems import Problem
from portal.access import log_access
from portal.lib.net import client_ip
from portal.models import AccessLog

RATE_PREFIX = "api:rate:"
LAST_USED_EVERY = timedelta(seconds=60)  # last_used_at is written at most once a minute


def _log(request: HttpRequest, key: ApiKey | None, *, allowed: bool, why: str = "") -> None:
    match = request.resolver_match
    who = f"{key.name} ({key.prefix}…)" if key is not None else "?"
    detail = f"API {who}: {request.method} {request.path}"
    if why:
        detail += f" — {why}"
    log_access(
        request,
        action=AccessLog.Action.VIEW if allowed else AccessLog.Action.DENIED,
        object_type="api",
        object_id=(match.url_name if match else "")[:64],
        detail=detail,
    )


def count_call(key: ApiKey, now: float | None = None) -> tuple[int, int]:
    """This call's number in the key's current minute, and the seconds until the next one."""
    now = time.time() if now is None else now
    window = int(now // 60)
    name = f"{RATE_PREFIX}{key.pk}:{window}"
    try:
        count = cache.incr(name)
    except ValueError:  # the window's first call (or Redis down and no local count yet)
        if cache.add(name, 1, timeout=120):
            count = 1
        else:  # another process opened the window first
            try:
                count = cache.incr(name)
            except ValueError:
                cache.set(name, 1, timeout=120)
                count = 1
    return count, max(1, math.ceil((window + 1) * 60 - now))


def check_key(request: HttpRequest, token: str, scope: str | None, now: datetime) -> ApiKey:
    """The key for ``token`` if it may make this call, else the Problem that says why (and a
    "refused" line in the access log)."""
    key = ApiKey.objects.by_token(token) if token else None
    if key is None:
        _log(request, None, allowed=False, why="unknown key")
        raise Problem(401, "bad-key", _("No active key matches this token."))
    state = key.state(now)
    if state != "active":
        _log(request, key, allowed=False, why=state)
        if state == "revoked":
            raise Problem(401, "revoked-key", _("This key was revoked by the clinic."))
        raise Problem(401, "expired-key", _("This key has expired: ask the clinic for a new one."))
    ip = client_ip(request)
    if not key.allows_ip(ip):
        _log(request, key, allowed=False, why=f"address {ip} not allowed")
        raise Problem(403, "ip-not-allowed", _("This key may not be used from this address."))
    count, retry_after = count_call(key)
    if count > key.rate_per_minute:
        _log(request, key, allowed=False, why="rate limited")
        problem = Problem(
            429,
            "rate-limited",
            _("At most %(rate)s calls a minute with this key. Try again in %(seconds)s s.")
            % {"rate": key.rate_per_minute, "seconds": retry_after},
        )
        problem.headers["Retry-After"] = str(retry_after)
        raise problem
    if scope is not None and not key.has_scope(scope):
        _log(request, key, allowed=False, why=f"scope {scope} missing")
        raise Problem(
            403, "missing-scope", _("This key lacks the scope “%(scope)s”.") % {"scope": scope}
        )
    _log(request, key, allowed=True)
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


class KeyAuth(HttpBearer):
    """``Authorization: Bearer <token>``; ``scope``: what the operation needs (None: any key)."""

    openapi_description = "An API key created by the clinic's manager (docs/api.md)."

    def __init__(self, scope: str | None = None) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:
        key = check_key(request, token.strip(), self.scope, timezone.now())
        request.api_key = key
        return key
