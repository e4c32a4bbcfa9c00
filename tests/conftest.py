"""Shared fixtures: a clinic, a client and another client (the stranger), reception, vet, manager.

Staff fixtures come logged in *and* past two-factor, as a real session would be after the code.
"""

import importlib
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client as HttpClient

from tests import factories

# Parallel workers share one Redis: each gets its own database number (the URL's number plus the
# worker's index), so clearing the cache between tests never touches another worker's keys.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_worker_index = int(re.sub(r"\D", "", _worker) or 0)
if settings.REDIS_URL:
    _base, _, _db = settings.REDIS_URL.rstrip("/").rpartition("/")
    _db_number = int(_db) if _db.isdigit() else 0
    _url = f"{_base}/{_db_number + _worker_index}" if _db.isdigit() else settings.REDIS_URL
    settings.CACHES["default"]["LOCATION"] = _url
    # Only the address changes: the layer's timeouts (portal/settings.py) are what is tested.
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"] = _url
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"test-{_worker}"

# Tests run against the source files, not collected static files.
settings.STORAGES["staticfiles"] = {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
settings.WHITENOISE_USE_FINDERS = True
settings.WHITENOISE_AUTOREFRESH = True
# A fixed master key for the test suite (never used outside it).
settings.ACCUEIL_MASTER_KEYS = "test1:" + "A" * 43 + "="
# Fast password hashing: the suite creates hundreds of accounts.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# `make test`'s second pass, on PostgreSQL and Redis, sets ACCUEIL_TEST_SERVICES_ONLY=1: it runs
# the tests that can see those services (every test with a database fixture, and those marked
# postgres or redis) and leaves out the others, pure rules and parsers, which the first pass ran
# and which would run the same code again.
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server"}


def _sees_the_services(item: pytest.Item) -> bool:
    if item.get_closest_marker("django_db") or any(
        marker in item.keywords for marker in ("postgres", "redis")
    ):
        return True
    return bool(DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked postgres/redis skip, with the reason, where the service is not configured.
    Under ACCUEIL_TEST_SERVICES_ONLY=1 the tests that cannot see them are deselected."""
    if os.environ.get("ACCUEIL_TEST_SERVICES_ONLY") == "1":
        kept, left_out = [], []
        for item in items:
            (kept if _sees_the_services(item) else left_out).append(item)
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = kept
    # The slow tests first (stable, so every xdist worker sees the same order): spread over the
    # workers from the start instead of one of them finishing a long test while the others wait.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    vendor = settings.DATABASES["default"]["ENGINE"]
    for item in items:
        if "postgres" in item.keywords and "postgresql" not in vendor:
            item.add_marker(
                pytest.mark.skip(
                    reason="needs PostgreSQL: DATABASE_URL is not set "
                    "(`make test` runs it when PostgreSQL answers; CI requires it)"
                )
            )
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(
                pytest.mark.skip(
                    reason="needs Redis: REDIS_URL is not set "
                    "(`make test` runs it when Redis answers; CI requires it)"
                )
            )


# `make test` runs the time-sensitive packages with the clock set to a few hard instants (a
# Sunday night, the spring DST change): ACCUEIL_TEST_NOW holds one or several, comma-separated,
# each an ISO date and time with its offset. The clock then starts there for every test and
# ticks on; with several, every test runs once at each (in one pytest session: one start-up, one
# collection, workers kept busy). With ACCUEIL_TEST_CLOCK_PATHS (space-separated directories)
# only the tests under them run at the instants, and the others on the wall clock: `make test`'s
# first pass runs the whole suite and the clock runs in one session that way. Tests marked
# real_clock (subprocesses, which the travel cannot reach) run once, on the wall clock. A test
# that freezes time itself (time_machine.travel) still wins inside its own block.
TEST_NOW = os.environ.get("ACCUEIL_TEST_NOW", "")
TEST_INSTANTS = [instant.strip() for instant in TEST_NOW.split(",") if instant.strip()]
CLOCK_PATHS = [
    Path(path).resolve() for path in os.environ.get("ACCUEIL_TEST_CLOCK_PATHS", "").split()
]


def _at_every_instant(metafunc: pytest.Metafunc) -> bool:
    if metafunc.definition.get_closest_marker("real_clock") is not None:
        return False
    if not CLOCK_PATHS:
        return True
    path = Path(str(metafunc.definition.path)).resolve()
    return any(path.is_relative_to(directory) for directory in CLOCK_PATHS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # One instant and no paths: the fixture's default gives it to every test, no parameter needed.
    wanted = len(TEST_INSTANTS) > 1 or (CLOCK_PATHS and TEST_INSTANTS)
    if wanted and "start_instant" in metafunc.fixturenames and _at_every_instant(metafunc):
        metafunc.parametrize("start_instant", TEST_INSTANTS, ids=TEST_INSTANTS)


@pytest.fixture
def start_instant() -> str:
    """The instant this test's clock starts at ("" for the wall clock)."""
    return "" if CLOCK_PATHS or not TEST_INSTANTS else TEST_INSTANTS[0]


@pytest.fixture(autouse=True)
def _test_clock(start_instant: str) -> Iterator[None]:
    if not start_instant:
        yield
        return
    with time_machine.travel(datetime.fromisoformat(start_instant), tick=True):
        yield


@pytest.fixture
def one_clock_minute(_test_clock) -> Iterator[None]:
    """Rate limits count per clock minute: the test starts 5 s into a minute and the clock
    ticks on, so a burst of calls never straddles two windows, whatever the wall clock says
    (a flood test that crossed a minute let one call too many through)."""
    start = datetime.now().astimezone().replace(second=5, microsecond=0)
    with time_machine.travel(start, tick=True):
        yield


def pytest_report_header(config: pytest.Config) -> str:
    return f"clock: {', '.join(TEST_INSTANTS) or 'the wall clock'} (ACCUEIL_TEST_NOW)"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # The clinic row and allauth's rate-limit counters live in the cache.
    cache.clear()


@pytest.fixture
def clearable_access_log(transactional_db) -> Iterator[None]:
    """Lets a transactional test that writes access-log lines end cleanly.

    Its end-of-test flush DELETEs every row on SQLite, which the append-only triggers refuse:
    lift them, empty the log and put them back (set up after `transactional_db`, so torn down
    before its flush). PostgreSQL's flush truncates, which row triggers do not see.
    """
    yield
    if connection.vendor != "sqlite":
        return
    append_only = importlib.import_module("portal.migrations.0006_access_log_chain")
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS portal_accesslog_no_delete")
        cursor.execute("DELETE FROM portal_accesslog")
        for statement in append_only.SQLITE_TRIGGERS:
            cursor.execute(statement)


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def clinic(db):
    return factories.make_clinic()


@pytest.fixture
def site(clinic):
    return factories.make_site()


@pytest.fixture
def client_user(clinic):
    """A client with an account and a verified e-mail: Camille, who owns Filou."""
    return factories.make_client_user(first_name="Camille", last_name="Martin")


@pytest.fixture
def other_client_user(clinic):
    """Another client: the stranger who must never see Camille's things."""
    return factories.make_client_user(first_name="Bruno", last_name="Lambert")


@pytest.fixture
def reception(clinic):
    return factories.make_staff("reception")


@pytest.fixture
def vet(clinic):
    return factories.make_staff("vet")


@pytest.fixture
def manager(clinic):
    return factories.make_staff("manager")


@pytest.fixture
def client() -> HttpClient:
    """pytest-django's anonymous client, reading the site in English."""
    return factories.http_client()


@pytest.fixture
def as_client(client_user) -> HttpClient:
    return factories.http_client(client_user)


@pytest.fixture
def as_other_client(other_client_user) -> HttpClient:
    return factories.http_client(other_client_user)


@pytest.fixture
def as_reception(reception) -> HttpClient:
    return factories.verified_http_client(reception)


@pytest.fixture
def as_vet(vet) -> HttpClient:
    return factories.verified_http_client(vet)


@pytest.fixture
def as_manager(manager) -> HttpClient:
    return factories.verified_http_client(manager)
