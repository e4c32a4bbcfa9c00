from django.apps import apps
from django.core.management.base import BaseCommand

from portal.demo import DEMO_PASSWORD, Demo


class Command(BaseCommand):
    help = "Creates (or completes) the fictitious demo clinic. Safe to run again."

    def handle(self, *args, **options) -> None:
        demo = Demo()
        for config in apps.get_app_configs():
            seed = getattr(config, "seed_demo", None)
            if seed is not None:
                seed(demo)
        self.stdout.write(
            self.style.SUCCESS("Demo clinic ready: Clinique vétérinaire des Tilleuls")
        )
        self.stdout.write(f"Password for every demo account: {DEMO_PASSWORD}")
        for role, email, secret in demo.logins:
            line = f"  {role:<10} {email}"
            if secret:
                line += f"   TOTP secret {secret}"
            self.stdout.write(line)
        self.stdout.write(
            "Staff sign in with a code from an authenticator app holding that secret, "
            "or print the current code with: .venv/bin/python manage.py demo_totp EMAIL"
        )
