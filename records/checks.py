"""A start-up check: the configured master keys must be able to read the stored reports.

Starting with the wrong ACCUEIL_MASTER_KEYS (a typo, a key removed before `rotate_keys` ran)
would otherwise surface only when an owner clicks a download. `manage.py check`, `runserver` and
`migrate` run this, and deployment scripts run `manage.py check` before switching over.
"""

from django.core import checks
from django.db import DatabaseError

from portal.lib.crypto import SETTING_NAME, CryptoError, keyring_from_settings, unwrap_key


@checks.register(checks.Tags.security)
def master_keys_read_reports(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from records.models import Report

    try:
        # The oldest and the newest row: between them they cover a key mid-rotation.
        wrapped = list(
            Report.objects.order_by("pk").values_list("wrapped_key", flat=True)[:1]
        ) + list(Report.objects.order_by("-pk").values_list("wrapped_key", flat=True)[:1])
    except DatabaseError:
        return []  # no database or no table yet (before migrate): nothing to read
    keyring = keyring_from_settings()
    for key in dict.fromkeys(wrapped):
        try:
            unwrap_key(keyring, key)
        except CryptoError as error:
            return [
                checks.Error(
                    f"{SETTING_NAME} cannot read the stored reports: {error}",
                    hint=f"Set {SETTING_NAME} to the keys the reports were encrypted with "
                    "(newest first); keep old keys listed until `manage.py rotate_keys` has run.",
                    id="records.E001",
                )
            ]
    return []
