"""Twilio Programmable Messaging (https://www.twilio.com/docs/messaging/api/message-resource).

Sending: POST {API}/2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To, From (or
MessagingServiceSid for an "MG..." sender), Body, StatusCallback; HTTP basic auth with the
account SID and auth token. 201 with {"sid": "SM...", "status": "queued", ...}; an error is
{"code": 21211, "message": "...", "status": 400}.

Webhooks (status callbacks and incoming messages) are form posts signed in X-Twilio-Signature:
base64 of HMAC-SHA1, keyed by the auth token, over the full URL Twilio called followed by each
POST parameter's name and value, sorted by name
(https://www.twilio.com/docs/usage/security#validating-requests).
"""

import base64
import hashlib
import hmac
import json
import re
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from notifications.backends import PermanentError, Sms, TransientError, provider_call

# MessageStatus values that end a message's journey; the others (queued, sending, sent,
# accepted, scheduled) come before and never step a row back.
FINAL_STATES = {"delivered": "delivered", "undelivered": "failed", "failed": "failed"}
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")


def _absolute(path: str) -> str:
    from portal.lib.mail import absolute_url

    return absolute_url(path)


class TwilioBackend:
    two_way = True

    def send(self, sms: Sms) -> str:
        sid = settings.NOTIFICATIONS_TWILIO_ACCOUNT_SID
        base = settings.NOTIFICATIONS_TWILIO_API_URL.rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{sid}/Messages.json"
        sender = settings.NOTIFICATIONS_TWILIO_FROM or sms.sender
        fields = {
            "To": sms.to,
            "Body": sms.body,
            "StatusCallback": _absolute(reverse("notifications:twilio_status")),
        }
        fields["MessagingServiceSid" if sender.startswith("MG") else "From"] = sender
        token = base64.b64encode(f"{sid}:{settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN}".encode())
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "Authorization": f"Basic {token.decode()}",
        }
        status, raw = provider_call("POST", url, urlencode(fields).encode(), headers)
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = None
        if status >= 500 or status == 429:
            raise TransientError(_("provider answered HTTP %(code)d") % {"code": status})
        if not 200 <= status < 300:
            message = answer.get("message") if isinstance(answer, dict) else ""
            code = answer.get("code") if isinstance(answer, dict) else ""
            raise PermanentError(
                _("Twilio refused it (HTTP %(status)d, error %(code)s): %(message)s")
                % {"status": status, "code": code or "?", "message": message or "-"}
            )
        if not isinstance(answer, dict):
            raise TransientError(_("provider answered something that is not JSON"))
        provider_id = str(answer.get("sid") or "")
        if not provider_id:
            raise TransientError(_("provider answered without a message id"))
        return provider_id

    def replies_possible(self, sender: str) -> bool:
        used = settings.NOTIFICATIONS_TWILIO_FROM or sender
        return bool(_PHONE.match(used)) or used.startswith("MG")


def signature(url: str, params: dict[str, str], token: str) -> str:
    """X-Twilio-Signature for a POST of `params` to `url`."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_ok(url: str, params: dict[str, str], given: str) -> bool:
    token = settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN
    if not token or not given:
        return False
    return hmac.compare_digest(signature(url, params, token).encode(), given.strip().encode())


def read_status(params: dict[str, str]):
    from notifications.providers import Receipt

    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    state = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not sid or not state:
        return None
    code = params.get("ErrorCode", "")
    return Receipt(sid, FINAL_STATES.get(state, state), f"Twilio error {code}" if code else "")


def read_incoming(params: dict[str, str]):
    from notifications.providers import Incoming

    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    number = params.get("From", "")
    if not sid or not number:
        return None
    return Incoming(sid, number, params.get("Body", ""))


# An empty TwiML answer: Twilio sends nothing back itself (our answer goes through the outbox).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
