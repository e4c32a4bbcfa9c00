"""How long a failed sign-in lock still holds, and what the locked person reads.

allauth counts failed sign-ins (ACCOUNT_RATE_LIMITS["login_failed"]) per account and per IP in
the default cache and, past a limit, only says "too many attempts". A person at the clinic's
desk needs to know how long to wait and whom to call, so we read the same counters back.

allauth keeps, per rate, the timestamps of the attempts within its window, newest first: the lock
lifts when the oldest attempt that still counts toward the limit leaves the window. The keys
and the history format are allauth's internals (allauth.core.internal.ratelimit, checked by
tests/portal/test_login_lockout.py): if they change, the wait falls back to the whole window.
"""

import math
import time

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext

from portal.lib.phones import display_phone
from portal.models import Clinic

APP = "allauth.account"
ACTION = "login_failed"


def seconds_locked(request: HttpRequest, key: str) -> float:
    """Seconds until a failed-sign-in lock on this account (`key`) or on this IP lifts; 0 when
    none holds."""
    from allauth.core.internal import ratelimit

    now = time.time()
    wait = 0.0
    for rate in ratelimit.get_rates(app=APP, action=ACTION):
        try:
            cache_key = ratelimit.get_cache_key(request, app=APP, action=ACTION, rate=rate, key=key)
            history = [ts for ts in cache.get(cache_key, []) if ts > now - rate.duration]
        except (AttributeError, TypeError, ValueError):  # allauth's internals moved: whole window
            wait = max(wait, rate.duration)
            continue
        if len(history) >= rate.amount:
            oldest_counted = sorted(history, reverse=True)[rate.amount - 1]
            wait = max(wait, oldest_counted + rate.duration - now)
    return wait


def locked_message(seconds: float, clinic: Clinic | None = None) -> str:
    """ "Too many failed attempts … Try again in 4 minutes, or call the clinic on 04 78 …"."""
    clinic = clinic or Clinic.current()
    minutes = max(1, math.ceil(seconds / 60))
    wait = ngettext(
        "Too many failed sign-in attempts: signing in is paused for your safety. "
        "Try again in %(minutes)d minute",
        "Too many failed sign-in attempts: signing in is paused for your safety. "
        "Try again in %(minutes)d minutes",
        minutes,
    ) % {"minutes": minutes}
    if clinic.phone:
        return gettext("%(wait)s, or call the clinic on %(phone)s.") % {
            "wait": wait,
            "phone": display_phone(clinic.phone),
        }
    return gettext("%(wait)s.") % {"wait": wait}
