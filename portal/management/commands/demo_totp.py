from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Prints the current TOTP code of a demo account (for trying the portal without a phone)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")

    def handle(self, *args, email: str, **options) -> None:
        device = TOTPDevice.objects.filter(
            user__email__iexact=email, name="Demo authenticator", confirmed=True
        ).first()
        if device is None:
            raise CommandError(f"{email} has no demo authenticator (only seeded demo staff do).")
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{code:0{device.digits}d}")
