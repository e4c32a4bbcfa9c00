"""The shared cache as an accelerator: Redis when it answers, a miss when it does not.

Every page reads the cache (the clinic in the time-zone middleware, booking's rules and
availability rows, allauth's sign-in limits, the chat's rate check), so with Django's plain
`RedisCache` a dead Redis made every page a 500. `FailSoftRedisCache` answers as a miss instead:

- On a connection error or a timeout it logs one warning and opens a circuit breaker: for
  `RETRY_AFTER` seconds (per process) no call touches Redis at all, so pages do not each wait for
  a socket. The next call after that tries Redis again; the first that succeeds closes the breaker
  and logs that Redis is back. Socket timeouts are short (the settings' OPTIONS), so even that one
  try costs well under a second.
- While open: `get` gives the default, `get_many` nothing, `has_key` False, `add` False (nothing
  stored), `incr`/`decr` raise ValueError as for a missing key, `set`/`delete`/`touch` do nothing.
- Rate limits must not vanish: keys under `LOCAL_WHEN_DOWN` prefixes (allauth's sign-in limits,
  the chat's per-person counter) are served from a per-process local-memory cache while Redis is
  down. Degraded (each process counts on its own, and the counts are dropped when Redis is back)
  but still limiting.
- Nothing stale after an outage: a write that could not reach Redis (a `set`, `delete`, `incr`)
  may leave an older value there, e.g. booking's availability generation not bumped after a
  booking. Such keys are remembered and deleted from Redis as soon as it answers again, before
  this process reads anything from it, and a background thread keeps trying meanwhile so that
  other processes do not read them for long either.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# What "Redis does not answer" looks like from redis-py (BusyLoadingError, a Redis still reading
# its dump after a restart, is a ConnectionError).
FAULTS = (RedisConnectionError, RedisTimeoutError, OSError)


class _Breaker:
    """One per process and Redis location: Django builds a cache object per thread."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        self.lock = threading.Lock()
        self.open_until = 0.0  # monotonic time before which Redis is not tried
        self.down = False
        self.dirty: set[str] = set()  # full Redis keys whose last write was lost
        self.sweeper: threading.Thread | None = None

    def is_open(self) -> bool:
        return self.down and time.monotonic() < self.open_until

    def trip(self, exc: BaseException, location: str) -> None:
        with self.lock:
            if not self.down:
                logger.warning(
                    "Redis cache unreachable (%s: %s): answering as a miss, retrying in %s s",
                    type(exc).__name__,
                    exc,
                    self.retry_after,
                    extra={"cache_location": _safe(location)},
                )
            self.down = True
            self.open_until = time.monotonic() + self.retry_after

    def lost(self, keys: Iterable[str]) -> None:
        with self.lock:
            self.dirty.update(keys)


_breakers: dict[str, _Breaker] = {}
_breakers_lock = threading.Lock()


def _safe(location: str) -> str:
    """The Redis address without a password, for logs."""
    scheme, sep, rest = location.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else location


class FailSoftRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        retry_after = float(params.get("RETRY_AFTER", 3))
        with _breakers_lock:
            self._breaker = _breakers.setdefault(self._location, _Breaker(retry_after))
        self._local_prefixes = tuple(params.get("LOCAL_WHEN_DOWN", ()))
        self._local = LocMemCache(
            f"failsoft:{self._location}", {"TIMEOUT": params.get("TIMEOUT", 300)}
        )

    # --- The guard every call goes through -------------------------------------------------------

    def _guarded(
        self,
        call: Callable[[], Any],
        down: Callable[[], Any],
        *,
        writes: Iterable[str] = (),
    ) -> Any:
        """`call()` against Redis, or `down()` when Redis is known down or fails now.

        `writes` are the full keys the call writes: if it cannot reach Redis they are remembered
        and deleted from Redis when it answers again.
        """
        breaker = self._breaker
        if breaker.is_open():
            breaker.lost(writes)
            return down()
        try:
            if breaker.down:
                self._recover()
            result = call()
        except FAULTS as exc:
            breaker.trip(exc, self._location)
            breaker.lost(writes)
            self._start_sweeper()
            return down()
        return result

    def _recover(self) -> None:
        """Redis may be back: delete what went stale, then close the breaker (raises if not).

        With nothing stale, a PING asks: Redis is back only once it has answered, and only then
        are the local counts dropped (else every retry of a long outage would forget them)."""
        breaker = self._breaker
        with breaker.lock:
            dirty = list(breaker.dirty)
        client = self._cache.get_client(None, write=True)
        if dirty:
            client.delete(*dirty)
        else:
            client.ping()
        with breaker.lock:
            breaker.dirty.difference_update(dirty)
            if breaker.down:
                breaker.down = False
                logger.warning(
                    "Redis cache reachable again (%d stale keys deleted)",
                    len(dirty),
                    extra={"cache_location": _safe(self._location)},
                )
        self._local.clear()

    def _start_sweeper(self) -> None:
        """Keep trying to delete lost keys while no request comes to this process."""
        breaker = self._breaker
        with breaker.lock:
            if not breaker.dirty or (breaker.sweeper and breaker.sweeper.is_alive()):
                return
            breaker.sweeper = threading.Thread(
                target=self._sweep, name="cache-sweeper", daemon=True
            )
            breaker.sweeper.start()

    def _sweep(self) -> None:
        breaker = self._breaker
        while breaker.down and breaker.dirty:
            time.sleep(breaker.retry_after)  # a background retry: there is no event to wait for
            try:
                self._recover()
            except FAULTS:
                continue

    def _local_key(self, key: str) -> bool:
        return bool(self._local_prefixes) and key.startswith(self._local_prefixes)

    def _down(self, key: str, method: str, *args: Any, miss: Any = None) -> Callable[[], Any]:
        """What a call on `key` answers while Redis is down: local memory for rate limits, else
        `miss`."""
        if self._local_key(key):
            return lambda: getattr(self._local, method)(key, *args)
        if isinstance(miss, BaseException):

            def fail() -> Any:
                raise miss

            return fail
        return lambda: miss

    def _full(self, key: str, version: int | None) -> list[str]:
        return [] if self._local_key(key) else [self.make_and_validate_key(key, version=version)]

    # --- Django's cache API ----------------------------------------------------------------------

    def get(self, key, default=None, version=None):
        return self._guarded(
            lambda: super(FailSoftRedisCache, self).get(key, default, version),
            self._down(key, "get", default, version, miss=default),
        )

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(
            lambda: super(FailSoftRedisCache, self).add(key, value, timeout, version),
            self._down(key, "add", value, timeout, version, miss=False),
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._guarded(
            lambda: super(FailSoftRedisCache, self).set(key, value, timeout, version),
            self._down(key, "set", value, timeout, version, miss=None),
            writes=self._full(key, version),
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(
            lambda: super(FailSoftRedisCache, self).touch(key, timeout, version),
            self._down(key, "touch", timeout, version, miss=False),
        )

    def delete(self, key, version=None):
        return self._guarded(
            lambda: super(FailSoftRedisCache, self).delete(key, version),
            self._down(key, "delete", version, miss=False),
            writes=self._full(key, version),
        )

    def incr(self, key, delta=1, version=None):
        return self._guarded(
            lambda: super(FailSoftRedisCache, self).incr(key, delta, version),
            self._down(key, "incr", delta, version, miss=ValueError(f"Key '{key}' not found.")),
            writes=self._full(key, version),
        )

    def has_key(self, key, version=None):
        return self._guarded(
            lambda: super(FailSoftRedisCache, self).has_key(key, version),
            self._down(key, "has_key", version, miss=False),
        )

    def get_many(self, keys, version=None):
        keys = list(keys)
        return self._guarded(
            lambda: super(FailSoftRedisCache, self).get_many(keys, version),
            lambda: {},
        )

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        full = [self.make_and_validate_key(key, version=version) for key in data]
        return self._guarded(
            lambda: super(FailSoftRedisCache, self).set_many(data, timeout, version),
            lambda: list(data),  # Django's contract: the keys that were not stored
            writes=full,
        )

    def delete_many(self, keys, version=None):
        keys = list(keys)
        full = [self.make_and_validate_key(key, version=version) for key in keys]
        self._guarded(
            lambda: super(FailSoftRedisCache, self).delete_many(keys, version),
            lambda: None,
            writes=full,
        )

    def clear(self):
        self._local.clear()
        return self._guarded(lambda: super(FailSoftRedisCache, self).clear(), lambda: False)
