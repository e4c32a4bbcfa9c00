"""Retention: lines past ACCESS_LOG_RETENTION_DAYS go, by a daily task; nothing younger than 30
days ever goes; the chain stays verifiable from its new first line."""

import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from portal import tasks
from portal.lib import access_log
from portal.models import AccessLog

pytestmark = pytest.mark.django_db


def line(days_ago: float, object_id: str = "1") -> AccessLog:
    entry = AccessLog(
        at=timezone.now() - timedelta(days=days_ago),
        action=AccessLog.Action.VIEW,
        object_type="patient",
        object_id=object_id,
    )
    entry.save()
    return entry


def remaining() -> list[str]:
    return list(AccessLog.objects.order_by("pk").values_list("object_id", flat=True))


def test_it_removes_lines_past_the_retention_period_and_keeps_the_rest(settings):
    settings.ACCESS_LOG_RETENTION_DAYS = 365
    line(800, "old"), line(400, "older than a year"), line(300, "kept"), line(1, "recent")
    assert access_log.purge() == 2
    assert remaining() == ["kept", "recent"]


def test_the_chain_verifies_from_its_new_first_line(settings):
    settings.ACCESS_LOG_RETENTION_DAYS = 365
    for days in (900, 700, 500, 200, 100, 2):
        line(days, str(days))
    access_log.purge()
    out = io.StringIO()
    call_command("verify_access_log", stdout=out)
    first = AccessLog.objects.order_by("pk").first()
    assert f"intact: 3 lines from line {first.pk}" in out.getvalue()
    assert first.prev_hash != ""  # the anchor: the hash of a line that is gone


def test_nothing_younger_than_thirty_days_goes_whatever_the_setting(settings):
    settings.ACCESS_LOG_RETENTION_DAYS = 1  # the environment refuses this; a bug might not
    line(45, "past the floor"), line(10, "young"), line(2, "younger")
    assert access_log.purge() == 1
    assert remaining() == ["young", "younger"]


def test_it_removes_only_the_start_of_the_chain(settings):
    """A line written with an older time after a newer one (a clock step back) waits its turn:
    removing it would cut the chain in the middle."""
    settings.ACCESS_LOG_RETENTION_DAYS = 365
    line(500, "old"), line(10, "recent"), line(600, "written late with an old time")
    assert access_log.purge() == 1
    assert remaining() == ["recent", "written late with an old time"]
    call_command("verify_access_log", stdout=io.StringIO())


def test_the_database_refuses_to_delete_a_young_line_even_by_raw_sql():
    from django.db import DatabaseError, connection, transaction

    young = line(3, "young")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM portal_accesslog WHERE id = %s", [young.pk])
    assert remaining() == ["young"]


def test_the_daily_task_purges_and_plans_its_next_run(settings):
    from django_tasks_db.models import DBTaskResult

    settings.ACCESS_LOG_RETENTION_DAYS = 365
    line(400, "old"), line(1, "recent")
    before = timezone.now()
    assert tasks.purge_access_log.call() == 1
    assert remaining() == ["recent"]
    [planned] = DBTaskResult.objects.filter(
        status="READY", task_path=tasks.purge_access_log.module_path
    )
    assert planned.run_after >= before + timedelta(days=1)
    assert planned.run_after <= timezone.now() + timedelta(days=1)


def test_a_starting_worker_plans_the_purge_once():
    from django_tasks_db.models import DBTaskResult

    assert tasks.plan_purge() is True
    assert tasks.plan_purge() is False  # one is already waiting
    assert DBTaskResult.objects.filter(task_path=tasks.purge_access_log.module_path).count() == 1


@pytest.mark.parametrize("days", ["10", "29", "a year"])
def test_the_setting_refuses_a_retention_under_thirty_days(days):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "ACCUEIL_ACCESS_LOG_RETENTION_DAYS": days}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ.setdefault("
         "'DJANGO_SETTINGS_MODULE', 'portal.settings'); django.setup()"],
        cwd=root, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "ACCUEIL_ACCESS_LOG_RETENTION_DAYS" in result.stderr
