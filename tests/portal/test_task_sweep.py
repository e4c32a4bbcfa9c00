"""Tasks whose worker was killed are marked failed, and the outbox sends their messages again."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from notifications import services
from notifications.models import Channel, Kind, Notification, Status
from notifications.tasks import dispatch_notification, noop, recover_outbox
from portal.lib import task_sweep
from tests.notifications.conftest import run_ready_tasks

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday morning: no quiet hours


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def a_task(status: str, started_minutes_ago: int | None, task=noop, args=(1,)) -> DBTaskResult:
    result = task.enqueue(*args)
    started = None if started_minutes_ago is None else NOW - timedelta(minutes=started_minutes_ago)
    DBTaskResult.objects.filter(pk=result.id).update(status=status, started_at=started)
    return DBTaskResult.objects.get(pk=result.id)


@pytest.mark.django_db
def test_it_marks_a_task_running_past_the_limit_as_failed_interrupted(settings):
    settings.TASKS_INTERRUPTED_AFTER_SECONDS = 900
    killed = a_task("RUNNING", started_minutes_ago=16)
    working = a_task("RUNNING", started_minutes_ago=14)
    done = a_task("SUCCESSFUL", started_minutes_ago=60)
    waiting = a_task("READY", started_minutes_ago=None)

    assert task_sweep.sweep() == 1

    killed.refresh_from_db()
    assert (killed.status, killed.finished_at) == ("FAILED", NOW)
    assert killed.exception_class_path == "portal.lib.task_sweep.Interrupted"
    assert "its worker was stopped or lost" in killed.traceback
    assert killed.task_result.errors[0].exception_class_path == task_sweep.INTERRUPTED
    statuses = {t.pk: t.status for t in DBTaskResult.objects.all()}
    assert statuses[working.pk] == "RUNNING"
    assert statuses[done.pk] == "SUCCESSFUL"
    assert statuses[waiting.pk] == "READY"


@pytest.mark.django_db
def test_a_second_sweep_changes_nothing():
    a_task("RUNNING", started_minutes_ago=60)
    assert task_sweep.sweep() == 1
    assert task_sweep.sweep() == 0


@pytest.mark.django_db
def test_the_command_sweeps_with_its_own_limit():
    a_task("RUNNING", started_minutes_ago=3)
    out = StringIO()
    call_command("sweep_tasks", "--older-than", "120", stdout=out)
    assert out.getvalue().strip() == "1 interrupted task(s) marked failed."
    assert DBTaskResult.objects.get().status == "FAILED"


@pytest.mark.django_db
def test_the_command_refuses_a_limit_below_a_second():
    with pytest.raises(SystemExit):
        call_command("sweep_tasks", "--older-than", "0", stderr=StringIO())


def test_a_worker_killed_mid_dispatch_is_swept_and_its_email_sent_once(
    client_user, settings, django_capture_on_commit_callbacks
):
    """kill -9 between the claim and the provider: the task stays running, the row sending.
    The recovery pass marks the task failed and sends the e-mail (it never left)."""
    settings.TASKS_INTERRUPTED_AFTER_SECONDS = 900
    row = Notification.objects.create(
        client=client_user.client,
        recipient="camille@example.com",
        channel=Channel.EMAIL,
        kind=Kind.DOCUMENT_AVAILABLE,
        subject="A document",
        body="A document is waiting in your space.",
        scheduled_at=NOW - timedelta(minutes=20),
        idempotency_key="killed:1",
    )
    killed = a_task("RUNNING", started_minutes_ago=20, task=dispatch_notification, args=(row.pk,))
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENDING, claimed_at=NOW - timedelta(minutes=20), claim_token="dead"
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = recover_outbox.call()
    assert result["tasks_swept"] == 1
    assert result["retried"] == 1
    killed.refresh_from_db()
    assert killed.status == "FAILED"
    with django_capture_on_commit_callbacks(execute=True):
        run_ready_tasks()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert len(mail.outbox) == 1
    assert services.recover()["retried"] == 0
