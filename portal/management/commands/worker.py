"""The task worker for production and `make run`: django-tasks-db's worker, plus two things.

- **A heartbeat.** A thread refreshes this process's WorkerHeartbeat row every few seconds, so
  /readyz can tell whether a live worker serves each queue (a long task does not stop it).
- **It outlives a database outage.** The library's worker exits on any database error but a
  locked SQLite; a PostgreSQL restart would then stop every worker (and a process manager such
  as honcho stops the whole topology with it). Here the loop logs the error, waits (doubling up
  to 30 s) and carries on; a task the outage interrupted is swept and its outbox row recovered.

Takes db_worker's options: `manage.py worker --queue-name '*' --exclude-queues sms`.
"""

import contextlib
import logging
import os
import socket
import threading
import time
from datetime import timedelta

from django.core.management.base import CommandError
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker

from portal.lib import task_sweep
from portal.models import WorkerHeartbeat
from portal.tasks import plan_purge

log = logging.getLogger("accueil.worker")

HEARTBEAT_SECONDS = 5
# Rows older than this belong to workers that are gone: the next worker to start removes them.
FORGET_AFTER = timedelta(hours=1)


class Heartbeat(threading.Thread):
    def __init__(self, worker_id: str, queues: str) -> None:
        super().__init__(name="worker-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.queues = queues
        self.started_at = timezone.now()
        self.stopped = threading.Event()

    def beat(self) -> None:
        now = timezone.now()
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "queues": self.queues,
                "hostname": socket.gethostname()[:200],
                "pid": os.getpid(),
                "started_at": self.started_at,
                "seen_at": now,
            },
        )

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.beat()
            except DatabaseError as error:
                log.warning("worker heartbeat not written: %s", error.__class__.__name__)
            finally:
                connection.close()
            self.stopped.wait(HEARTBEAT_SECONDS)

    def stop(self) -> None:
        self.stopped.set()
        # Wait for a beat in progress, or it would write the row again after the delete below.
        if self.is_alive():
            self.join(timeout=10)
        # If the database is away the row ages out: /readyz only trusts recent ones.
        with contextlib.suppress(DatabaseError):
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()


class ResilientWorker(Worker):
    """Runs the library's loop again after a database error instead of exiting."""

    def run(self) -> None:
        wait = 1.0
        while self.running:
            try:
                super().run()
                return  # batch or max-tasks finished, or a clean shutdown
            except DatabaseError as error:
                log.warning(
                    "worker %s: database unavailable (%s); retrying in %.0f s",
                    self.worker_id,
                    error.__class__.__name__,
                    wait,
                )
                close_old_connections()
                time.sleep(wait)
                wait = min(wait * 2, 30.0)
                self.startup_delay = False


class Command(DBWorkerCommand):
    help = "Run a task worker (django-tasks-db) with a heartbeat, through database outages."

    def handle(self, *, verbosity: int, queue_name: str, exclude_queues: str, **options) -> None:
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ResilientWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        served = queue_name if not excluded else f"{queue_name} -{','.join(excluded)}"
        heartbeat = Heartbeat(worker.worker_id, served[:200])
        with contextlib.suppress(DatabaseError):
            WorkerHeartbeat.objects.filter(seen_at__lt=timezone.now() - FORGET_AFTER).delete()
            # A worker that restarts after being killed finds its old task still "running":
            # sweep at once rather than at the next recovery pass.
            task_sweep.sweep()
            # The access log's daily purge plans its own next run; a worker that starts makes
            # sure one is waiting (a fresh database, a lost run).
            plan_purge()
        heartbeat.start()
        worker.configure_signals()
        try:
            worker.run()
        finally:
            heartbeat.stop()
