"""`manage.py sweep_tasks [--older-than SECONDS]`: mark tasks whose worker died as failed."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.lib import task_sweep


class Command(BaseCommand):
    help = "Mark tasks still 'running' long after they started (their worker died) as failed."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=settings.TASKS_INTERRUPTED_AFTER_SECONDS,
            help="Seconds since a task started (default: ACCUEIL_TASKS_INTERRUPTED_AFTER_SECONDS).",
        )

    def handle(self, *, older_than: int, **options) -> None:
        if older_than < 1:
            self.stderr.write("--older-than must be at least 1 second.")
            raise SystemExit(2)
        swept = task_sweep.sweep(older_than=timedelta(seconds=older_than))
        self.stdout.write(f"{swept} interrupted task(s) marked failed.")
