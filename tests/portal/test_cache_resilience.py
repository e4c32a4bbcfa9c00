"""The shared cache is an accelerator (portal/lib/cache.py): with Redis dead, pages answer, sign-in
limits still limit, and once Redis is back nothing stale is read from it.

Each test runs its own redis-server on port 6391 and kills it; the machine's Redis is never
touched. Parallel workers take turns on that port (a file lock).
"""

import fcntl
import logging
import time
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client as HttpClient
from django.urls import reverse

from portal.lib import cache as failsoft
from portal.models import Clinic
from tests import factories
from tests.booking.factories import make_practitioner, make_service
from tests.messaging.servers import RedisServer

pytestmark = pytest.mark.redis

PORT = 6391
LOCK = f"/tmp/accueil-test-redis-{PORT}.lock"  # noqa: S108 - a lock between this suite's workers


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = RedisServer(PORT)
        try:
            yield server
        finally:
            server.kill()
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def shared_cache(settings, redis_server) -> Iterator[None]:
    """The default cache is the fail-soft Redis cache on our own (not yet started) Redis."""
    assert django_settings.CACHES["default"]["BACKEND"] == "portal.lib.cache.FailSoftRedisCache"
    failsoft._breakers.clear()
    # The production settings (REDIS_URL is set for redis-marked tests), on our own Redis, with a
    # shorter breaker so that the tests need not wait.
    settings.CACHES = {
        "default": {
            **django_settings.CACHES["default"],
            "LOCATION": redis_server.url,
            "KEY_PREFIX": "resilience",
            "RETRY_AFTER": 0.3,
        }
    }
    yield
    failsoft._breakers.clear()
    caches["default"]._local.clear()


def raw(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url, socket_timeout=2)


def until(check, seconds: float = 5.0):
    """Poll `check()` until it is truthy (the breaker's retry time must pass: no event)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


# --- The backend on its own ------------------------------------------------------------------


def test_a_dead_redis_answers_as_a_miss_quickly_and_warns_once(shared_cache, caplog):
    cache = caches["default"]
    caplog.set_level(logging.WARNING, logger="portal.lib.cache")
    started = time.monotonic()
    assert cache.get("clinic", "default") == "default"
    assert cache.set("clinic", "value") is None
    assert cache.add("lock", True) is False
    assert cache.delete("clinic") is False
    assert cache.has_key("clinic") is False
    assert cache.get_many(["a", "b"]) == {}
    assert cache.get_or_set("x", 42) == 42
    with pytest.raises(ValueError, match="not found"):
        cache.incr("counter")
    for _ in range(200):  # the breaker is open: none of these touches a socket
        cache.get("clinic")
    assert time.monotonic() - started < 1.0
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1


def test_rate_limit_keys_count_in_local_memory_while_redis_is_down(shared_cache):
    cache = caches["default"]
    assert cache.add("messaging:rate:7:1", 0, timeout=60) is True
    assert cache.incr("messaging:rate:7:1") == 1
    assert cache.incr("messaging:rate:7:1") == 2
    cache.set("allauth:rl:account:login_failed:key", [1.0, 2.0], 300)
    assert cache.get("allauth:rl:account:login_failed:key") == [1.0, 2.0]
    assert cache.get("something-else") is None  # other keys are plain misses


def test_local_counts_outlive_the_breakers_retries_while_redis_stays_down(shared_cache, caplog):
    """Each time the breaker's retry time passes, the next call tries Redis again. With no lost
    write to undo, that try once declared Redis back without asking it, and emptied the local
    counts: a sign-in limit then forgot its failures every few seconds of an outage."""
    cache = caches["default"]
    caplog.set_level(logging.WARNING, logger="portal.lib.cache")
    key = "allauth:rl:account:login_failed:key"
    cache.set(key, [1.0, 2.0, 3.0], 300)
    for _ in range(3):
        cache._breaker.open_until = 0.0  # the retry time has passed (instead of waiting 0.3 s)
        assert cache.get(key) == [1.0, 2.0, 3.0]
    assert not [r for r in caplog.records if "reachable again" in r.getMessage()]


def test_it_uses_redis_again_once_it_answers(shared_cache, redis_server):
    cache = caches["default"]
    assert cache.get("k") is None  # down: the breaker opens
    redis_server.start()
    assert until(lambda: cache.add("k", "v") is True)
    assert cache.get("k") == "v"
    assert raw(redis_server).exists(cache.make_key("k"))


def test_a_write_lost_during_an_outage_is_undone_before_anything_is_read(
    shared_cache, redis_server
):
    """booking's availability generation, for one: a booking made while Redis hung could not bump
    it, and the rows cached under the old generation must not be served when Redis answers."""
    redis_server.start()
    cache = caches["default"]
    cache.set("booking:availability:generation", 100, None)
    cache.set("booking:rows:100:day", ["09:00 free"], 60)
    redis_server.pause()  # hung, data kept: the hardest case
    try:
        with pytest.raises(ValueError, match="not found"):
            cache.incr("booking:availability:generation")  # a booking's bump, lost
        cache.set("booking:availability:generation", 200, None)  # booking's fallback, lost too
    finally:
        redis_server.resume()
    # Back: the lost key is deleted before this process reads anything from Redis, so the
    # generation starts afresh and rows cached under 100 are never looked up again.
    assert until(lambda: cache.add("probe", 1) is True)
    assert cache.get("booking:availability:generation") is None
    assert raw(redis_server).exists(cache.make_key("booking:rows:100:day"))  # orphaned, expiring


def test_another_process_does_not_read_a_lost_write_for_long(shared_cache, redis_server):
    """The process that lost the write deletes it in the background, even with no request."""
    redis_server.start()
    cache = caches["default"]
    cache.set("portal:clinic:v1", "old clinic", 300)
    redis_server.pause()
    try:
        cache.delete("portal:clinic:v1")  # the manager saved the clinic: this delete is lost
    finally:
        redis_server.resume()
    other_process = raw(redis_server)
    key = cache.make_key("portal:clinic:v1")
    assert until(lambda: not other_process.exists(key), seconds=3)


# --- Pages with Redis dead -------------------------------------------------------------------


@pytest.fixture
def slots_service(site, vet):
    vet_practitioner = make_practitioner(site, name="Dr Dubois", user=vet)
    return make_service(site, [vet_practitioner], slug="consultation", duration=30)


def test_pages_answer_with_redis_dead_and_use_it_again_when_it_is_back(
    shared_cache, redis_server, clinic, client_user, slots_service
):
    filou = factories.make_patient(client_user, name="Filou")
    browser = HttpClient(headers={"accept-language": "en"})
    signed_in = browser.post(
        "/accounts/login/", {"login": client_user.email, "password": factories.PASSWORD}
    )
    assert signed_in.status_code == 302
    home = browser.get(reverse("portal:home"))
    assert home.status_code == 200
    assert clinic.name in home.content.decode()
    slots = browser.get(
        reverse("booking:new"),
        {"service": "consultation", "patient": filou.pk},
        headers={"HX-Request": "true"},
    )
    assert slots.status_code == 200
    assert 'id="availability"' in slots.content.decode()

    redis_server.start()
    assert until(lambda: browser.get(reverse("portal:home")).status_code == 200 and _cached(clinic))


def _cached(clinic: Clinic) -> bool:
    return caches["default"].get(Clinic.CACHE_KEY) is not None


def test_failed_sign_ins_still_lock_the_account_with_redis_dead(shared_cache, client_user):
    browser = HttpClient(headers={"accept-language": "en"}, REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        browser.post("/accounts/login/", {"login": client_user.email, "password": "wrong"})
    locked = browser.post(
        "/accounts/login/", {"login": client_user.email, "password": factories.PASSWORD}
    )
    assert locked.status_code == 200
    assert "Too many failed sign-in attempts" in locked.content.decode()


def test_a_slow_hung_redis_costs_one_short_timeout_then_nothing(shared_cache, redis_server):
    redis_server.start()
    redis_server.pause()
    try:
        cache = caches["default"]
        started = time.monotonic()
        for _ in range(50):
            cache.get("clinic")
        assert time.monotonic() - started < 1.5  # one socket timeout (0.5 s), then the breaker
    finally:
        redis_server.resume()


def test_the_local_counts_are_dropped_when_redis_is_back(shared_cache, redis_server):
    cache = caches["default"]
    cache.add("messaging:rate:1:1", 5, timeout=60)
    redis_server.start()
    assert until(lambda: cache.add("probe", 1) is True)
    assert cache.get("messaging:rate:1:1") is None
