"""Text messages clients send back: matched, acted on once, answered through the outbox.

A provider's webhook (notifications/views.py) hands over what it read (`providers.Incoming`);
`receive` does the rest the same way for every provider, in one transaction:

1. Once per provider message id: the `InboundSms` row is written first, and its unique
   (provider, provider id) makes a retried or replayed webhook find it and do nothing more.
2. The client, by number (E.164): the one the latest reminder to that number went to, else the
   client whose mobile number it is. An unknown number gets no answer at all (nothing that
   tells a stranger whose number this was).
3. What it says, read leniently (case, spaces, accents, punctuation): "OUI"/"1"/"OK" and
   "NON"/"2"/"ANNULER" answer the latest reminder: the handler the subject's app registered
   (notifications.contracts.register_reply_handler; booking for appointments) confirms or
   cancels within its own rules. "STOP": the first one turns news and campaigns off (consent
   journal) and the answer says reminders continue unless they send STOP again; a second STOP
   turns every text message off (e-mail stays). Anything else (an emoji too) goes to the
   free-text handler (messaging: a message in the client's conversation, emergency words
   included).
4. A short neutral answer (no medical details, no names), planned as an urgent service
   message in the outbox (sent in quiet hours too: the client just wrote).
"""

import logging
import re
import unicodedata
from datetime import datetime, timedelta

import phonenumbers
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications import contracts, services
from notifications.models import (
    Channel,
    InboundSms,
    Kind,
    Notification,
    PreferenceChange,
    Purpose,
    Status,
    Topic,
)
from notifications.segments import count_segments
from portal.lib.phones import display_phone
from portal.models import Client, Clinic

log = logging.getLogger(__name__)

Outcome = InboundSms.Outcome

YES = frozenset({"OUI", "O", "1", "OK", "YES", "Y", "DACCORD"})
NO = frozenset({"NON", "N", "2", "ANNULER", "ANNULE", "NO", "CANCEL"})
STOP = frozenset({"STOP", "STOPSMS", "ARRET", "ARRETER", "UNSUBSCRIBE"})
# A text message from a number we do not know is kept this long (to see it in the outbox, and
# to refuse its replays), then deleted at the next reply received.
UNKNOWN_KEPT = timedelta(days=30)
# The messages whose answer is a keyword: the reminder asks "confirm or cancel".
ASKING_KINDS = (Kind.APPOINTMENT_REMINDER,)
_WORD = re.compile(r"[A-Z0-9]+")


def intent_of(text: str) -> str:
    """ "yes", "no", "stop", "text" (anything else, an emoji alone included) or "empty".

    The whole message must be the keyword ("Oui !", " o k ", "NON." count; "oui mais..." is
    text for the team): accents, case, spaces and punctuation do not matter."""
    if not text.strip():
        return "empty"
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(char for char in folded if not unicodedata.combining(char)).upper()
    word = "".join(_WORD.findall(folded))
    if word in YES:
        return "yes"
    if word in NO:
        return "no"
    if word in STOP:
        return "stop"
    return "text"


def e164(number: str, region: str) -> str:
    """The number in E.164, "" when it is not a phone number (a short code, a name)."""
    try:
        parsed = phonenumbers.parse(number.strip(), region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def receive(
    *,
    provider: str,
    provider_message_id: str,
    from_number: str,
    text: str,
    now: datetime | None = None,
) -> InboundSms:
    """Act on one incoming text message, once (see the module docstring). Locks nothing
    itself: the unique provider id settles two deliveries of the same message (the second
    insert waits for the first to commit, then fails and reads it), and the handlers lock what
    they change (booking locks the appointment row)."""
    now = now or timezone.now()
    clinic = Clinic.current()
    number = e164(from_number, services.clinic_region(clinic)) or from_number.strip()[:20]
    existing = InboundSms.objects.filter(
        provider=provider, provider_message_id=provider_message_id
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            inbound = InboundSms.objects.create(
                provider=provider,
                provider_message_id=provider_message_id[:120],
                from_number=number[:20],
                text=text[:1600],
                received_at=now,
                outcome=Outcome.UNKNOWN_NUMBER,
            )
            _act(inbound, clinic, now)
    except IntegrityError:
        return InboundSms.objects.get(provider=provider, provider_message_id=provider_message_id)
    InboundSms.objects.filter(client=None, received_at__lt=now - UNKNOWN_KEPT).delete()
    return inbound


def _act(inbound: InboundSms, clinic: Clinic, now: datetime) -> None:
    asked = (
        Notification.objects.filter(
            channel=Channel.SMS,
            recipient=inbound.from_number,
            kind__in=ASKING_KINDS,
            status__in=(Status.SENT, Status.DELIVERED),
        )
        .select_related("client")
        .order_by("-sent_at", "-pk")
        .first()
    )
    client = asked.client if asked is not None else _client_by_number(inbound.from_number)
    if client is None:
        inbound.save(update_fields=["outcome"])  # unknown number: kept, never answered
        return
    inbound.client = client
    inbound.notification = asked
    intent = intent_of(inbound.text)
    with translation.override(client.preferred_language or None):
        if intent == "empty":
            inbound.outcome = Outcome.EMPTY
            inbound.save(update_fields=["client", "notification", "outcome"])
            return
        if intent == "stop":
            inbound.outcome = _stop(client, inbound)
        elif intent in ("yes", "no"):
            inbound.outcome = _answer_subject(client, asked, intent, inbound.text, now)
        else:
            inbound.outcome = _free_text(client, asked, inbound.text, now)
        answer = _answer_text(inbound.outcome, clinic)
        inbound.answer = _plan_answer(client, inbound, answer, now)
    inbound.save(update_fields=["client", "notification", "outcome", "answer"])


def _client_by_number(number: str) -> Client | None:
    """The client whose mobile number this is; with several (a shared family phone), the one
    we last texted at it."""
    last = (
        Notification.objects.filter(channel=Channel.SMS, recipient=number)
        .select_related("client")
        .order_by("-created_at", "-pk")
        .first()
    )
    if last is not None:
        return last.client
    variants = {number}
    if number.startswith("+33") and len(number) == 12:
        national = "0" + number[3:]
        variants |= {national, " ".join(national[i : i + 2] for i in range(0, 10, 2))}
    return Client.objects.filter(phone__in=variants).order_by("pk").first()


def _answer_subject(
    client: Client, asked: Notification | None, intent: str, text: str, now: datetime
) -> str:
    handler = contracts.reply_handler(asked.subject_type) if asked is not None else None
    if asked is None or handler is None or asked.subject_id is None:
        return Outcome.GONE
    outcome = handler(
        contracts.Reply(
            client_id=client.pk,
            intent=intent,
            text=text,
            subject_type=asked.subject_type,
            subject_id=asked.subject_id,
            subject_version=asked.subject_version,
            received_at=now,
        )
    )
    return outcome.outcome if outcome.outcome in Outcome.values else Outcome.GONE


def _free_text(client: Client, asked: Notification | None, text: str, now: datetime) -> str:
    handler = contracts.free_text_handler()
    if handler is not None:
        handler(
            contracts.Reply(
                client_id=client.pk,
                intent="text",
                text=text,
                subject_type=asked.subject_type if asked else "",
                subject_id=asked.subject_id if asked else None,
                subject_version=asked.subject_version if asked else 0,
                received_at=now,
            )
        )
    return Outcome.MESSAGE  # handed to the team, or at least shown in the outbox's replies


def _stop(client: Client, inbound: InboundSms) -> str:
    """First STOP: news and campaigns off. STOP again (any time after): no text messages at
    all, e-mail only. Each change goes in the consent journal as "text message reply"."""
    preference = services.preference_for(client)
    again = (
        InboundSms.objects.filter(client=client, outcome=Outcome.STOP_MARKETING)
        .exclude(pk=inbound.pk)
        .exists()
    )
    if not again:
        services.change_preferences(
            client=client, by=None, how=PreferenceChange.How.SMS_REPLY, marketing_opt_in=False
        )
        return Outcome.STOP_MARKETING
    channels = {
        topic: [c for c in preference.channels_for(topic) if c != Channel.SMS] for topic in Topic
    }
    services.change_preferences(
        client=client,
        by=None,
        how=PreferenceChange.How.SMS_REPLY,
        channels=channels,
        marketing_opt_in=False,
    )
    return Outcome.STOP_ALL


def _answer_text(outcome: str, clinic: Clinic) -> str:
    phone = display_phone(clinic.phone) if clinic.phone else ""
    name = services.sms_sender(clinic)
    call = (_(" Please call us on %(phone)s.") % {"phone": phone}) if phone else ""
    texts = {
        Outcome.CONFIRMED: _("%(name)s: thank you, your appointment is confirmed."),
        Outcome.ALREADY: _("%(name)s: your appointment was already confirmed. Thank you."),
        Outcome.CANCELLED: _("%(name)s: your appointment is cancelled. Thank you for telling us."),
        Outcome.TOO_LATE: _("%(name)s: it is too late to cancel by text message.") + call,
        Outcome.GONE: _("%(name)s: we found no appointment waiting for this answer.") + call,
        Outcome.STOP_MARKETING: _(
            "%(name)s: you will get no more news or campaigns. Appointment reminders continue; "
            "send STOP again to stop every text message."
        ),
        Outcome.STOP_ALL: _(
            "%(name)s: you will get no more text messages from us (e-mail only). You can turn "
            "them back on in your space."
        ),
        Outcome.MESSAGE: _("%(name)s: your message has been passed on to the team.")
        + (
            _(" In an emergency, call %(phone)s.")
            % {"phone": display_phone(clinic.emergency_phone or clinic.phone)}
            if (clinic.emergency_phone or clinic.phone)
            else ""
        ),
    }
    return texts[outcome].replace("%(name)s", name)


def _plan_answer(client: Client, inbound: InboundSms, body: str, now: datetime) -> Notification:
    """Our answer, as an urgent service row in the outbox (same dispatch, same provider)."""
    row = Notification.objects.create(
        client=client,
        recipient=inbound.from_number,
        channel=Channel.SMS,
        kind=Kind.SMS_ANSWER,
        purpose=Purpose.SERVICE,
        urgent=True,
        language=translation.get_language() or "fr",
        body=body,
        segments=count_segments(body).segments,
        scheduled_at=now,
        status=Status.SCHEDULED,
        idempotency_key=f"sms-answer:{inbound.provider}:{inbound.provider_message_id}"[:200],
        created_at=now,
    )
    services._event(row, Status.SCHEDULED, str(_("Answer to a text message.")))
    services.enqueue_dispatch(row.pk, now, now=now, channel=Channel.SMS)
    return row


PROVIDER_LABELS = {
    "twilio": "Twilio",
    "ovh": "OVHcloud SMS",
    "http": _("a generic provider (JSON API)"),
    "console": _("the server's console (nothing is sent)"),
    "locmem": _("memory (tests)"),
    "file": _("files on the server (nothing is sent)"),
}


def sms_setup(clinic: Clinic) -> dict[str, object]:
    """What the manager's page says about two-way text messages: the provider, the sender
    clients see, whether they can answer, and the addresses to paste in the provider's
    console. Replies need a two-way provider and a sender that is a number: an alphanumeric
    sender ("CLINIQUE") cannot receive anything."""
    from django.conf import settings
    from django.urls import reverse

    from notifications.backends import get_sms_backend

    name = settings.NOTIFICATIONS_SMS_BACKEND
    backend = get_sms_backend()
    sender = services.sms_sender(clinic)
    if name == "twilio":
        seen = settings.NOTIFICATIONS_TWILIO_FROM or sender
        inbound = services.absolute(reverse("notifications:twilio_inbound"))
    elif name == "ovh":
        seen = (
            str(_("a short number chosen by OVHcloud"))
            if settings.NOTIFICATIONS_OVH_SENDER_FOR_RESPONSE
            else sender
        )
        inbound = services.absolute(reverse("notifications:ovh_inbound", args=["TOKEN"])).replace(
            "TOKEN", "<ACCUEIL_OVH_CALLBACK_TOKEN>"
        )
    else:
        seen, inbound = sender, ""
    two_way = bool(getattr(backend, "two_way", False))
    return {
        "provider": str(PROVIDER_LABELS.get(name, name)),
        "backend": name,
        "sender": seen,
        "two_way": two_way,
        "replies": two_way and backend.replies_possible(sender),
        "inbound_url": inbound,
    }
