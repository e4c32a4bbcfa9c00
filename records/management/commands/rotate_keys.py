"""Re-wrap every stored data key under the current (first) master key.

File and message contents are not re-encrypted: only the ~80-character wrapped key of each row
changes, so rotation takes seconds for thousands of rows. Run it after putting the new key first
in ACCUEIL_MASTER_KEYS (keeping the old ones after it); once it reports no failure, the old keys
can be removed. Running it again changes nothing (idempotent). It covers every column that
`records.keys.wrapped_key_columns` finds: reports, message attachments, message bodies...
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.lib.crypto import CryptoError, Keyring, keyring_from_settings, rewrap
from records.keys import WrappedKeyColumn, wrapped_key_columns

BATCH = 200


class Command(BaseCommand):
    help = "Re-wrap every stored data key under the newest master key (contents untouched)."

    def handle(self, *args, **options) -> None:
        keyring = keyring_from_settings()
        totals = [0, 0, 0]
        for column in wrapped_key_columns():
            counts = self._rotate(keyring, column)
            self.stdout.write(
                f"{column.label}: {counts[0]} re-wrapped, {counts[1]} already current, "
                f"{counts[2]} failed."
            )
            totals = [total + count for total, count in zip(totals, counts, strict=True)]
        self.stdout.write(
            f"Master key {keyring.current.kid}: {totals[0]} re-wrapped, {totals[1]} already "
            f"current, {totals[2]} failed."
        )
        if totals[2]:
            raise CommandError(
                f"{totals[2]} data key(s) could not be unwrapped with ACCUEIL_MASTER_KEYS; keep "
                "their old master key in the setting and run rotate_keys again."
            )

    def _rotate(self, keyring: Keyring, column: WrappedKeyColumn) -> list[int]:
        rewrapped = current = failed = 0
        manager = column.model._default_manager
        # A blank key is a row with nothing encrypted (a patient without a photo).
        pks = list(
            manager.exclude(**{column.field: ""}).order_by("pk").values_list("pk", flat=True)
        )
        for start in range(0, len(pks), BATCH):
            # Short transactions that lock only their batch: downloads and new rows carry on
            # meanwhile (the old master key stays configured during the rotation).
            with transaction.atomic():
                rows = list(
                    manager.select_for_update()
                    .filter(pk__in=pks[start : start + BATCH])
                    .only("pk", column.field)
                )
                changed = []
                for row in rows:
                    old = getattr(row, column.field)
                    try:
                        new = rewrap(keyring, old)
                    except CryptoError as error:
                        failed += 1
                        self.stderr.write(f"{column.label} pk={row.pk}: {error}")
                        continue
                    if new == old:
                        current += 1
                    else:
                        setattr(row, column.field, new)
                        changed.append(row)
                manager.bulk_update(changed, [column.field])
                rewrapped += len(changed)
        return [rewrapped, current, failed]
