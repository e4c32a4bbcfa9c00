"""OVHcloud SMS (https://eu.api.ovh.com/console/#/sms, "POST /sms/{serviceName}/jobs").

Sending: POST {API}/sms/{serviceName}/jobs with a JSON body {"message", "receivers": [...],
"sender" or "senderForResponse": true, "noStopClause", "priority", "charset", "coding",
"tag"}, signed as every OVHcloud API call is: headers X-Ovh-Application (application key),
X-Ovh-Consumer (consumer key), X-Ovh-Timestamp (Unix seconds) and X-Ovh-Signature =
"$1$" + hex SHA-1 of "secret+consumerKey+METHOD+url+body+timestamp" joined by "+".
The answer: {"ids": [123456], "validReceivers": ["+33..."], "invalidReceivers": [],
"totalCreditsRemoved": 1}.

Callbacks are not signed: the delivery report (the job's "callBack" URL: GET with id, dlr =
1 delivered, 2 or 16 failed, 4/8 intermediate, and descriptionDlr) and the incoming messages
(the service's "smsResponse" cgiUrl: id, senderid, message, date) each carry
ACCUEIL_OVH_CALLBACK_TOKEN in their path, compared in constant time.
"""

import hashlib
import hmac
import json
import time
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from notifications.backends import PermanentError, Sms, TransientError, provider_call

DLR_STATES = {"1": "delivered", "2": "failed", "16": "failed", "4": "buffered", "8": "smsc"}


def _absolute(path: str) -> str:
    from portal.lib.mail import absolute_url

    return absolute_url(path)


def sign(secret: str, consumer: str, method: str, url: str, body: str, timestamp: int) -> str:
    raw = "+".join([secret, consumer, method, url, body, str(timestamp)])
    # OVHcloud's documented request signature (not ours to choose).
    return "$1$" + hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()


class OvhBackend:
    two_way = True

    def send(self, sms: Sms) -> str:
        base = settings.NOTIFICATIONS_OVH_API_URL.rstrip("/")
        url = f"{base}/sms/{settings.NOTIFICATIONS_OVH_SERVICE_NAME}/jobs"
        token = settings.NOTIFICATIONS_OVH_CALLBACK_TOKEN
        job: dict[str, object] = {
            "message": sms.body,
            "receivers": [sms.to],
            "charset": "UTF-8",
            "coding": "7bit" if sms.body.isascii() else "8bit",
            "priority": "high",
            "noStopClause": True,  # service messages; "STOP" is answered by us (replies.py)
            "tag": sms.key[:64],
            "callBack": _absolute(reverse("notifications:ovh_status", args=[token])),
        }
        if settings.NOTIFICATIONS_OVH_SENDER_FOR_RESPONSE:
            job["senderForResponse"] = True
        else:
            job["sender"] = sms.sender
        body = json.dumps(job, separators=(",", ":"))
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-Ovh-Application": settings.NOTIFICATIONS_OVH_APPLICATION_KEY,
            "X-Ovh-Consumer": settings.NOTIFICATIONS_OVH_CONSUMER_KEY,
            "X-Ovh-Timestamp": str(timestamp),
            "X-Ovh-Signature": sign(
                settings.NOTIFICATIONS_OVH_APPLICATION_SECRET,
                settings.NOTIFICATIONS_OVH_CONSUMER_KEY,
                "POST",
                url,
                body,
                timestamp,
            ),
        }
        status, raw = provider_call("POST", url, body.encode(), headers)
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = None
        if status >= 500 or status == 429:
            raise TransientError(_("provider answered HTTP %(code)d") % {"code": status})
        if not 200 <= status < 300:
            message = answer.get("message") if isinstance(answer, dict) else ""
            raise PermanentError(
                _("OVHcloud refused it (HTTP %(status)d): %(message)s")
                % {"status": status, "message": message or "-"}
            )
        if not isinstance(answer, dict):
            raise TransientError(_("provider answered something that is not JSON"))
        if answer.get("invalidReceivers"):
            raise PermanentError(_("OVHcloud refused the number as invalid"))
        ids = answer.get("ids") or []
        if not ids:
            raise TransientError(_("provider answered without a message id"))
        return str(ids[0])

    def replies_possible(self, sender: str) -> bool:
        return settings.NOTIFICATIONS_OVH_SENDER_FOR_RESPONSE


def token_ok(given: str) -> bool:
    expected = settings.NOTIFICATIONS_OVH_CALLBACK_TOKEN
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def read_status(params: dict[str, str]):
    from notifications.providers import Receipt

    provider_id, dlr = params.get("id", ""), params.get("dlr", "")
    if not provider_id or not dlr:
        return None
    state = DLR_STATES.get(dlr, f"dlr-{dlr}")
    return Receipt(provider_id, state, params.get("descriptionDlr", "")[:200])


def read_incoming(params: dict[str, str]):
    from notifications.providers import Incoming

    # OVHcloud's incoming callback names them id, senderid, message, date; the other names
    # its API uses for an incoming message (GET /sms/{service}/incoming/{id}) are read too.
    provider_id = params.get("id") or params.get("smsId") or ""
    number = params.get("senderid") or params.get("sender") or ""
    if not provider_id or not number:
        return None
    sent_at = None
    raw = params.get("date") or params.get("creationDatetime") or ""
    if raw:
        try:
            sent_at = datetime.fromisoformat(raw.replace(" ", "T"))
        except ValueError:
            sent_at = None
    text = params.get("message") or params.get("text") or ""
    return Incoming(provider_id, number, text, sent_at)
