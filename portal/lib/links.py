"""Signed links that work without logging in (reminder confirm/cancel, waitlist offers).

A token carries a small JSON payload, an absolute expiry and a purpose (the signing salt), so a
token made for one purpose is worthless for another. Single use is the consumer's job: put a
version or nonce in the payload and check it against the row it acts on.
"""

from datetime import datetime

from django.core import signing
from django.utils import timezone


class LinkError(Exception):
    """Base for link problems; the message is safe to show."""


class LinkInvalid(LinkError):
    pass


class LinkExpired(LinkError):
    def __init__(self, payload: dict) -> None:
        super().__init__("expired")
        self.payload = payload


def make_token(purpose: str, payload: dict, *, expires_at: datetime) -> str:
    body = dict(payload, exp=int(expires_at.timestamp()))
    return signing.dumps(body, salt=f"accueil.link.{purpose}", compress=True)


def read_token(purpose: str, token: str, *, now: datetime | None = None) -> dict:
    """The payload of a valid token; LinkInvalid for a forged or foreign one, LinkExpired late."""
    try:
        body = signing.loads(token, salt=f"accueil.link.{purpose}")
    except signing.BadSignature:
        raise LinkInvalid("invalid") from None
    if not isinstance(body, dict) or "exp" not in body:
        raise LinkInvalid("invalid")
    expires = body.pop("exp")
    if (now or timezone.now()).timestamp() >= expires:
        raise LinkExpired(body)
    return body
