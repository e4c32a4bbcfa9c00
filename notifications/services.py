"""Writes of the notifications app: planning messages, sending them, preferences, campaigns.

Public API for other apps (booking, records, messaging, waitlist): the first functions below.
Each one may be called inside the caller's transaction: it only writes outbox rows and asks for
their dispatch with `transaction.on_commit`, so a rolled-back booking sends nothing.

Sending, and why nothing goes twice
-----------------------------------
`dispatch(pk)` claims a row with one conditional UPDATE (scheduled → sending, where the row is
still scheduled and due, with a fresh claim token): of two workers holding a task for the same
row, exactly one gets rowcount 1; the other does nothing. The same holds on SQLite and
PostgreSQL, without a lock held while the provider is called. Every later transition is an
UPDATE ... WHERE status = 'sending' AND claim_token = <mine>, so a worker whose claim recovery
took over (it was slower than the lease) writes nothing and never hands the row over. The
idempotency key is unique, so planning twice finds the row.

Only the provider decides. Until the row is handed over (`handed_over_at` set, the attempt
counted, the lease restarted, just before the provider call) anything that goes wrong — the
cache or the database away, a bug — puts the row back to *scheduled* for later, with no attempt
counted and never *failed*. After it, every outcome is the provider's: its answer, or any
exception at all, counted against NOTIFICATIONS_MAX_ATTEMPTS. One provider call has one total
deadline, at most half the lease (backends.Deadline), so a live worker always finishes before
recovery may take its row.

The crash between "the provider accepted it" and "marked sent" leaves the row *sending*. After
the lease (NOTIFICATIONS_SENDING_LEASE_SECONDS) `recover()` takes it back. A row never handed
over goes again, whatever its channel. A handed-over text message is
submitted again **with the same idempotency key**, which the HTTP adapter sends as
`Idempotency-Key` (and the file backend uses as its file name), so a provider that honours it
(all the mainstream ones do) drops the duplicate: nothing lost, nothing doubled. An e-mail has
no such key over SMTP, so it is marked *failed* with the reason "interrupted while sending" for
staff to check and resend: we prefer a visible maybe-missed e-mail to a silent duplicate.
"""

import logging
import mimetypes
import re
import secrets
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.message import MIMEPart

import phonenumbers
from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from notifications import schedule
from notifications.backends import (
    Deadline,
    PermanentError,
    SendError,
    Sms,
    TransientError,
    call_seconds,
    get_sms_backend,
    mailer_within,
    replies_possible,
)
from notifications.contracts import AppointmentNotice, subject_still_valid
from notifications.messages import render, render_html
from notifications.models import (
    CAPPED_KINDS,
    KIND_TOPIC,
    MERGEABLE_KINDS,
    Campaign,
    Channel,
    Kind,
    Notification,
    NotificationEvent,
    Preference,
    PreferenceChange,
    Purpose,
    Status,
)
from notifications.segments import count_segments
from portal.lib import dates, mail
from portal.lib.links import make_token
from portal.lib.phones import display_phone, normalise_phone
from portal.models import Client, Clinic, User

log = logging.getLogger(__name__)

CARE_KINDS = ("vaccination", "antiparasitic", "checkup", "renewal")
CARE_KIND_LABELS = {
    "vaccination": _("vaccination"),
    "antiparasitic": _("antiparasitic treatment"),
    "checkup": _("check-up"),
    "renewal": _("treatment renewal"),
}
# Messages that answer something that already happened to the client's booking: they still go
# to a client who opted out of reminders ("service opt-out" silences reminders and notices).
TRANSACTIONAL = frozenset(
    {
        Kind.APPOINTMENT_CONFIRMED,
        Kind.APPOINTMENT_MOVED,
        Kind.APPOINTMENT_CANCELLED,
        Kind.SMS_ANSWER,  # the answer to a text message the client just sent
        Kind.VERIFICATION_CODE,  # a code the person just asked for
    }
)
# Texts that go to a number whether or not it is checked: the code that checks it, and our
# answer to a text the number itself sent us.
UNCHECKED_SMS_KINDS = frozenset({Kind.VERIFICATION_CODE, Kind.SMS_ANSWER})
NOT_CHECKED = _("Mobile number not checked yet.")
CODE_RE = re.compile(r"(?<!\d)\d{6}(?!\d)")
CODE_MASK = "••••••"
UNSUBSCRIBE_PURPOSE = "notifications.unsubscribe"
EMAIL_BOUNCED = _("E-mail address bounced.")
UNSUBSCRIBE_VALIDITY = timedelta(days=180)
# A due row still waiting this long has surely lost its task (a busy queue drains faster).
LOST_TASK_AFTER = timedelta(minutes=15)
# Documents are often published a few at a time (a lab result in three files): their notice
# waits this long, so the ones that follow within it go out with it as one message.
MERGE_WINDOW = timedelta(minutes=5)
LOGO_CID = "clinic-logo"


# ------------------------------------------------------------------------------------------------
# Public API: what booking, records, messaging and waitlist call.
# ------------------------------------------------------------------------------------------------


def appointment_booked(notice: AppointmentNotice) -> None:
    """Confirm a booking at once (e-mail with the .ics, and a text if the client chose texts)
    and plan the reminders asking for an active confirmation (e-mail 48 h and text 24 h before
    by default, on the clinic's wall clock). Calling it twice for the same version is harmless.
    """
    _appointment_messages(notice, Kind.APPOINTMENT_CONFIRMED, {})
    _plan_reminders(notice)


def appointment_moved(notice: AppointmentNotice, *, previous_version: int) -> None:
    """Cancel what is still pending for the old version(s), tell the client the new time and
    plan the reminders again for it."""
    _cancel_pending(
        Notification.objects.for_subject("appointment", notice.appointment_id).exclude(
            subject_version=notice.version
        ),
        reason=str(_("The appointment was moved.")),
    )
    _appointment_messages(notice, Kind.APPOINTMENT_MOVED, {"previous_version": previous_version})
    _plan_reminders(notice)


def appointment_cancelled(notice: AppointmentNotice, *, by_clinic: bool) -> None:
    """Cancel every pending message about the appointment and tell the client. A cancellation
    by the clinic is urgent (the client must not travel for nothing): quiet hours do not hold it.
    """
    _cancel_pending(
        Notification.objects.for_subject("appointment", notice.appointment_id),
        reason=str(_("The appointment was cancelled.")),
    )
    _appointment_messages(
        notice, Kind.APPOINTMENT_CANCELLED, {"by_clinic": by_clinic}, urgent=by_clinic
    )


def document_available(*, client_ids: Sequence[int], document_id: int) -> None:
    """ "A new document is available in your space" to each client, never its content.

    Goes MERGE_WINDOW after the call: documents published meanwhile for the same client are
    announced in the same message ("3 new documents..."), none dropped."""
    now = timezone.now()
    plans = []
    for client in _clients(client_ids):
        for channel in _channels(client, Kind.DOCUMENT_AVAILABLE):
            plans.append(
                Plan(
                    client=client,
                    channel=channel,
                    kind=Kind.DOCUMENT_AVAILABLE,
                    key=f"document:{document_id}:client:{client.pk}:{channel}",
                    at=now + MERGE_WINDOW,
                    context={},
                    subject_type="document",
                    subject_id=document_id,
                )
            )
    _plan(plans, now=now)


def care_reminder(
    *,
    client_ids: Sequence[int],
    key: str,
    kind: str,
    patient_name: str,
    due_date: date,
    booking_url: str,
    renew_url: str = "",
) -> None:
    """Remind the clients that care falls due, N days before (NOTIFICATIONS_CARE_LEAD_DAYS, 14;
    renewals NOTIFICATIONS_RENEWAL_LEAD_DAYS, 2) at 10:00 clinic time, with a booking link, or
    for a renewal the link to a request already filled in (`renew_url`) when orders offers one.

    `key` names the reminder for records (e.g. "vaccination:patient:7:rabies"): calling again
    with the same key replaces the pending reminder (a new due date) or leaves it be (the same).
    The text message names neither the animal nor the care.
    """
    if kind not in CARE_KINDS:
        raise ValueError(f"care kind must be one of {', '.join(CARE_KINDS)}; got {kind!r}")
    now = timezone.now()
    clinic = Clinic.current()
    at = schedule.care_send_time(due_date, kind, clinic.tz, now=now)
    group = f"care:{key}"
    # The due date is part of the message's identity: the same date again is the same message.
    generation = f"{group}:{due_date.isoformat()}"
    _cancel_pending(
        Notification.objects.filter(group_key=group).exclude(
            idempotency_key__startswith=generation + ":"
        ),
        reason=str(_("Replaced by a newer care reminder.")),
    )
    plans = []
    for client in _clients(client_ids):
        for channel in _channels(client, Kind.CARE_REMINDER):
            plans.append(
                Plan(
                    client=client,
                    channel=channel,
                    kind=Kind.CARE_REMINDER,
                    key=f"{generation}:client:{client.pk}:{channel}",
                    at=at or now,
                    context={
                        "patient_name": patient_name,
                        "care_kind": CARE_KIND_LABELS[kind],
                        "due_date": _Date(due_date),
                        "booking_url": booking_url,
                        "renew_url": renew_url,
                    },
                    group_key=group,
                    suppress=("" if at is not None else str(_("The due date had already passed."))),
                )
            )
    _plan(plans, now=now)


def cancel_care_reminder(*, key: str) -> None:
    """Cancel the pending care reminder records named `key` (the care was done, the animal died)."""
    _cancel_pending(
        Notification.objects.filter(group_key=f"care:{key}"),
        reason=str(_("The care reminder was withdrawn.")),
    )


def new_message_unread(*, client_id: int, message_id: int, delay: timedelta) -> None:
    """After `delay`, if messaging's "message" checker still says so (unread), tell the client
    "you have a new message from the clinic" by their channel, with no content."""
    now = timezone.now()
    plans = [
        Plan(
            client=client,
            channel=channel,
            kind=Kind.NEW_MESSAGE,
            key=f"message:{message_id}:client:{client.pk}:{channel}",
            at=now + delay,
            context={},
            subject_type="message",
            subject_id=message_id,
        )
        for client in _clients([client_id])
        for channel in _channels(client, Kind.NEW_MESSAGE)
    ]
    _plan(plans, now=now)


def waitlist_offer(
    *,
    client_id: int,
    offer_id: int,
    slot_starts_at: datetime,
    practitioner_name: str,
    claim_url: str,
    expires_at: datetime,
    wave: int,
) -> None:
    """ "A slot just opened tomorrow at 14:30 with Dr X — take it?". The e-mail goes at once; a
    text message waits for the end of quiet hours, and is dropped (suppressed, with the reason)
    if the offer would have ended by then. Checked against the "waitlist_offer" subject (version
    = wave) just before sending."""
    now = timezone.now()
    plans = [
        Plan(
            client=client,
            channel=channel,
            kind=Kind.WAITLIST_OFFER,
            key=f"waitlist:{offer_id}:wave:{wave}:client:{client.pk}:{channel}",
            at=now,
            context={
                "slot_starts_at": slot_starts_at,
                "practitioner_name": practitioner_name,
                "claim_url": claim_url,
                "expires_at": expires_at,
            },
            subject_type="waitlist_offer",
            subject_id=offer_id,
            version=wave,
            expires_at=expires_at,
        )
        for client in _clients([client_id])
        for channel in _channels(client, Kind.WAITLIST_OFFER)
    ]
    _plan(plans, now=now)


ORDER_STAGES = {
    "ready": Kind.ORDER_READY,
    "waiting": Kind.ORDER_WAITING,
    "refused": Kind.ORDER_UPDATE,
    "consultation": Kind.ORDER_UPDATE,
}


def order_notice(
    *,
    client_id: int,
    order_id: int,
    version: int,
    stage: str,
    at: datetime | None = None,
    context: dict[str, object],
) -> None:
    """Tell a client about their request (the orders app): "ready for pick-up" (SMS and e-mail,
    a service message: never capped, quiet hours hold the text), the one "still waiting"
    reminder planned for `at`, or that it was refused or needs a consultation.

    `context`: patient_name, item, site_name, site_address, until_at (aware), order_url, and
    for news reason, consultation, booking_url. The text message names neither the animal nor
    the item. Checked against the "order" subject at `version` just before sending: a parcel
    collected meanwhile cancels its pending notice."""
    if stage not in ORDER_STAGES:
        raise ValueError(f"order stage must be one of {', '.join(ORDER_STAGES)}; got {stage!r}")
    kind = ORDER_STAGES[stage]
    now = timezone.now()
    plans = [
        Plan(
            client=client,
            channel=channel,
            kind=kind,
            key=f"order:{order_id}:{stage}:v{version}:client:{client.pk}:{channel}",
            at=at or now,
            context=dict(context, consultation=stage == "consultation"),
            subject_type="order",
            subject_id=order_id,
            version=version,
        )
        for client in _clients([client_id])
        for channel in _channels(client, kind)
    ]
    _plan(plans, now=now)


def verification_code(
    *, client: Client, channel: str, target: str, code: str, expires_at: datetime, key: str
) -> Notification | None:
    """The message carrying a one-time code (notifications.codes calls it; other apps call
    `codes.send_code`). To `target` itself, checked or not: urgent (quiet hours do not hold a
    code someone is waiting for), transactional (a client who turned notices off asked for
    it), never capped, cancelled if it could only arrive after `expires_at`. Once the row is
    final, the code in its text is masked (`_redact`)."""
    now = timezone.now()
    fresh = _plan(
        [
            Plan(
                client=client,
                channel=channel,
                kind=Kind.VERIFICATION_CODE,
                key=key,
                at=now,
                context={"code": code},
                urgent=True,
                expires_at=expires_at,
                recipient=target,
            )
        ],
        now=now,
    )
    return fresh[0] if fresh else None


def phone_changed(client: Client) -> bool:
    """Call after the client's mobile number changed (the profile page, a correction by the
    team): the tick "mobile number checked" was for the old number, so it goes (journaled,
    how = automatic) and texts wait until the new number is checked. True when it was ticked.

    Without the call the rule still holds, as `phone_checked` compares the number ticked with
    the one on file; the call adds the journal line."""
    preference = preference_for(client)
    if not preference.phone_verified:
        return False
    if preference.verified_phone and preference.verified_phone == mobile_e164(client.phone):
        return False
    changes = change_preferences(
        client=client, by=None, how=PreferenceChange.How.SYSTEM, phone_verified=False
    )
    return bool(changes)


# ------------------------------------------------------------------------------------------------
# Planning
# ------------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """One message to put in the outbox."""

    client: Client
    channel: str
    kind: str
    key: str
    at: datetime
    context: dict[str, object]
    purpose: str = Purpose.SERVICE
    urgent: bool = False
    subject_type: str = ""
    subject_id: int | None = None
    version: int = 0
    group_key: str = ""
    expires_at: datetime | None = None
    ics: str = ""
    suppress: str = ""  # a reason known at planning time (e.g. no address)
    recipient: str = ""  # this number or address rather than the client's (a one-time code)
    extra: dict[str, object] = field(default_factory=dict)


class _Date:
    """A date or local time written in the message's language when rendered (lazily, inside
    messages.render's translation.override): "mardi 1er décembre" / "Tuesday 1 December" with
    "l j F", a weekday and date "at" a time with "l j F H:i", Django's format otherwise. A
    datetime is already on the clinic's wall clock: only its date and time are read."""

    def __init__(self, value: date | datetime, fmt: str = "l j F") -> None:
        self.value, self.fmt = value, fmt

    def __str__(self) -> str:
        day = self.value.date() if isinstance(self.value, datetime) else self.value
        if self.fmt == "l j F":
            return dates.weekday_day_month(day)
        if self.fmt == "l j F H:i":
            return str(
                _("%(date)s at %(time)s")
                % {
                    "date": dates.weekday_day_month(day),
                    "time": formats.time_format(self.value, "H:i"),
                }
            )
        return formats.date_format(self.value, self.fmt)


def _clients(client_ids: Sequence[int]) -> list[Client]:
    return list(
        Client.objects.filter(pk__in=list(client_ids))
        .select_related("user", "notification_preference")
        .order_by("pk")
    )


def preference_for(client: Client) -> Preference:
    try:
        return client.notification_preference
    except Preference.DoesNotExist:
        preference, _created = Preference.objects.get_or_create(client=client)
        client.notification_preference = preference  # cached for the next question
        return preference


def _channels(client: Client, kind: str) -> list[str]:
    topic = KIND_TOPIC[kind]
    preference = preference_for(client)
    chosen = [c for c in (Channel.EMAIL, Channel.SMS) if c in preference.channels_for(topic)]
    if Channel.EMAIL in chosen and not preference.email_valid and _sms_instead(client, preference):
        # The address bounced: a text message instead, to a mobile number checked with the
        # client (the STOP and "no reminders" rules still apply to it in _build). Without one,
        # the e-mail row is kept and recorded not sent, so staff see why nothing went.
        chosen = [Channel.SMS]
    return chosen


def _sms_instead(client: Client, preference: Preference) -> bool:
    """Whether the client takes text messages at all (for one topic at least: a second STOP
    takes them off every topic), on a mobile number checked with them."""
    takes_sms = any(
        Channel.SMS in preference.channels_for(topic) for topic in set(KIND_TOPIC.values())
    )
    return phone_checked(client, preference) and takes_sms


def mobile_e164(raw: str, region: str | None = None) -> str:
    """The number in E.164, "" when it is not a valid phone number."""
    try:
        return normalise_phone(raw, region=region or clinic_region(Clinic.current()))
    except ValidationError:
        return ""


def phone_checked(
    client: Client, preference: Preference | None = None, *, number: str | None = None
) -> bool:
    """Whether text messages may go to the client's mobile number (or to `number`, a row's
    recipient, which must still be it): ticked "checked" — by a code the client typed, or by
    the team — for the number on file now. A tick written without its number (before
    migration 0007 recorded them) holds for the number on file."""
    preference = preference or preference_for(client)
    if not preference.phone_verified:
        return False
    current = mobile_e164(client.phone)
    if not current:
        return False
    if number is not None and mobile_e164(number) != current:
        return False
    return not preference.verified_phone or preference.verified_phone == current


def _appointment_messages(
    notice: AppointmentNotice, kind: str, extra: dict[str, object], *, urgent: bool = False
) -> None:
    now = timezone.now()
    plans = [
        Plan(
            client=client,
            channel=channel,
            kind=kind,
            key=f"{kind}:appointment:{notice.appointment_id}:v{notice.version}:{channel}",
            at=now,
            context=dict(_appointment_context(notice), **extra),
            urgent=urgent,
            # The news of a cancellation must not be stopped by the checker, which (rightly)
            # says the appointment no longer holds: it gets a subject of its own, unchecked.
            subject_type=(
                "appointment_cancellation" if kind == Kind.APPOINTMENT_CANCELLED else "appointment"
            ),
            subject_id=notice.appointment_id,
            version=notice.version,
            ics=notice.ics if kind != Kind.APPOINTMENT_CANCELLED else "",
        )
        for client in _clients([notice.client_id])
        for channel in _channels(client, kind)
    ]
    _plan(plans, now=now)


def _plan_reminders(notice: AppointmentNotice) -> None:
    now = timezone.now()
    tz = Clinic.current().tz
    offsets = {
        Channel.EMAIL: timedelta(hours=settings.NOTIFICATIONS_REMINDER_EMAIL_HOURS),
        Channel.SMS: timedelta(hours=settings.NOTIFICATIONS_REMINDER_SMS_HOURS),
    }
    plans = []
    for client in _clients([notice.client_id]):
        for channel in _channels(client, Kind.APPOINTMENT_REMINDER):
            hours = int(offsets[channel].total_seconds() // 3600)
            at = schedule.reminder_time(
                notice.starts_at, offsets[channel], tz, now=now, sms=channel == Channel.SMS
            )
            if at is None:
                continue
            plans.append(
                Plan(
                    client=client,
                    channel=channel,
                    kind=Kind.APPOINTMENT_REMINDER,
                    key=f"reminder-{hours}h:appointment:{notice.appointment_id}"
                    f":v{notice.version}:{channel}",
                    at=at,
                    context=_appointment_context(notice),
                    subject_type="appointment",
                    subject_id=notice.appointment_id,
                    version=notice.version,
                    expires_at=notice.starts_at,
                    ics=notice.ics,
                )
            )
    _plan(plans, now=now)


def _appointment_context(notice: AppointmentNotice) -> dict[str, object]:
    return {
        "appointment_starts_at": notice.starts_at,
        "patient_name": notice.patient_name,
        "service_name": notice.service_name,
        "practitioner_name": notice.practitioner_name,
        "site_name": notice.site_name,
        "site_address": notice.site_address,
        "confirm_url": notice.confirm_url,
        "cancel_url": notice.cancel_url,
        "move_url": notice.move_url,
    }


def base_url() -> str:
    """The portal's address as the client's browser reaches it (ACCUEIL_BASE_URL, which `make
    run` sets to the port it serves), with one trailing slash. Every link in a message starts
    here: never the request's host (a worker has none), never a hard-coded port."""
    return mail.base_url() + "/"


def absolute(path: str) -> str:
    """`path` (e.g. from reverse()) as an absolute URL under the base URL."""
    return mail.absolute_url(path)


def clinic_region(clinic: Clinic) -> str:
    """The default region for phone numbers: the clinic's own number's country."""
    try:
        number = phonenumbers.parse(clinic.phone or "", None)
    except phonenumbers.NumberParseException:
        return "FR"
    return phonenumbers.region_code_for_number(number) or "FR"


def sms_sender(clinic: Clinic) -> str:
    return clinic.sms_sender or clinic.name[:11]


def _sms_recipient(
    client: Client, clinic: Clinic, preference: Preference | None = None
) -> tuple[str, str]:
    """(E.164 number, "") or ("", reason it cannot get a text message): a valid mobile number,
    checked with the client (PRODUCT/issue 12: verified "before text messages are sent to a
    number")."""
    raw = (client.phone or "").strip()
    if not raw:
        return "", str(_("No mobile number on file."))
    try:
        number = phonenumbers.parse(raw, clinic_region(clinic))
    except phonenumbers.NumberParseException:
        return "", str(_("Invalid phone number: %(phone)s") % {"phone": raw})
    if not phonenumbers.is_valid_number(number):
        return "", str(_("Invalid phone number: %(phone)s") % {"phone": raw})
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return "", str(_("Not a mobile number: %(phone)s") % {"phone": raw})
    if not phone_checked(client, preference):
        return "", str(NOT_CHECKED)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def _email_recipient(client: Client) -> tuple[str, str]:
    email = client.email or (client.user.email if client.user_id else "")
    if not email:
        return "", str(_("No e-mail address on file."))
    return email, ""


def _greeting_context(client: Client, clinic: Clinic) -> dict[str, object]:
    """What every message's template may name: whom it greets, who writes, where to go."""
    return {
        "first_name": client.first_name,
        "clinic": clinic.name,
        "sender": sms_sender(clinic),
        "base_url": base_url(),
    }


def _base_context(client: Client, clinic: Clinic, plan: Plan, send_at: datetime) -> dict:
    tz = clinic.tz
    context = _greeting_context(client, clinic)
    context.update(plan.context)
    for key, value in plan.context.items():
        # A link handed over as a path ("/booking/r/...") is made absolute on the base URL: a
        # message is read far from the portal, and a worker has no request to take a host from.
        if key.endswith("_url") and isinstance(value, str) and value.startswith("/"):
            context[key] = absolute(value)
    starts = plan.context.get("appointment_starts_at") or plan.context.get("slot_starts_at")
    if isinstance(starts, datetime):
        local = timezone.localtime(starts, tz)
        context["date"] = _Date(local, "l j F")
        context["time"] = _Date(local, "H:i")
        context["day"] = _DayLabel(local.date(), timezone.localtime(send_at, tz).date())
    until = plan.context.get("until_at")
    if isinstance(until, datetime):
        context["until"] = _Date(timezone.localtime(until, tz), "l j F H:i")
    expires = plan.context.get("expires_at")
    if isinstance(expires, datetime):
        context["expires"] = _Date(timezone.localtime(expires, tz), "l j F H:i")
    return context


class _DayLabel:
    """ "today" / "tomorrow" as seen on the day the message arrives, else the date."""

    def __init__(self, day: date, seen_on: date) -> None:
        self.day, self.seen_on = day, seen_on

    def __str__(self) -> str:
        if self.day == self.seen_on:
            return str(_("today"))
        if self.day == self.seen_on + timedelta(days=1):
            return str(_("tomorrow"))
        return str(_("on %(date)s") % {"date": dates.weekday_day_month(self.day)})


def _plan(plans: list[Plan], *, now: datetime) -> list[Notification]:
    """Write the rows (existing keys are left as they are) and ask for their dispatch on commit.

    No lock: the unique idempotency key settles two callers planning the same message at once
    (the second insert is ignored)."""
    if not plans:
        return []
    clinic = Clinic.current()
    keys = [plan.key for plan in plans]
    existing = dict(
        Notification.objects.filter(idempotency_key__in=keys).values_list(
            "idempotency_key", "status"
        )
    )
    rows = []
    for plan in plans:
        if plan.key in existing:
            continue
        rows.append(_build(plan, clinic, now))
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    fresh = list(
        Notification.objects.filter(
            idempotency_key__in=[row.idempotency_key for row in rows], created_at=now
        )
    )
    NotificationEvent.objects.bulk_create(
        NotificationEvent(
            notification=row, at=now, status=row.status, detail=row.reason or str(_("Planned."))
        )
        for row in fresh
    )
    # A key planned again after its message was cancelled (the same care reminder restored)
    # comes back to life; one that was sent or is pending stays as it is.
    revived = [key for key, status in existing.items() if status == Status.CANCELLED]
    if revived:
        by_key = {plan.key: plan for plan in plans}
        for row in Notification.objects.filter(
            idempotency_key__in=revived, status=Status.CANCELLED
        ):
            again = _build(by_key[row.idempotency_key], clinic, now)
            changed = Notification.objects.filter(pk=row.pk, status=Status.CANCELLED).update(
                status=again.status,
                reason=again.reason,
                scheduled_at=again.scheduled_at,
                body=again.body,
                subject=again.subject,
                html=again.html,
                recipient=again.recipient,
            )
            if changed:
                row.status, row.scheduled_at = again.status, again.scheduled_at
                _event(row, again.status, str(_("Planned again.")))
                fresh.append(row)
    for row in fresh:
        if row.status == Status.SCHEDULED:
            enqueue_dispatch(row.pk, row.scheduled_at, now=now, channel=row.channel)
    return fresh


def _build(plan: Plan, clinic: Clinic, now: datetime) -> Notification:
    client = plan.client
    preference = preference_for(client)
    language = client.preferred_language or settings.LANGUAGE_CODE
    if plan.recipient:
        recipient, problem = plan.recipient, ""
    elif plan.channel == Channel.SMS:
        recipient, problem = _sms_recipient(client, clinic, preference)
    else:
        recipient, problem = _email_recipient(client)
    reason = plan.suppress or problem
    if (
        not reason
        and plan.channel == Channel.EMAIL
        and not preference.email_valid
        and plan.kind != Kind.VERIFICATION_CODE  # asked for now, maybe to fix that very address
    ):
        reason = str(EMAIL_BOUNCED)
    if (
        not reason
        and preference.service_opt_out
        and plan.purpose == Purpose.SERVICE
        and plan.kind not in TRANSACTIONAL
    ):
        reason = str(_("The client turned reminders and notices off."))
    at = max(plan.at, now)
    if plan.channel == Channel.SMS and not plan.urgent:
        at = schedule.next_allowed(at, clinic.tz)
    if not reason and plan.expires_at is not None and at >= plan.expires_at:
        reason = str(_("Quiet hours would have held it until after it stopped making sense."))
    context = _base_context(client, clinic, plan, at)
    subject, body = render(plan.kind, plan.channel, language, context)
    if plan.channel == Channel.SMS and plan.kind == Kind.APPOINTMENT_REMINDER:
        body = _with_reply_hint(body, clinic, language)
    unsubscribe = unsubscribe_url(client) if plan.purpose == Purpose.MARKETING else ""
    return Notification(
        client=client,
        recipient=recipient,
        channel=plan.channel,
        kind=plan.kind,
        purpose=plan.purpose,
        urgent=plan.urgent,
        language=language,
        subject=subject[:200],
        body=body,
        html=(
            render_html(body, language=language, clinic=clinic, unsubscribe_url=unsubscribe)
            if plan.channel == Channel.EMAIL
            else ""
        ),
        ics=plan.ics if plan.channel == Channel.EMAIL else "",
        segments=count_segments(body).segments if plan.channel == Channel.SMS else 0,
        scheduled_at=at,
        status=Status.SUPPRESSED if reason else Status.SCHEDULED,
        reason=reason[:300],
        idempotency_key=plan.key,
        subject_type=plan.subject_type,
        subject_id=plan.subject_id,
        subject_version=plan.version,
        group_key=plan.group_key,
        expires_at=plan.expires_at,
        created_at=now,
    )


def _with_reply_hint(body: str, clinic: Clinic, language: str) -> str:
    """A text reminder tells how to answer it when clients can (a two-way provider and a
    sender that is a number; notifications/replies.py reads the answer), unless the clinic's
    own wording already does."""
    if not replies_possible(sms_sender(clinic)):
        return body
    with translation.override(language):
        hint = str(_("Reply OUI to confirm, NON to cancel."))
    return body if hint in body else f"{body} {hint}"


def _cancel_pending(queryset, *, reason: str) -> int:
    """Cancel the still-scheduled rows of `queryset`. A row already *sending* is past stopping;
    dispatch's own subject check catches most of those."""
    now = timezone.now()
    pks = list(queryset.filter(status=Status.SCHEDULED).values_list("pk", flat=True))
    if not pks:
        return 0
    count = Notification.objects.filter(pk__in=pks, status=Status.SCHEDULED).update(
        status=Status.CANCELLED, reason=reason[:300]
    )
    NotificationEvent.objects.bulk_create(
        NotificationEvent(notification_id=pk, at=now, status=Status.CANCELLED, detail=reason[:300])
        for pk in pks
    )
    return count


def enqueue_dispatch(pk: int, at: datetime, *, now: datetime, channel: str) -> None:
    """Ask a worker to send row `pk` at `at`, once the current transaction has committed.

    Each channel has its own queue ("email", "sms"): a hung text-message provider holds the
    workers of the "sms" queue only, and e-mails keep flowing."""

    def enqueue() -> None:
        from notifications.tasks import dispatch_notification

        task = dispatch_notification.using(queue_name=channel, run_after=at if at > now else None)
        task.enqueue(pk)
        _plan_recovery()

    transaction.on_commit(enqueue)


def _plan_recovery() -> None:
    """Make sure a recovery pass is planned (at most one per lease period per cache).

    The cache only spares a query: when it cannot answer (Redis away), the task table says
    whether a pass is already waiting."""
    from notifications.tasks import recover_outbox

    lease = settings.NOTIFICATIONS_SENDING_LEASE_SECONDS
    try:
        if not cache.add("notifications:recovery-planned", True, timeout=lease):
            return
    except Exception as error:  # any cache fault: ask the queue instead
        log.warning("cache unavailable (%s): asking the task queue", error.__class__.__name__)
        if _recovery_waiting():
            return
    recover_outbox.using(run_after=timezone.now() + timedelta(seconds=lease)).enqueue()


def _recovery_waiting() -> bool:
    from django.tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from notifications.tasks import recover_outbox

    if not isinstance(task_backends["default"], DatabaseBackend):
        return False
    return DBTaskResult.objects.filter(
        status="READY", task_path=recover_outbox.module_path
    ).exists()


def _event(row: Notification, status: str, detail: str = "") -> None:
    NotificationEvent.objects.create(notification=row, status=status, detail=detail[:300])


# ------------------------------------------------------------------------------------------------
# Dispatch
# ------------------------------------------------------------------------------------------------


def dispatch(pk: int) -> str:
    """Send row `pk` if it is still scheduled and due; return what happened (for the task log).

    Claimed by a conditional UPDATE with a fresh token (no lock is held while the provider is
    called); every later transition is conditional on the row still being *sending* under
    that token, so a slow worker cannot overwrite what recovery decided meanwhile. Before the
    hand-over any fault puts the row back for later; after it, the provider decides.
    """
    now = timezone.now()
    token = secrets.token_hex(16)
    claimed = Notification.objects.filter(
        pk=pk, status=Status.SCHEDULED, scheduled_at__lte=now
    ).update(status=Status.SENDING, claimed_at=now, claim_token=token, handed_over_at=None)
    if not claimed:
        return "not mine"
    try:
        row = Notification.objects.select_related("client").get(pk=pk)
        clinic = _clinic()
        decided = _decide_before_sending(row, clinic, now, token)
        if decided is not None:
            return decided
        if row.kind in MERGEABLE_KINDS:
            row = _merge_siblings(row, clinic, now, token)
        if not _hand_over(row, token):
            return "taken over"
    except Exception as error:  # nothing left yet: whatever failed, try later
        log.warning("notification %s not handed over: %s", pk, error.__class__.__name__)
        return _release(pk, token, error)

    try:
        provider_id = _send(row, clinic)
    except PermanentError as error:
        if row.channel == Channel.SMS:
            _phone_unverified(row.client)
        finished = _finish(row, token, Status.FAILED, str(error))
        if isinstance(error, EmailRefused):  # the ESP's suppression list: a bounce before
            _email_invalid(row, str(error), timezone.now())
        return finished
    except Exception as error:  # garbage or a bug: counted like a provider fault
        if isinstance(error, TransientError):
            reason = str(error)
        else:
            log.exception("notification %s: unexpected error from the provider", pk)
            reason = str(
                _("unexpected answer from the provider: %(error)s")
                % {"error": f"{error.__class__.__name__}: {error}"}
            )
        if row.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            return _finish(
                row,
                token,
                Status.FAILED,
                str(_("Gave up after %(n)d attempts: %(error)s"))
                % {"n": row.attempts, "error": reason},
            )
        wait = timedelta(seconds=settings.NOTIFICATIONS_RETRY_SECONDS * 2 ** (row.attempts - 1))
        return _back_to_scheduled(row, token, timezone.now() + wait, reason)
    # One write transaction for the status and its history line (fewer turns at SQLite's lock).
    with transaction.atomic():
        changed = Notification.objects.filter(
            pk=pk, status=Status.SENDING, claim_token=token
        ).update(
            status=Status.SENT,
            provider_id=provider_id[:120],
            sent_at=timezone.now(),
            reason="",
            claim_token="",
            **_redact(row),
        )
        if changed:
            _event(row, Status.SENT, str(_("Provider reference: %(id)s") % {"id": provider_id}))
    if changed and row.channel == Channel.SMS:
        _apply_early_receipt(provider_id[:120])
    return "sent" if changed else "taken over"


def _clinic() -> Clinic:
    """The clinic, through the cache when it answers and from the database when it does not:
    a cache outage must not stop the outbox."""
    try:
        return Clinic.current()
    except Exception as error:  # the cache's own errors vary by backend
        log.warning("clinic not read through the cache (%s)", error.__class__.__name__)
        clinic = Clinic.objects.order_by("pk").first()
        if clinic is None:
            raise
        return clinic


def _decide_before_sending(
    row: Notification, clinic: Clinic, now: datetime, token: str
) -> str | None:
    """What stops or holds a claimed row before it is sent (None: send it)."""
    if row.subject_type and not subject_still_valid(
        row.subject_type, row.subject_id, row.subject_version
    ):
        return _finish(row, token, Status.CANCELLED, str(_("No longer relevant (changed since).")))
    if row.expires_at is not None and now >= row.expires_at:
        return _finish(row, token, Status.CANCELLED, str(_("Too late: it stopped making sense.")))
    preference = preference_for(row.client)
    if row.purpose == Purpose.MARKETING and not preference.marketing_opt_in:
        return _finish(row, token, Status.SUPPRESSED, str(_("The client withdrew consent.")))
    if (
        row.purpose == Purpose.SERVICE
        and preference.service_opt_out
        and row.kind not in TRANSACTIONAL
    ):
        return _finish(
            row, token, Status.SUPPRESSED, str(_("The client turned reminders and notices off."))
        )
    if (
        row.channel == Channel.EMAIL
        and not preference.email_valid
        and row.kind != Kind.VERIFICATION_CODE
    ):
        return _finish(row, token, Status.SUPPRESSED, str(EMAIL_BOUNCED))
    if (
        row.channel == Channel.SMS
        and row.kind not in UNCHECKED_SMS_KINDS
        and not phone_checked(row.client, preference, number=row.recipient)
    ):
        # Unticked since it was planned (the number changed, the provider refused it).
        return _finish(row, token, Status.SUPPRESSED, str(NOT_CHECKED))
    if row.channel == Channel.SMS and not row.urgent and schedule.is_quiet(now, clinic.tz):
        later = schedule.next_allowed(now, clinic.tz)
        return _back_to_scheduled(row, token, later, str(_("Quiet hours: held until then.")))
    if row.kind in CAPPED_KINDS and _over_weekly_cap(row, now):
        return _finish(
            row,
            token,
            Status.SUPPRESSED,
            str(_("Weekly limit of messages reached (news and campaigns).")),
        )
    return None


def _hand_over(row: Notification, token: str) -> bool:
    """The point of no return, just before the provider is called: count the attempt and
    restart the lease, if the claim is still ours. From here a crash leaves a row that may
    have left (recovery treats it so); before it, one that surely did not."""
    now = timezone.now()
    changed = Notification.objects.filter(
        pk=row.pk, status=Status.SENDING, claim_token=token
    ).update(handed_over_at=now, claimed_at=now, attempts=F("attempts") + 1)
    row.attempts += 1
    return bool(changed)


def _release(pk: int, token: str, error: Exception) -> str:
    """Put a claimed row that never reached a provider back to *scheduled*, for later: no
    attempt counted, never *failed*. If even this cannot be written (the database away), the
    row stays *sending* without a hand-over and recovery sends it again after the lease."""
    at = timezone.now() + timedelta(seconds=max(settings.NOTIFICATIONS_RETRY_SECONDS, 1))
    reason = str(
        _("Not sent yet (%(error)s): it will be tried again.") % {"error": error.__class__.__name__}
    )[:300]
    try:
        with transaction.atomic():
            row = (
                Notification.objects.filter(pk=pk, status=Status.SENDING, claim_token=token)
                .only("pk", "channel")
                .first()
            )
            if row is None:
                return "released"
            Notification.objects.filter(pk=pk, status=Status.SENDING, claim_token=token).update(
                status=Status.SCHEDULED, scheduled_at=at, reason=reason, claim_token=""
            )
            _event(row, Status.SCHEDULED, reason)
            enqueue_dispatch(pk, at, now=timezone.now(), channel=row.channel)
    except Exception as again:  # recovery takes the row after the lease
        log.warning("notification %s left for recovery: %s", pk, again.__class__.__name__)
    return "released"


def _finish(row: Notification, token: str, status: str, reason: str) -> str:
    with transaction.atomic():
        changed = Notification.objects.filter(
            pk=row.pk, status=Status.SENDING, claim_token=token
        ).update(status=status, reason=reason[:300], claim_token="", **_redact(row))
        if changed:
            _event(row, status, reason)
    return status


def _redact(row: Notification) -> dict[str, str]:
    """A one-time code is masked in its row's text once the row is final: it has left (or
    never will), and the outbox is read by the whole team. Until then recovery may need to
    submit the text again as it was."""
    if row.kind != Kind.VERIFICATION_CODE:
        return {}
    return {
        "body": CODE_RE.sub(CODE_MASK, row.body),
        "html": CODE_RE.sub(CODE_MASK, row.html),
    }


def _back_to_scheduled(row: Notification, token: str, at: datetime, reason: str) -> str:
    with transaction.atomic():
        changed = Notification.objects.filter(
            pk=row.pk, status=Status.SENDING, claim_token=token
        ).update(status=Status.SCHEDULED, scheduled_at=at, reason=reason[:300], claim_token="")
        if changed:
            _event(row, Status.SCHEDULED, reason)
            enqueue_dispatch(row.pk, at, now=timezone.now(), channel=row.channel)
    return "rescheduled"


def _over_weekly_cap(row: Notification, now: datetime) -> bool:
    """Whether the client already had NOTIFICATIONS_WEEKLY_CAP messages in 7 days. Every message
    counts towards the pressure a client feels; only news and campaigns are dropped for it."""
    sent = Notification.objects.filter(
        client_id=row.client_id,
        status__in=(Status.SENT, Status.DELIVERED),
        sent_at__gte=now - timedelta(days=7),
    ).count()
    return sent >= settings.NOTIFICATIONS_WEEKLY_CAP


def _merge_siblings(row: Notification, clinic: Clinic, now: datetime, token: str) -> Notification:
    """Take into `row` (claimed, *sending*) the other notices of its kind to the same client on
    the same channel that are due within MERGE_WINDOW, and reword it for all of them.

    Each sibling is taken with a conditional UPDATE (scheduled → merged), so a sibling another
    worker claimed meanwhile is sent on its own, never twice. A sibling whose subject no longer
    holds (a message read since) is left to its own task, which cancels it."""
    candidates = Notification.objects.filter(
        client_id=row.client_id,
        channel=row.channel,
        kind=row.kind,
        status=Status.SCHEDULED,
        scheduled_at__lte=now + MERGE_WINDOW,
    ).exclude(pk=row.pk)
    merged = []
    for sibling in candidates.only("pk", "subject_type", "subject_id", "subject_version"):
        if sibling.subject_type and not subject_still_valid(
            sibling.subject_type, sibling.subject_id, sibling.subject_version
        ):
            continue
        reason = str(_("Sent together with message #%(pk)d.") % {"pk": row.pk})
        with transaction.atomic():
            if Notification.objects.filter(pk=sibling.pk, status=Status.SCHEDULED).update(
                status=Status.MERGED, reason=reason[:300]
            ):
                _event(sibling, Status.MERGED, reason)
                merged.append(sibling.pk)
    if not merged:
        return row
    count = len(merged) + 1
    context = {**_greeting_context(row.client, clinic), "count": count}
    subject, body = render(row.kind, row.channel, row.language, context)
    fields: dict[str, object] = {"subject": subject[:200], "body": body}
    if row.channel == Channel.EMAIL:
        fields["html"] = render_html(body, language=row.language, clinic=clinic)
    else:
        fields["segments"] = count_segments(body).segments
    Notification.objects.filter(pk=row.pk, status=Status.SENDING, claim_token=token).update(
        **fields
    )
    for name, value in fields.items():
        setattr(row, name, value)
    detail = str(_("%(count)d notices in one message.") % {"count": count})
    _event(row, Status.SENDING, detail)
    return row


def _send(row: Notification, clinic: Clinic) -> str:
    if row.channel == Channel.SMS:
        return get_sms_backend().send(
            Sms(to=row.recipient, sender=sms_sender(clinic), body=row.body, key=row.idempotency_key)
        )
    return _send_email(row, clinic)


def email_subject(subject: str, clinic: Clinic) -> str:
    """The subject with the clinic's name first, as a reader scans an inbox."""
    subject = subject.strip()
    if subject.startswith(clinic.name):
        return subject[:200]
    return f"{clinic.name} — {subject}"[:200]


def email_footer(clinic: Clinic) -> str:
    """The plain-text part's signature: who wrote, and how to call them."""
    phone = display_phone(clinic.phone)
    return "\n".join(line for line in ("-- ", clinic.name, phone, base_url()) if line)


def _logo_part(clinic: Clinic) -> MIMEPart | None:
    """The clinic's logo as an inline image (cid:clinic-logo): media files are not served to
    the public, and a mail client would not fetch an outside image anyway."""
    if not clinic.logo:
        return None
    try:
        with clinic.logo.open("rb") as handle:
            data = handle.read()
    except OSError:
        log.warning("clinic logo %s unreadable: e-mails go without it", clinic.logo.name)
        return None
    subtype = (mimetypes.guess_type(clinic.logo.name)[0] or "image/png").split("/", 1)[1]
    part = MIMEPart()
    part.set_content(
        data, maintype="image", subtype=subtype, disposition="inline", cid=f"<{LOGO_CID}>"
    )
    return part


class EmailRefused(PermanentError):
    """The ESP refused the address itself (its suppression list after earlier bounces)."""


def _send_email(row: Notification, clinic: Clinic) -> str:
    message_id = f"<{row.idempotency_key.replace(':', '.')}@accueil>"
    headers = {"Message-ID": message_id}
    if row.purpose == Purpose.MARKETING:
        url = unsubscribe_url(row.client)
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    deadline = Deadline(call_seconds(settings.NOTIFICATIONS_EMAIL_TIMEOUT))
    message = EmailMultiAlternatives(
        subject=email_subject(row.subject, clinic),
        body=f"{row.body.rstrip()}\n\n{email_footer(clinic)}\n",
        from_email=mail.clinic_sender(clinic),
        to=[row.recipient],
        headers=headers,
        connection=mailer_within(deadline),
    )
    if row.html:
        message.attach_alternative(row.html, "text/html")
        if f"cid:{LOGO_CID}" in row.html and (logo := _logo_part(clinic)) is not None:
            message.attach(logo)
    if row.ics:
        message.attach("appointment.ics", row.ics, "text/calendar")
    try:
        with deadline:
            message.send()
    except smtplib.SMTPRecipientsRefused as error:
        raise PermanentError(
            str(_("e-mail address refused: %(who)s") % {"who": ", ".join(error.recipients)})
        ) from None
    except AnymailRecipientsRefused:
        raise EmailRefused(str(_("the e-mail provider refused the address"))) from None
    except AnymailError as error:  # the ESP's API: refused, unreachable, timed out
        if deadline.expired:
            raise TransientError(
                str(
                    _("e-mail provider: no complete answer within %(seconds)s s")
                    % {"seconds": f"{deadline.seconds:g}"}
                )
            ) from None
        raise TransientError(
            str(_("e-mail provider: %(error)s") % {"error": str(error).splitlines()[0][:200]})
        ) from None
    except (smtplib.SMTPException, OSError) as error:
        if deadline.expired:
            raise TransientError(
                str(
                    _("mail server: no complete answer within %(seconds)s s")
                    % {"seconds": f"{deadline.seconds:g}"}
                )
            ) from None
        raise TransientError(str(_("mail server: %(error)s") % {"error": error})) from None
    # Through an ESP (anymail), its own id: what its tracking webhooks name the message by.
    status = getattr(message, "anymail_status", None)
    if status is not None and status.message_id is not None:
        return str(status.message_id)
    return message_id


def _phone_unverified(client: Client) -> None:
    preference = preference_for(client)
    if preference.phone_verified:
        change_preferences(
            client=client, by=None, how=PreferenceChange.How.SYSTEM, phone_verified=False
        )


def recover(*, now: datetime | None = None) -> dict[str, int]:
    """Take back what a crash left behind: rows *sending* past the lease (worker killed or
    lost mid-dispatch) and rows *scheduled* and overdue whose task was lost (crash before
    enqueue). Each row is taken with an UPDATE on the claim it was read with, so a worker that
    finishes meanwhile keeps its row, and a row is taken by one recovery pass only.

    - never handed over (the worker died before calling a provider): it goes again, whatever
      its channel, without an attempt counted ("retried");
    - a handed-over text message: submitted again with the same idempotency key ("resent");
    - a handed-over e-mail: *failed*, for staff to check and resend ("failed").
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.NOTIFICATIONS_SENDING_LEASE_SECONDS)
    stale = Notification.objects.filter(status=Status.SENDING, claimed_at__lt=now - lease)
    counts = {"retried": 0, "resent": 0, "failed": 0, "requeued": 0}
    for row in stale.only("pk", "channel", "status", "claim_token", "handed_over_at"):
        claim = Notification.objects.filter(
            pk=row.pk,
            status=Status.SENDING,
            claim_token=row.claim_token,
            claimed_at__lt=now - lease,
        )
        if row.handed_over_at is None or row.channel == Channel.SMS:
            if row.handed_over_at is None:
                outcome = "retried"
                detail = _("Interrupted before it reached the provider: sent again.")
            else:
                outcome = "resent"
                detail = _("Interrupted while sending: submitted again with the same key.")
            with transaction.atomic():
                if claim.update(status=Status.SCHEDULED, scheduled_at=now, claim_token=""):
                    _event(row, Status.SCHEDULED, str(detail))
                    enqueue_dispatch(row.pk, now, now=now, channel=row.channel)
                    counts[outcome] += 1
            continue
        reason = str(_("Interrupted while sending: it may not have left. Check, then resend."))
        with transaction.atomic():
            if claim.update(status=Status.FAILED, reason=reason, claim_token=""):
                _event(row, Status.FAILED, reason)
                counts["failed"] += 1
    # A due row with no task waiting for it lost its task (a worker killed between taking the
    # task and claiming the row, a crash between commit and enqueue): queue it again. A second
    # task for a row is harmless (the claim decides); where the queue cannot be asked, only
    # rows overdue by LOST_TASK_AFTER are re-queued, so a long backlog is not doubled.
    queued = _queued_rows()
    cutoff = now - (lease if queued is not None else LOST_TASK_AFTER)
    overdue = [
        (pk, channel)
        for pk, channel in Notification.objects.filter(
            status=Status.SCHEDULED, scheduled_at__lt=cutoff
        ).values_list("pk", "channel")[:5000]
        if queued is None or pk not in queued
    ]
    for pk, channel in overdue:
        enqueue_dispatch(pk, now, now=now, channel=channel)
    counts["requeued"] = len(overdue)
    return counts


def _queued_rows() -> set[int] | None:
    """Rows a dispatch task still waits to send, when the queue is django-tasks-db's table
    (None for another backend). A task left *running* by a killed worker does not count."""
    from django.tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from notifications.tasks import dispatch_notification

    if not isinstance(task_backends["default"], DatabaseBackend):
        return None
    waiting = DBTaskResult.objects.filter(
        status="READY", task_path=dispatch_notification.module_path
    ).values_list("args_kwargs", flat=True)
    return {entry["args"][0] for entry in waiting if entry.get("args")}


# ------------------------------------------------------------------------------------------------
# Staff actions, receipts
# ------------------------------------------------------------------------------------------------


def resend(*, notification: Notification, by: User) -> Notification:
    """A new row with the same content (a new key: "resend:<n>:<old key>"), sent at once.

    Locks the original row so two clicks make one copy each, numbered apart."""
    now = timezone.now()
    with transaction.atomic():
        original = Notification.objects.select_for_update().get(pk=notification.pk)
        copies = Notification.objects.filter(
            idempotency_key__endswith=":" + original.idempotency_key,
            idempotency_key__startswith="resend:",
        ).count()
        copy = Notification.objects.create(
            client_id=original.client_id,
            recipient=original.recipient,
            channel=original.channel,
            kind=original.kind,
            purpose=original.purpose,
            urgent=True,  # a person asked for it now
            language=original.language,
            subject=original.subject,
            body=original.body,
            html=original.html,
            ics=original.ics,
            segments=original.segments,
            scheduled_at=now,
            idempotency_key=f"resend:{copies + 1}:{original.idempotency_key}"[:200],
            created_at=now,
        )
        _event(
            copy,
            Status.SCHEDULED,
            str(_("Resent by %(who)s (copy of #%(pk)d).") % {"who": by, "pk": original.pk}),
        )
        _event(
            original,
            original.status,
            str(_("Resent by %(who)s as #%(pk)d.") % {"who": by, "pk": copy.pk}),
        )
        enqueue_dispatch(copy.pk, now, now=now, channel=copy.channel)
    return copy


RECEIPT_STATUSES = {"delivered": Status.DELIVERED, "failed": Status.FAILED}


def record_receipt(*, provider_id: str, state: str, detail: str = "") -> bool:
    """Apply a provider's delivery receipt. Only a sent message can become delivered/failed;
    a receipt for an unknown id or in another state changes nothing."""
    status = RECEIPT_STATUSES.get(state)
    if status is None or not provider_id:
        return False
    now = timezone.now()
    with transaction.atomic():
        row = (
            Notification.objects.filter(provider_id=provider_id, status=Status.SENT)
            .only("pk")
            .first()
        )
        if row is None:
            _keep_early_receipt(provider_id, state, detail)
            return False
        fields: dict[str, object] = {"status": status}
        if status == Status.DELIVERED:
            fields["delivered_at"] = now
        else:
            fields["reason"] = (
                str(_("The network could not deliver it: %(detail)s") % {"detail": detail})
            )[:300]
        Notification.objects.filter(pk=row.pk, status=Status.SENT).update(**fields)
        _event(row, status, detail or str(Status(status).label))
    return True


EARLY_RECEIPT_SECONDS = 15 * 60


def _keep_early_receipt(provider_id: str, state: str, detail: str) -> None:
    """A receipt for an id no sent row has yet: the provider may have been faster than the
    worker's own write of *sent* (a receipt comes within a second). Kept a while in the cache;
    dispatch applies it once the row is *sent* (`_apply_early_receipt`). A cache that does not
    answer loses it: the row then stays *sent*."""
    try:
        cache.set(
            f"notifications:early-receipt:{provider_id}", (state, detail), EARLY_RECEIPT_SECONDS
        )
    except Exception as error:
        log.warning("early receipt not kept (%s)", error.__class__.__name__)


def _apply_early_receipt(provider_id: str) -> None:
    key = f"notifications:early-receipt:{provider_id}"
    try:
        early = cache.get(key)
        if early is None:
            return
        cache.delete(key)
    except Exception as error:
        log.warning("early receipt not read (%s)", error.__class__.__name__)
        return
    state, detail = early
    record_receipt(provider_id=provider_id, state=state, detail=detail)


# Anymail's normalised event types: what the ESP tells about an e-mail after it took it.
EMAIL_HARD_FAILURES = frozenset({"bounced", "rejected"})
EMAIL_DELIVERED = frozenset({"delivered", "opened", "clicked"})


def record_email_event(
    *, event_type: str, message_id: str, recipient: str, at: datetime | None, detail: str = ""
) -> str:
    """Apply an ESP's tracking event to the e-mail it is about; return what happened
    ("unknown", "ignored", "already", "applied") for the log.

    The message is found by the ESP's id (`provider_id`, stored at sending); an event without
    one by its recipient's latest e-mail. An id we never sent changes nothing. Locks that row,
    so two events for one message (a bounce and a late "delivered", a replay) apply one after
    the other; each is idempotent and order does not matter: a bounce wins over "delivered",
    and delivered_at keeps the earliest time reported.

    A hard bounce (bounced, rejected) fails the row and unticks the client's "e-mail valid";
    a spam complaint unticks it too (the message itself arrived); both are journaled. A soft
    bounce (deferred) changes nothing but is shown on the row.
    """
    now = timezone.now()
    at = at or now
    detail = " ".join((detail or "").split())[:200]
    with transaction.atomic():
        # Only the outbox row is locked (the client's account is an outer join).
        rows = Notification.objects.select_for_update(of=("self",)).filter(channel=Channel.EMAIL)
        if message_id:
            rows = rows.filter(provider_id=message_id)
        elif recipient:
            rows = rows.filter(recipient__iexact=recipient, sent_at__isnull=False).order_by(
                "-sent_at", "-pk"
            )
        else:
            return "unknown"
        row = rows.select_related("client", "client__user").first()
        if row is None:
            return "unknown"
        if event_type in EMAIL_DELIVERED:
            return _email_delivered(row, at)
        if event_type == "deferred":
            text = str(_("Delayed by the receiving server (it tries again): %(detail)s"))
            return _email_note(row, text % {"detail": detail or "—"}, set_reason=True)
        if event_type in EMAIL_HARD_FAILURES:
            text = str(_("E-mail address bounced: %(detail)s") % {"detail": detail or "—"})
            outcome = "already"
            if row.status in (Status.SENT, Status.DELIVERED):
                Notification.objects.filter(pk=row.pk).update(
                    status=Status.FAILED, reason=text[:300]
                )
                _event(row, Status.FAILED, text)
                outcome = "applied"
            if _email_invalid(row, text, at):
                outcome = "applied"
            return outcome
        if event_type == "complained":
            text = str(_("The recipient reported it as spam."))
            outcome = _email_note(row, text, set_reason=True)
            if _email_invalid(row, text, at):
                outcome = "applied"
            return outcome
    return "ignored"


def _email_delivered(row: Notification, at: datetime) -> str:
    if row.status == Status.SENT:
        Notification.objects.filter(pk=row.pk).update(status=Status.DELIVERED, delivered_at=at)
        _event(row, Status.DELIVERED, str(Status.DELIVERED.label))
        return "applied"
    if row.status == Status.DELIVERED and (row.delivered_at is None or at < row.delivered_at):
        Notification.objects.filter(pk=row.pk).update(delivered_at=at)
        return "applied"
    return "already"


def _email_note(row: Notification, text: str, *, set_reason: bool) -> str:
    """A line in the message's history (once: a replayed event adds none), and on the row."""
    if row.events.filter(detail=text[:300]).exists():
        return "already"
    if set_reason and row.status in (Status.SENT, Status.DELIVERED):
        Notification.objects.filter(pk=row.pk).update(reason=text[:300])
    _event(row, row.status, text)
    return "applied"


def _email_invalid(row: Notification, reason: str, at: datetime) -> bool:
    """Untick the client's "e-mail valid" if the address that failed is still theirs and the
    failure came after the address was last confirmed (an ESP's late retry or a replayed event
    does not undo the client's "my address is correct")."""
    current, _problem = _email_recipient(row.client)
    if not current or current.strip().lower() != row.recipient.strip().lower():
        return False
    confirmed = (
        PreferenceChange.objects.filter(client=row.client, what="email_valid", new_value="yes")
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if confirmed is not None and at <= confirmed:
        return False
    changes = change_preferences(
        client=row.client,
        by=None,
        how=PreferenceChange.How.SYSTEM,
        email_valid=False,
        email_invalid_reason=reason,
    )
    return bool(changes)


def month_sms_usage(*, now: datetime | None = None) -> dict[str, object]:
    """Text messages sent this calendar month (clinic time): count, parts, estimated cost."""
    now = now or timezone.now()
    tz = Clinic.current().tz
    local = timezone.localtime(now, tz)
    start = schedule.aware(datetime(local.year, local.month, 1), tz)  # noqa: DTZ001
    next_month = datetime(local.year + local.month // 12, local.month % 12 + 1, 1)  # noqa: DTZ001
    end = schedule.aware(next_month, tz)
    totals = Notification.objects.sms_sent_between(start, end).aggregate(
        count=Count("pk"), segments=Sum("segments")
    )
    segments = totals["segments"] or 0
    cents = segments * settings.NOTIFICATIONS_SMS_CENTS_PER_SEGMENT
    return {
        "count": totals["count"],
        "segments": segments,
        "cost_cents": cents,
        "cost": Decimal(cents) / 100,
    }


# ------------------------------------------------------------------------------------------------
# Preferences and consent
# ------------------------------------------------------------------------------------------------

PREFERENCE_FIELDS = ("marketing_opt_in", "service_opt_out", "phone_verified", "email_valid")


def change_preferences(
    *,
    client: Client,
    by: User | None,
    how: str,
    channels: dict[str, list[str]] | None = None,
    email_invalid_reason: str = "",
    **flags: bool,
) -> list[PreferenceChange]:
    """Apply a client's new choices and journal each change (who, when, how, what).

    Locks the preference row so two saves at once journal against the value each replaced."""
    unknown = set(flags) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ValueError(f"unknown preference {sorted(unknown)}")
    now = timezone.now()
    with transaction.atomic():
        preference_for(client)
        preference = Preference.objects.select_for_update().get(client=client)
        changes: list[PreferenceChange] = []
        updated: list[str] = []
        for name, value in flags.items():
            if name == "phone_verified":
                change = _phone_tick(client, preference, value, updated)
                if change is not None:
                    changes.append(
                        PreferenceChange(client=client, at=now, by=by, how=how, **change)
                    )
                continue
            old = getattr(preference, name)
            if old != value:
                setattr(preference, name, value)
                updated.append(name)
                changes.append(
                    PreferenceChange(
                        client=client,
                        at=now,
                        by=by,
                        how=how,
                        what=name,
                        old_value=_yes_no(old),
                        new_value=_yes_no(value),
                    )
                )
        if channels is not None:
            for topic, chosen in channels.items():
                old_channels = preference.channels_for(topic)
                if sorted(old_channels) != sorted(chosen):
                    changes.append(
                        PreferenceChange(
                            client=client,
                            at=now,
                            by=by,
                            how=how,
                            what=f"channels:{topic}",
                            old_value=",".join(sorted(old_channels)) or "-",
                            new_value=",".join(sorted(chosen)) or "-",
                        )
                    )
                    preference.channels = dict(preference.channels, **{topic: sorted(chosen)})
                    if "channels" not in updated:
                        updated.append("channels")
        if "email_valid" in updated:
            preference.email_invalid_reason = (
                "" if preference.email_valid else email_invalid_reason[:300]
            )
            preference.email_invalid_at = None if preference.email_valid else now
            updated += ["email_invalid_reason", "email_invalid_at"]
        if updated:
            preference.save(update_fields=[*updated, "updated_at"])
            PreferenceChange.objects.bulk_create(changes)
        client.notification_preference = preference  # the caller's next question sees it
    return changes


def _phone_tick(
    client: Client, preference: Preference, value: bool, updated: list[str]
) -> dict[str, str] | None:
    """Tick or untick "mobile number checked", bound to the number on file now. The journal
    says what changed for a reader: ticking a number not checked before is "no → yes" even if
    an older number was ticked; unticking is "yes → no" whenever a tick was there."""
    number = mobile_e164(client.phone) if value else ""
    if value and not number:
        return None  # no valid number on file: nothing to tick
    was = phone_checked(client, preference) if value else preference.phone_verified
    if (preference.phone_verified, preference.verified_phone) != (value, number):
        preference.phone_verified, preference.verified_phone = value, number
        updated += [name for name in ("phone_verified", "verified_phone") if name not in updated]
    if was == value:
        return None
    return {"what": "phone_verified", "old_value": _yes_no(was), "new_value": _yes_no(value)}


def confirm_email_address(
    *, client: Client, by: User, how: str = PreferenceChange.How.CLIENT_PAGE
) -> bool:
    """The address that bounced is right after all (a full mailbox), or the clinic corrected it
    on the client's record: e-mails go to it again. Journaled; False when it was not marked
    invalid."""
    changes = change_preferences(client=client, by=by, how=how, email_valid=True)
    return bool(changes)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def unsubscribe_url(client: Client) -> str:
    token = make_token(
        UNSUBSCRIBE_PURPOSE,
        {"c": client.pk},
        expires_at=timezone.now() + UNSUBSCRIBE_VALIDITY,
    )
    return absolute(reverse("notifications:unsubscribe", args=[token]))


def unsubscribe(*, client: Client) -> bool:
    """Withdraw marketing consent through the e-mailed link; False when it was already off
    (a link used twice changes nothing the second time)."""
    changes = change_preferences(
        client=client, by=None, how=PreferenceChange.How.UNSUBSCRIBE_LINK, marketing_opt_in=False
    )
    if changes:
        _cancel_pending(
            Notification.objects.filter(client=client, purpose=Purpose.MARKETING),
            reason=str(_("The client unsubscribed.")),
        )
    return bool(changes)


# ------------------------------------------------------------------------------------------------
# Campaigns
# ------------------------------------------------------------------------------------------------


def campaign_audience():
    """Clients who opted in to news and have an e-mail address."""
    return Client.objects.filter(notification_preference__marketing_opt_in=True).exclude(
        Q(email="") & (Q(user__isnull=True) | Q(user__email=""))
    )


def send_campaign(*, campaign: Campaign, by: User) -> int:
    """Queue the campaign's e-mail to every opted-in client (sender named, unsubscribe link in
    each). Locks the campaign so a double click sends it once."""
    now = timezone.now()
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.sent_at is not None:
            return 0
        clinic = Clinic.current()
        rows = []
        for client in campaign_audience().select_related("user"):
            email, _problem = _email_recipient(client)
            language = client.preferred_language or settings.LANGUAGE_CODE
            url = unsubscribe_url(client)
            with translation.override(language):
                footer = str(
                    _("Sent by %(clinic)s. Unsubscribe from these e-mails: %(url)s")
                    % {"clinic": clinic.name, "url": url}
                )
            body = f"{locked.body.strip()}\n\n--\n{footer}"
            rows.append(
                Notification(
                    client=client,
                    recipient=email,
                    channel=Channel.EMAIL,
                    kind=Kind.CAMPAIGN,
                    purpose=Purpose.MARKETING,
                    language=language,
                    subject=f"{clinic.name} — {locked.subject}"[:200],
                    body=body,
                    html=render_html(body, language=language, clinic=clinic, unsubscribe_url=url),
                    scheduled_at=now,
                    idempotency_key=f"campaign:{locked.pk}:client:{client.pk}:email",
                    subject_type="campaign",
                    subject_id=locked.pk,
                    created_at=now,
                )
            )
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        fresh = list(Notification.objects.filter(subject_type="campaign", subject_id=locked.pk))
        NotificationEvent.objects.bulk_create(
            NotificationEvent(
                notification=row, at=now, status=row.status, detail=str(_("Campaign."))
            )
            for row in fresh
        )
        for row in fresh:
            enqueue_dispatch(row.pk, now, now=now, channel=row.channel)
        locked.sent_at = now
        locked.recipients = len(fresh)
        locked.save(update_fields=["sent_at", "recipients"])
    log.info("campaign %s queued for %d clients by %s", locked.pk, len(fresh), by.pk)
    return len(fresh)


__all__ = [
    "SendError",
    "appointment_booked",
    "appointment_cancelled",
    "appointment_moved",
    "cancel_care_reminder",
    "care_reminder",
    "document_available",
    "new_message_unread",
    "waitlist_offer",
]
