"""Standard Webhooks signatures (https://www.standardwebhooks.com/): what a receiver checks.

Three headers go with each delivery: ``webhook-id`` (the event's id, the same on every retry and
replay), ``webhook-timestamp`` (Unix seconds when this attempt was signed) and
``webhook-signature``: ``v1,`` then the base64 HMAC-SHA256, keyed with the secret's bytes, of
``<id>.<timestamp>.<body>``. The secret is shown as ``whsec_`` + base64 of 24 random bytes, so
the Standard Webhooks libraries (Python ``standardwebhooks``, Svix's) verify it as it is.
"""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60  # what a receiver should accept between the timestamp and its clock


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Accueil-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: int) -> bool:
    """What a receiver does (and the tests): a known timestamp, one matching signature.

    ``webhook-signature`` may hold several space-separated signatures (during a secret's
    rotation); any ``v1`` one that matches is enough."""
    try:
        msg_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        given = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in given)
