"""Re-wrap every report's data key under the current (first) master key.

File contents are not re-encrypted: only the ~80-character wrapped key of each row changes, so
rotation takes seconds for thousands of files. Run it after putting the new key first in
ACCUEIL_MASTER_KEYS (keeping the old ones after it); once it reports no failure, the old keys can
be removed. Running it again changes nothing (idempotent).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.lib.crypto import CryptoError, keyring_from_settings, rewrap
from records.models import Report


class Command(BaseCommand):
    help = "Re-wrap every stored data key under the newest master key (files untouched)."

    def handle(self, *args, **options) -> None:
        keyring = keyring_from_settings()
        rewrapped = current = 0
        failed: list[int] = []
        for pk in Report.objects.order_by("pk").values_list("pk", flat=True).iterator():
            # One short transaction per row, locking it: a download reading the old wrapped key
            # meanwhile still works (the old master key stays configured during rotation).
            with transaction.atomic():
                report = Report.objects.select_for_update().only("wrapped_key").get(pk=pk)
                try:
                    new = rewrap(keyring, report.wrapped_key)
                except CryptoError as error:
                    failed.append(pk)
                    self.stderr.write(f"report {pk}: {error}")
                    continue
                if new == report.wrapped_key:
                    current += 1
                    continue
                report.wrapped_key = new
                report.save(update_fields=["wrapped_key"])
                rewrapped += 1
        self.stdout.write(
            f"Master key {keyring.current.kid}: {rewrapped} re-wrapped, {current} already "
            f"current, {len(failed)} failed."
        )
        if failed:
            raise CommandError(
                f"{len(failed)} report(s) could not be unwrapped with ACCUEIL_MASTER_KEYS; "
                "keep their old key in the setting and run rotate_keys again."
            )
