"""The task worker: a heartbeat /readyz can trust, and a loop that outlives database outages."""

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError
from django_tasks_db.models import DBTaskResult

from notifications.tasks import noop
from portal.management.commands import worker as worker_command
from portal.models import WorkerHeartbeat

NOW = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)


def make_worker() -> worker_command.ResilientWorker:
    return worker_command.ResilientWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )


def test_a_database_outage_does_not_stop_the_worker(monkeypatch):
    calls = []
    waits = []

    def flaky_run(self):
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("could not connect to server")

    monkeypatch.setattr(worker_command.Worker, "run", flaky_run)
    monkeypatch.setattr(worker_command.time, "sleep", waits.append)
    monkeypatch.setattr(worker_command, "close_old_connections", lambda: None)
    make_worker().run()
    assert len(calls) == 3  # ran again after each outage, then finished normally
    assert waits == [1.0, 2.0]  # and waited longer each time


@pytest.mark.django_db
def test_the_heartbeat_row_is_written_and_removed():
    with time_machine.travel(NOW, tick=False):
        beat = worker_command.Heartbeat("w-7", "* -sms")
        beat.beat()
        row = WorkerHeartbeat.objects.get(worker_id="w-7")
        assert row.queues == "* -sms"
        assert row.seen_at == NOW
        beat.stop()
    assert not WorkerHeartbeat.objects.filter(worker_id="w-7").exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_command_runs_queued_tasks_and_leaves_no_heartbeat_behind():
    result = noop.enqueue(41)
    call_command("worker", "--batch", "--no-startup-delay", "--queue-name", "*", verbosity=0)
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "SUCCESSFUL"
    assert row.return_value == 41
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_stopping_during_a_beat_leaves_no_row_behind(monkeypatch):
    beat = worker_command.Heartbeat("w-race", "*")
    in_beat = threading.Event()
    release = threading.Event()
    original = worker_command.Heartbeat.beat

    def slow_beat(self):
        in_beat.set()
        release.wait(5)
        original(self)

    monkeypatch.setattr(worker_command.Heartbeat, "beat", slow_beat)
    beat.start()
    assert in_beat.wait(5)
    threading.Timer(0.05, release.set).start()  # the beat finishes while stop() runs
    beat.stop()
    assert not beat.is_alive()
    assert not WorkerHeartbeat.objects.filter(worker_id="w-race").exists()
