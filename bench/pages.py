"""What the page benchmarks share (bench/orders.py, bench/onboarding.py): a migrated SQLite
database in a temporary directory, requests timed through Django's test client, and the table.
"""

from __future__ import annotations

import json
import os
import statistics
import time


def setup(var_dir: str) -> None:
    """Django on SQLite in `var_dir` (no DATABASE_URL, no REDIS_URL), migrated; plain static
    URLs; the test client's `response.context` available."""
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["ACCUEIL_VAR_DIR"] = var_dir
    os.environ.setdefault("ACCUEIL_MASTER_KEYS", "bench:" + "A" * 43 + "=")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_test_environment

    from bench.migrated import migrate

    migrate()
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.NOTIFICATIONS_SMS_BACKEND = "locmem"
    setup_test_environment()


def median_ms(call, renders: int) -> tuple[float, int]:
    """`call(i)` once to warm up, then `renders` times: the median in ms and the queries of the
    one that made the most."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call(0)
    times, queries = [], 0
    for i in range(1, renders + 1):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = call(i)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 302), response.status_code
        queries = max(queries, len(captured))
    return statistics.median(times), queries


def report(figures: dict, *, floor: str, **extra) -> None:
    """The table (each figure against `floor`) and one JSON line."""
    base = figures[floor]["median_ms"]
    print(f"{'page':<32} {'median ms':>10} {'x floor':>8} {'queries':>8}")
    for name, f in figures.items():
        print(f"{name:<32} {f['median_ms']:>10.2f} {f['median_ms'] / base:>8.2f} {f['queries']:>8}")
    print(json.dumps({**extra, "sqlite": figures}))
