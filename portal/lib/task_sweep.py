"""Tasks whose worker died: marked failed, so the task table tells the truth.

django-tasks-db marks a task *running* when a worker takes it and *successful* or *failed* when
it returns. A worker killed in between (kill -9, out of memory, the machine gone) leaves the
row *running* for ever: nothing retries it, and it reads as work in progress. `sweep()` marks
every task still running `TASKS_INTERRUPTED_AFTER_SECONDS` after it started as *failed*, with
the exception class `portal.lib.task_sweep.Interrupted` and a one-line traceback saying why.

It does not run the task again: a task's own data says what is left to do. The outbox is the
case that matters: `notifications.services.recover()` sends again every message the killed
worker had not handed to a provider. A worker that was only slow and finishes after the sweep
still records its own result (the library saves the status it reached), which wins.

Run by the outbox's recovery task (`notifications.tasks.recover_outbox`) on each of its passes,
and by hand or from cron: `manage.py sweep_tasks`.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

INTERRUPTED = "portal.lib.task_sweep.Interrupted"


class Interrupted(Exception):
    """A task whose worker stopped before it returned (the exception class recorded)."""


def sweep(*, now: datetime | None = None, older_than: timedelta | None = None) -> int:
    """Mark tasks running for longer than the limit as failed; return how many.

    One UPDATE on rows still *running*: a task that finished meanwhile is left as it is."""
    from django.tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not any(isinstance(backend, DatabaseBackend) for backend in task_backends.all()):
        return 0
    now = now or timezone.now()
    limit = older_than or timedelta(seconds=settings.TASKS_INTERRUPTED_AFTER_SECONDS)
    minutes = int(limit.total_seconds() // 60)
    return (
        DBTaskResult.objects.filter(status="RUNNING", started_at__lt=now - limit)
        .exclude(started_at__isnull=True)
        .update(
            status="FAILED",
            finished_at=now,
            return_value=None,
            exception_class_path=INTERRUPTED,
            traceback=(
                f"{INTERRUPTED}: still running {minutes} min after it started; its worker "
                "was stopped or lost (swept).\n"
            ),
        )
    )
