"""A provider delivering the same replies several times at once (a retry while the first
delivery is still being handled): each reply is stored, acted on and answered once, on SQLite
and on PostgreSQL.

The race runs in a fresh process (bench/sms_inbound.py --race) with a database of its own, so
every thread has its own real connection (see tests/notifications/test_concurrency.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sms_inbound.py"

# Subprocesses on the real clock: ACCUEIL_TEST_NOW cannot move them (make test's clock passes
# skip them).
pytestmark = [pytest.mark.real_clock, pytest.mark.slow]


def _race(*arguments: str) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--race", *arguments],
        capture_output=True,
        text=True,
        env=base,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.sqlite_file
def test_replies_delivered_four_times_at_once_act_once_on_sqlite():
    result = _race("--count", "25", "--threads", "4")
    assert result["vendor"] == "sqlite"
    assert result["errors"] == []
    assert result["stored"] == result["confirmed"] == result["answers"] == 25


@pytest.mark.postgres
@pytest.mark.django_db
def test_replies_delivered_six_times_at_once_act_once_on_postgresql():
    db = connection.settings_dict
    admin = f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/postgres"
    result = _race("--count", "40", "--threads", "6", "--postgres", admin)
    assert result["vendor"] == "postgresql", result
    assert result["errors"] == []
    assert result["stored"] == result["confirmed"] == result["answers"] == 40
