"""The portal's background work: the access log's daily purge.

There is no scheduler: the purge plans its own next run a day later, and every worker that
starts plans one if none is waiting (portal/management/commands/worker.py), so a lost run or a
fresh database finds its way back into the queue.
"""

import logging
from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from portal.lib import access_log

log = logging.getLogger("accueil.access_log")

PURGE_EVERY = timedelta(days=1)


@task()
def purge_access_log() -> int:
    """Remove access-log lines past the retention period (ACCESS_LOG_RETENTION_DAYS)."""
    removed = access_log.purge()
    if removed:
        log.info("access log: %s lines past retention removed", removed)
    plan_purge(after=PURGE_EVERY)
    return removed


def plan_purge(*, after: timedelta = timedelta(0)) -> bool:
    """Enqueue the purge unless one is already waiting; True if one was enqueued."""
    if _purge_waiting():
        return False
    run_after = timezone.now() + after if after else None
    purge_access_log.using(run_after=run_after).enqueue()
    return True


def _purge_waiting() -> bool:
    from django.tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(task_backends["default"], DatabaseBackend):
        return False
    return DBTaskResult.objects.filter(
        status="READY", task_path=purge_access_log.module_path
    ).exists()
