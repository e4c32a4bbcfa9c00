"""Real text-message providers, one module each, chosen by ACCUEIL_SMS_BACKEND.

Each module has the backend (`send(sms) -> provider id`, raising TransientError/PermanentError
like backends.HttpBackend, within one Deadline), `replies_possible(sender)`, and the readers of
its webhooks: how a request is authenticated (a signature or a shared secret, compared in
constant time) and what a receipt or a reply says, as plain values (`Receipt`, `Incoming`).
The views (notifications/views.py) and notifications/replies.py do the rest the same way for
every provider.
"""

from dataclasses import dataclass
from datetime import datetime

from notifications.providers.ovh import OvhBackend
from notifications.providers.twilio import TwilioBackend

PROVIDERS = {"twilio": TwilioBackend, "ovh": OvhBackend}


@dataclass(frozen=True)
class Receipt:
    provider_id: str
    state: str  # "delivered", "failed", or the provider's own word for an earlier step
    detail: str = ""


@dataclass(frozen=True)
class Incoming:
    provider_message_id: str
    from_number: str
    text: str
    sent_at: datetime | None = None  # when the provider says it got it, if it says
