"""A start-up check: the configured master keys must be able to read what is stored.

Starting with the wrong ACCUEIL_MASTER_KEYS (a typo, a key removed before `rotate_keys` ran)
would otherwise surface only when an owner clicks a download. `manage.py check`, `runserver` and
`migrate` run this; deployment scripts should run `manage.py check` before switching over.
"""

from django.core import checks
from django.db import DatabaseError

from portal.lib.crypto import SETTING_NAME, CryptoError, keyring_from_settings, unwrap_key
from records.keys import wrapped_key_columns


@checks.register(checks.Tags.security)
def master_keys_read_reports(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    keyring = keyring_from_settings()
    for column in wrapped_key_columns():
        # A blank key is a row with nothing encrypted (a patient without a photo).
        rows = column.model._default_manager.exclude(**{column.field: ""}).values_list(
            column.field, flat=True
        )
        try:
            # The oldest and the newest row: between them they cover a key mid-rotation.
            sample = list(rows.order_by("pk")[:1]) + list(rows.order_by("-pk")[:1])
        except DatabaseError:
            return []  # no database or no table yet (before migrate): nothing to read
        for wrapped in dict.fromkeys(sample):
            try:
                unwrap_key(keyring, wrapped)
            except CryptoError as error:
                return [
                    checks.Error(
                        f"{SETTING_NAME} cannot read the stored data ({column.label}): {error}",
                        hint=f"Set {SETTING_NAME} to the keys the data was encrypted with "
                        "(newest first); keep old keys listed until `manage.py rotate_keys` "
                        "has run.",
                        id="records.E001",
                    )
                ]
    return []
