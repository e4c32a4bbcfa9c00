"""The privacy app's settings, read from the environment with refusal of bad values.

`settings.ACCUEIL_*` wins when it is set (tests override it there); otherwise the environment,
otherwise the default.
"""

from django.conf import settings

from portal.lib.env import env_int

# French veterinary practice keeps medical records at least five years (the profession's code
# of ethics and the rules on prescriptions ask for records to be produced for that long).
_RETENTION_YEARS = env_int("ACCUEIL_MEDICAL_RETENTION_YEARS", 5, minimum=1)
_EXPORT_DAYS = env_int("ACCUEIL_DATA_EXPORT_DAYS", 7, minimum=1)


def medical_retention_years() -> int:
    return int(getattr(settings, "ACCUEIL_MEDICAL_RETENTION_YEARS", _RETENTION_YEARS))


def export_days() -> int:
    return int(getattr(settings, "ACCUEIL_DATA_EXPORT_DAYS", _EXPORT_DAYS))
