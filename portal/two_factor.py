"""Second factor with django-otp: TOTP plus one-time backup codes.

Codes are checked through the devices' own `verify_token`, which refuses a TOTP code already used
(it remembers the last time step) and doubles a wait after each failure (throttling).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

import segno
from django.conf import settings
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import User

TOTP_NAME = "Authenticator"
BACKUP_NAME = "Backup codes"


@dataclass(frozen=True)
class CheckResult:
    device: TOTPDevice | StaticDevice | None
    locked_until: datetime | None = None


def has_authenticator(user: User) -> bool:
    """Whether the user enrolled a second factor: one query, asked on every page.

    Backup codes are made only when an authenticator is confirmed and removed with it, so the
    authenticator alone answers (django-otp's user_has_device asks every device model).
    """
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_totp_device(user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled, made on the first visit and kept until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG: no image request, no script, nothing leaves the page."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, border=2)


def base32_secret(device: TOTPDevice) -> str:
    import base64

    secret = base64.b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_totp(device: TOTPDevice, token: str) -> bool:
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return True


def new_backup_codes(user: User) -> list[str]:
    """Replaces the user's backup codes; the only moment they are shown in clear."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_NAME)
    device.token_set.all().delete()
    codes = [f"{secrets.randbelow(10**8):08d}" for _ in range(settings.ACCUEIL_BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def check_code(user: User, token: str) -> CheckResult:
    """The confirmed device that accepts `token`, or why none did.

    Throttled devices are not even asked, so a guesser learns nothing while locked out; the
    caller shows `locked_until`. A wrong code is reported as wrong (not as a lock-out), even
    though it starts the device's wait before the next try.
    """
    # Six digits are an authenticator code, anything else a backup code: asking only the device
    # the code is meant for keeps a backup-code login from counting as an authenticator failure.
    model = TOTPDevice if len(token) == 6 else StaticDevice
    devices: list[TOTPDevice | StaticDevice] = list(model.objects.filter(user=user, confirmed=True))
    locked_until = None
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if not allowed:
            until = (data or {}).get("locked_until")
            if until and (locked_until is None or until > locked_until):
                locked_until = until
            continue
        if device.verify_token(token):
            return CheckResult(device=device)
    return CheckResult(device=None, locked_until=locked_until)


def remove_devices(user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
