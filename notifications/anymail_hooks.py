"""The clinic's ESP tells what became of each e-mail: anymail's tracking webhooks.

One URL per ESP the settings offer, /notifications/anymail/<esp>/tracking/, to paste in the
ESP's console with the basic-auth credentials of ACCUEIL_ANYMAIL_WEBHOOK_SECRET
("https://user:password@portal.example/notifications/anymail/brevo/tracking/"). Anymail's own
view checks them (and Mailgun's signature with its webhook signing key) and sends a normalised
event through `anymail.signals.tracking`; `on_tracking` applies it to the outbox
(`services.record_email_event`).

Only the ESP the clinic configured answers (others are 404). Each request is counted per IP in
the shared cache first: a flood of forged requests is refused with 429 before any check.
Log lines carry the ESP, the event type and the outcome, never an address.
"""

import hashlib
import logging

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, tracking
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.mailjet import MailjetTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from notifications import services
from portal.lib.net import client_ip

log = logging.getLogger(__name__)

TRACKING_VIEWS = {
    "brevo": BrevoTrackingWebhookView,
    "mailgun": MailgunTrackingWebhookView,
    "mailjet": MailjetTrackingWebhookView,
    "postmark": PostmarkTrackingWebhookView,
}
# ESPs send in bursts (a campaign's receipts): generous, yet a forger's flood stops here.
RATE_PER_MINUTE = 600
# ESPs retry a webhook for hours to a few days; an event id seen within this is not applied again.
REPLAY_DAYS = 7


def _over_rate(request: HttpRequest) -> bool:
    """A fixed one-minute window per IP in the shared cache (a miss while Redis is down:
    anymail's checks still hold then)."""
    key = (
        f"notifications:anymail:{client_ip(request) or '-'}:{int(timezone.now().timestamp() // 60)}"
    )
    try:
        if cache.add(key, 1, timeout=120):
            return False
        return cache.incr(key) > RATE_PER_MINUTE
    except ValueError:  # the key expired between add and incr
        return False


def _tracking_view(esp: str):
    @login_not_required  # public: the ESP authenticates with basic auth (+ Mailgun's signature)
    @csrf_exempt  # called by the ESP, never by a browser; the basic-auth secret is the credential
    def view(request: HttpRequest) -> HttpResponse:
        if esp != settings.EMAIL_BACKEND_NAME:
            raise Http404
        if _over_rate(request):
            log.warning("anymail %s webhook: rate limit reached", esp)
            return HttpResponse(status=429)
        # Built per request: anymail reads its secrets from settings when the view is made.
        try:
            return TRACKING_VIEWS[esp].as_view()(request)
        except AnymailWebhookValidationFailure:  # wrong basic auth, bad or missing signature
            log.warning("anymail %s webhook refused: bad credentials", esp)
            return HttpResponse(status=403)

    view.__name__ = f"{esp}_tracking"
    return view


def on_tracking(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    """Apply one event, unless its id was seen within REPLAY_DAYS (an ESP's retry, a replay).
    The cache only spares the work: applying an event twice changes nothing more anyway, so
    while Redis is down every event is applied."""
    seen = _event_key(esp_name, event.event_id)
    if seen and cache.get(seen):
        log.info("anymail %s event %s: replayed", esp_name, event.event_type)
        return
    outcome = services.record_email_event(
        event_type=event.event_type or "",
        message_id=str(event.message_id or ""),
        recipient=event.recipient or "",
        at=event.timestamp,
        detail=event.mta_response or event.description or event.reject_reason or "",
    )
    if seen:
        cache.set(seen, 1, timeout=REPLAY_DAYS * 86400)
    log.info("anymail %s event %s: %s", esp_name, event.event_type, outcome)


def _event_key(esp_name: str, event_id: str | None) -> str:
    if not event_id:
        return ""
    digest = hashlib.sha256(f"{esp_name}:{event_id}".encode()).hexdigest()[:32]
    return f"notifications:anymail:event:{digest}"


tracking.connect(on_tracking, dispatch_uid="notifications.anymail_hooks.on_tracking")

urlpatterns = [
    path(f"anymail/{esp}/tracking/", _tracking_view(esp), name=f"anymail_{esp}")
    for esp in TRACKING_VIEWS
]
