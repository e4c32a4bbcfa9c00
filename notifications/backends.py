"""Text-message backends, chosen by the ACCUEIL_SMS_BACKEND setting like EMAIL_BACKEND.

console: prints (the `make run` terminal); locmem: keeps them in `outbox` (tests); file: one file
per message under var/sms/; http: a provider's JSON API. Every backend receives the message's
idempotency key: the HTTP adapter passes it as `Idempotency-Key` so a provider that honours it
drops a resubmission after a crash, and the file backend names its files by it for the same
reason (see services.dispatch on the crash between "accepted" and "marked sent").

Errors: `TransientError` (5xx, timeout, connection refused) is retried with backoff;
`PermanentError` (the provider refuses this number or message) fails the row at once.
"""

import hashlib
import hmac
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _


class SendError(Exception):
    """A message the provider did not take; str() is the reason shown to staff."""


class TransientError(SendError):
    pass


class PermanentError(SendError):
    pass


@dataclass(frozen=True)
class Sms:
    to: str  # E.164
    sender: str
    body: str
    key: str  # idempotency key


# Messages sent through the locmem backend, like django.core.mail.outbox.
outbox: list[Sms] = []


class ConsoleBackend:
    def send(self, sms: Sms) -> str:
        sys.stdout.write(f"SMS from {sms.sender} to {sms.to} [{sms.key}]\n{sms.body}\n\n")
        sys.stdout.flush()
        return f"console-{_digest(sms.key)}"


class LocmemBackend:
    def send(self, sms: Sms) -> str:
        outbox.append(sms)
        return f"locmem-{_digest(sms.key)}"


class FileBackend:
    """One JSON file per message, named by its key: a resubmission finds the file and does not
    write a second one (what a provider honouring idempotency keys does)."""

    def send(self, sms: Sms) -> str:
        directory = Path(settings.NOTIFICATIONS_SMS_FILE_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{_digest(sms.key)}.json"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return f"file-{path.stem}"
        with os.fdopen(fd, "w") as handle:
            json.dump({"to": sms.to, "from": sms.sender, "body": sms.body, "key": sms.key}, handle)
        return f"file-{path.stem}"


class HttpBackend:
    """A generic JSON provider: POST {to, from, text, reference} with a bearer API key.

    Expects a 2xx answer with {"id": "..."}; 4xx means the provider refuses this message
    (permanent), 5xx and timeouts are worth retrying.
    """

    def send(self, sms: Sms) -> str:
        url = settings.NOTIFICATIONS_SMS_HTTP_URL
        if not url:
            raise PermanentError(
                _("the text-message provider is not configured (ACCUEIL_SMS_HTTP_URL)")
            )
        payload = json.dumps(
            {"to": sms.to, "from": sms.sender, "text": sms.body, "reference": sms.key}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - URL from settings, http(s) enforced there
            url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.NOTIFICATIONS_SMS_HTTP_API_KEY}",
                "Idempotency-Key": sms.key,
            },
        )
        timeout = settings.NOTIFICATIONS_SMS_HTTP_TIMEOUT
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            detail = _("provider answered HTTP %(code)d") % {"code": error.code}
            if error.code >= 500 or error.code == 429:
                raise TransientError(detail) from None
            raise PermanentError(detail) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise TransientError(
                _("provider unreachable: %(reason)s") % {"reason": reason}
            ) from None
        except ValueError:
            raise TransientError(_("provider answered something that is not JSON")) from None
        provider_id = str(answer.get("id", "")) if isinstance(answer, dict) else ""
        if not provider_id:
            raise TransientError(_("provider answered without a message id"))
        return provider_id


BACKENDS = {
    "console": ConsoleBackend,
    "locmem": LocmemBackend,
    "file": FileBackend,
    "http": HttpBackend,
}


def get_sms_backend():
    return BACKENDS[settings.NOTIFICATIONS_SMS_BACKEND]()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def sign_receipt(body: bytes, secret: str) -> str:
    """The signature a provider puts in X-Signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def receipt_signature_ok(body: bytes, signature: str, secret: str) -> bool:
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign_receipt(body, secret), signature.strip().lower())
