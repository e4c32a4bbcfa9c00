"""A text message as if a client had sent it: for trying two-way SMS without a provider."""

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from notifications import replies


class Command(BaseCommand):
    help = (
        "Acts on a text message from a mobile number as a provider's webhook would "
        "(e.g. `manage.py sms_reply +33612345678 OUI`), then prints what it did."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("number", help="the sender's mobile number, e.g. +33612345678")
        parser.add_argument("text", help="what the client wrote: OUI, NON, STOP or anything")

    def handle(self, *args, number: str, text: str, **options) -> None:
        if not text.strip():
            raise CommandError("The text is empty.")
        inbound = replies.receive(
            provider="console",
            provider_message_id=f"console-{secrets.token_hex(8)}",
            from_number=number,
            text=text,
        )
        with translation.override(settings.LANGUAGE_CODE):  # the portal's language (French)
            self.stdout.write(f"{inbound.from_number}: {inbound.get_outcome_display()}")
