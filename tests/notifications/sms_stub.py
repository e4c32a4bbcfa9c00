"""A provider on 127.0.0.1 for the two-way SMS tests: it records what our adapters send and
answers with the shapes the providers document (recorded below), and it builds the signed
callbacks a provider would post back (Twilio's X-Twilio-Signature; OVHcloud's token URLs).

No network: a thread with http.server, like tests/notifications/test_dispatch.py's stub.
"""

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from notifications.providers import twilio

# --- Recorded shapes ----------------------------------------------------------------------------
# Twilio, POST /2010-04-01/Accounts/{sid}/Messages.json → 201 (trimmed to what we read + a few).
TWILIO_CREATED = {
    "account_sid": "AC00000000000000000000000000000000",
    "api_version": "2010-04-01",
    "body": "...",
    "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
    "direction": "outbound-api",
    "error_code": None,
    "error_message": None,
    "from": "+33757000001",
    "messaging_service_sid": None,
    "num_segments": "1",
    "price": None,
    "sid": "SM00000000000000000000000000000001",
    "status": "queued",
    "to": "+33612345678",
    "uri": "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages/SM0000.json",
}
# Twilio's refusal of a number (error 21211), HTTP 400.
TWILIO_INVALID_TO = {
    "code": 21211,
    "message": "Invalid 'To' Phone Number: +3361234XXXX",
    "more_info": "https://www.twilio.com/docs/errors/21211",
    "status": 400,
}
# OVHcloud, POST /sms/{serviceName}/jobs → 200.
OVH_JOB = {
    "totalCreditsRemoved": 1,
    "invalidReceivers": [],
    "ids": [264376021],
    "validReceivers": ["+33612345678"],
    "tag": "",
}
OVH_INVALID = {"totalCreditsRemoved": 0, "invalidReceivers": ["+33612"], "ids": [],
               "validReceivers": []}  # fmt: skip

ACCOUNT_SID = "AC00000000000000000000000000000000"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
TWILIO_NUMBER = "+33757000001"
OVH_TOKEN = "ovh-callback-token-0123456789abcdef"


@dataclass
class Stub:
    port: int = 0
    requests: list[dict] = field(default_factory=list)
    answers: list[tuple[int, dict]] = field(default_factory=list)
    default: tuple[int, dict] = (201, TWILIO_CREATED)
    sent: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def texts(self) -> list[str]:
        """The message bodies our adapters sent, in order (either provider's shape)."""
        bodies = []
        for request in self.requests:
            if "form" in request:
                bodies.append(request["form"].get("Body", ""))
            else:
                bodies.append(request["json"].get("message", ""))
        return bodies


@pytest.fixture
def provider_stub():
    stub = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            record: dict = {"path": self.path, "headers": dict(self.headers), "raw": raw}
            if self.headers.get("Content-Type", "").startswith("application/x-www-form"):
                record["form"] = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            else:
                record["json"] = json.loads(raw or b"{}")
            stub.requests.append(record)
            status, body = stub.answers.pop(0) if stub.answers else stub.default
            if status < 300 and "sid" in body:  # a fresh id per message, like Twilio's
                stub.sent += 1
                body = dict(body, sid=f"SM{stub.sent:032d}")
            elif status < 300 and body.get("ids"):
                stub.sent += 1
                body = dict(body, ids=[264376020 + stub.sent])
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.port = server.server_port
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()


@pytest.fixture
def twilio_settings(settings, provider_stub):
    settings.NOTIFICATIONS_SMS_BACKEND = "twilio"
    settings.NOTIFICATIONS_TWILIO_API_URL = provider_stub.url
    settings.NOTIFICATIONS_TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.NOTIFICATIONS_TWILIO_FROM = TWILIO_NUMBER
    settings.NOTIFICATIONS_SMS_HTTP_TIMEOUT = 2
    settings.ACCUEIL_BASE_URL = "http://testserver"
    provider_stub.default = (201, TWILIO_CREATED)
    return settings


@pytest.fixture
def ovh_settings(settings, provider_stub):
    settings.NOTIFICATIONS_SMS_BACKEND = "ovh"
    settings.NOTIFICATIONS_OVH_API_URL = provider_stub.url + "/1.0"
    settings.NOTIFICATIONS_OVH_APPLICATION_KEY = "app-key"
    settings.NOTIFICATIONS_OVH_APPLICATION_SECRET = "app-secret"
    settings.NOTIFICATIONS_OVH_CONSUMER_KEY = "consumer-key"
    settings.NOTIFICATIONS_OVH_SERVICE_NAME = "sms-ab12345-1"
    settings.NOTIFICATIONS_OVH_CALLBACK_TOKEN = OVH_TOKEN
    settings.NOTIFICATIONS_OVH_SENDER_FOR_RESPONSE = True
    settings.NOTIFICATIONS_SMS_HTTP_TIMEOUT = 2
    settings.ACCUEIL_BASE_URL = "http://testserver"
    provider_stub.default = (200, OVH_JOB)
    return settings


def twilio_post(http, path: str, params: dict[str, str], *, token: str = AUTH_TOKEN, **extra):
    """POST `params` to `path` as Twilio does: form-encoded, signed over the full URL."""
    signature = twilio.signature("http://testserver" + path, params, token)
    return http.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature, **extra)


def twilio_inbound(sid: str, body: str, sender: str = "+33612345678") -> dict[str, str]:
    """What Twilio posts for an incoming message (the fields we read, and a few more)."""
    return {
        "ToCountry": "FR",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": TWILIO_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def twilio_status(sid: str, status: str, error: str = "") -> dict[str, str]:
    params = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": "+33612345678",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": TWILIO_NUMBER,
        "ApiVersion": "2010-04-01",
    }
    if error:
        params["ErrorCode"] = error
    return params


def basic_auth(request: dict) -> tuple[str, str]:
    scheme, _, value = request["headers"]["Authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(value).decode().partition(":")
    return user, password
