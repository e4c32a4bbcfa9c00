"""Walks the access log's hash chain and names the first broken link.

    manage.py verify_access_log

Exit code 0 when every line is what was written and none is missing between the oldest
remaining line and the newest; 1 (with the line's id on stderr) at the first line altered or
the first gap. The oldest remaining line is the anchor: retention removes lines from the start
of the chain (portal/lib/access_log.py), so a removal at the very start is not detected here.
"""

from django.core.management.base import BaseCommand, CommandError

from portal.lib import access_log


class Command(BaseCommand):
    help = "Check the access log's hash chain; exit code 1 at the first broken link."

    def handle(self, **options) -> None:
        verdict = access_log.verify()
        if verdict.broken is not None:
            raise CommandError(
                f"Access log tampered with: {verdict.broken} "
                f"({verdict.checked} lines intact before it).",
                returncode=1,
            )
        if verdict.first is None:
            self.stdout.write("The access log is empty.")
            return
        self.stdout.write(
            f"The access log is intact: {verdict.checked} lines from line {verdict.first}."
        )
