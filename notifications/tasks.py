"""Background work, through Django's tasks framework (django-tasks-db's worker by default).

A task carries only a row's id: the row itself says whether there is still anything to do, so
a task run twice, late or early is harmless (see services.dispatch).
"""

from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from notifications import services
from notifications.models import PENDING, Notification
from portal.lib import task_sweep


@task()
def dispatch_notification(notification_id: int) -> str:
    return services.dispatch(notification_id)


@task()
def recover_outbox() -> dict[str, int]:
    """Take back rows a crash left behind, and plan the next pass while work remains.

    Tasks a killed worker left *running* are marked failed first (portal.lib.task_sweep); the
    rows they were sending are recovered here whatever the task table says."""
    swept = task_sweep.sweep()
    result = services.recover()
    result["tasks_swept"] = swept
    if Notification.objects.filter(status__in=PENDING).exists():
        lease = settings.NOTIFICATIONS_SENDING_LEASE_SECONDS
        recover_outbox.using(run_after=timezone.now() + timedelta(seconds=lease)).enqueue()
    return result


@task()
def noop(value: int) -> int:
    """The benchmark's floor: a task that does nothing, through the same queue."""
    return value
