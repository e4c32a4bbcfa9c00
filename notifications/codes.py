"""One-time codes: prove that a mobile number or an e-mail address is yours.

Public API (other apps call these; onboarding uses "link-record" to link a sign-up to the
client record the clinic already has):

    send_code(*, client, purpose, channel, target) -> SendResult
        raises TooSoon(wait_seconds), Locked(until) or BadTarget(reason)
    check_code(*, client, purpose, code) -> CheckResult   # .ok, .reason, .message, .target
    send_phone_code(*, client) -> SendResult               # the client's own mobile number
    check_phone_code(*, client, code, by) -> CheckResult   # ticks "mobile number checked"
    resend_state(*, client, purpose) -> ResendState        # what the page shows

Rules (PRODUCT/issue 12: "6 digits, throttled, expiring, resend with back-off"):

* 6 random digits (`secrets`); the row keeps only an HMAC-SHA256 under SECRET_KEY of the code
  bound to client, purpose and target, compared in constant time.
* A code lives CODE_TTL (10 minutes). MAX_WRONG (5) wrong tries kill it: "ask for a new code".
* MAX_TYPED (10) codes typed for one client and purpose within an hour lock both sending and
  checking for LOCK_FOR (an hour).
* Sending again waits RESEND_WAITS after the previous send (30 s, 60 s, 2 min, then 5 min), and
  at most MAX_SENDS_PER_HOUR (5) codes go in an hour. A new code replaces the previous one.
* The message is an outbox row (`services.verification_code`): urgent (quiet hours do not hold
  a code someone is waiting for), transactional, never capped, sent to `target` itself, whether
  or not that number is checked yet, and cancelled if it could only arrive after it expired.

Each function locks the client's row for the purpose (select_for_update), so two requests at
once (a double tap, two tabs) cannot both send, nor both spend the same try.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import Channel, VerificationCode
from portal.models import Client, Clinic, User

CODE_TTL = timedelta(minutes=10)
MAX_WRONG = 5
MAX_TYPED = 10
LOCK_FOR = timedelta(hours=1)
RESEND_WAITS = (30, 60, 120, 300)  # seconds after the 1st, 2nd, 3rd, 4th (and later) send
MAX_SENDS_PER_HOUR = 5
WINDOW = timedelta(hours=1)

Purpose = VerificationCode.Purpose


class CodeError(Exception):
    """Why no code was sent; `str()` is a sentence for the person."""


class TooSoon(CodeError):
    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = wait_seconds
        super().__init__(
            _("Wait %(seconds)d seconds before asking for a new code.") % {"seconds": wait_seconds}
        )


class Locked(CodeError):
    def __init__(self, until: datetime) -> None:
        self.until = until
        local = timezone.localtime(until, Clinic.current().tz)
        super().__init__(
            _("Too many codes typed: try again after %(time)s.") % {"time": f"{local:%H:%M}"}
        )


class BadTarget(CodeError):
    """The number or address cannot receive a code (no mobile number, not a mobile, invalid)."""


@dataclass(frozen=True)
class SendResult:
    code_id: int
    channel: str
    target: str
    expires_at: datetime
    sends_this_hour: int
    next_send_at: datetime  # when "send a new code" works again
    notification_id: int | None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    # "ok", "wrong", "expired", "too_many_tries", "locked", "no_code"
    reason: str
    message: str
    target: str = ""  # what the code proved (the number or address it was sent to)
    tries_left: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class ResendState:
    pending: bool  # a live code waits to be typed
    target: str
    expires_at: datetime | None
    next_send_at: datetime | None  # None: may send now
    wait_seconds: int
    locked_until: datetime | None


# --- Sending ------------------------------------------------------------------------------------


def send_code(*, client: Client, purpose: str, channel: str, target: str) -> SendResult:
    """Make a new code for `client` and `purpose`, replace the previous one, and put the message
    to `target` in the outbox (sent after commit). Locks the (client, purpose) row."""
    if purpose not in Purpose.values:
        raise ValueError(f"purpose must be one of {', '.join(Purpose.values)}; got {purpose!r}")
    target = normalise_target(channel, target)
    from notifications import services

    now = timezone.now()
    with transaction.atomic():
        row = _locked_row(client, purpose, channel, target, now)
        if row.locked_until is not None and row.locked_until > now:
            raise Locked(row.locked_until)
        sent = _recent(row.sent_log, now)
        wait = _wait_before_next(sent, now)
        if wait > 0:
            raise TooSoon(wait)
        code = f"{secrets.randbelow(10**6):06d}"
        row.channel, row.target = channel, target
        row.code_hash = _digest(row, code)
        row.expires_at = now + CODE_TTL
        row.attempts = 0
        row.verified_at = None
        row.sends += 1
        row.last_sent_at = now
        sent.append(now)
        row.sent_log = [moment.isoformat() for moment in sent]
        row.save(
            update_fields=[
                "channel",
                "target",
                "code_hash",
                "expires_at",
                "attempts",
                "verified_at",
                "sends",
                "last_sent_at",
                "sent_log",
            ]
        )
        notification = services.verification_code(
            client=client,
            channel=channel,
            target=target,
            code=code,
            expires_at=row.expires_at,
            key=f"code:{row.pk}:{row.sends}",
        )
    return SendResult(
        code_id=row.pk,
        channel=channel,
        target=target,
        expires_at=row.expires_at,
        sends_this_hour=len(sent),
        next_send_at=now + timedelta(seconds=_wait_before_next(sent, now)),
        notification_id=notification.pk if notification is not None else None,
    )


def normalise_target(channel: str, target: str) -> str:
    """E.164 for a mobile number, the lower-cased address for an e-mail; BadTarget otherwise."""
    target = (target or "").strip()
    if channel == Channel.SMS:
        from notifications.services import clinic_region

        if not target:
            raise BadTarget(_("No mobile number on file."))
        try:
            number = phonenumbers.parse(target, clinic_region(Clinic.current()))
        except phonenumbers.NumberParseException:
            raise BadTarget(_("Invalid phone number: %(phone)s") % {"phone": target}) from None
        if not phonenumbers.is_valid_number(number):
            raise BadTarget(_("Invalid phone number: %(phone)s") % {"phone": target})
        if phonenumbers.number_type(number) not in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            raise BadTarget(_("Not a mobile number: %(phone)s") % {"phone": target})
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if channel == Channel.EMAIL:
        try:
            validate_email(target)
        except ValidationError:
            raise BadTarget(_("No e-mail address on file.")) from None
        return target.lower()
    raise ValueError(f"channel must be sms or email; got {channel!r}")


def _locked_row(
    client: Client, purpose: str, channel: str, target: str, now: datetime
) -> VerificationCode:
    # get_or_create first (the unique (client, purpose) settles two first sends at once), then
    # lock it: every read-then-write below happens under that lock.
    VerificationCode.objects.get_or_create(
        client=client,
        purpose=purpose,
        defaults={"channel": channel, "target": target, "created_at": now},
    )
    return VerificationCode.objects.select_for_update().get(client=client, purpose=purpose)


def _wait_before_next(sent: list[datetime], now: datetime) -> int:
    """Seconds until another code may go, given the sends of the last hour (oldest first)."""
    if not sent:
        return 0
    waits = []
    if len(sent) >= MAX_SENDS_PER_HOUR:
        waits.append(sent[-MAX_SENDS_PER_HOUR] + WINDOW - now)
    step = RESEND_WAITS[min(len(sent), len(RESEND_WAITS)) - 1]
    waits.append(sent[-1] + timedelta(seconds=step) - now)
    seconds = max(waits).total_seconds()
    return max(int(-(-seconds // 1)), 0)  # rounded up: "wait 30 s" never lets one in at 29.5


def _recent(log: list[str], now: datetime) -> list[datetime]:
    moments = sorted(datetime.fromisoformat(value) for value in log)
    return [moment for moment in moments if moment > now - WINDOW]


def _digest(row: VerificationCode, code: str) -> str:
    message = f"{row.client_id}:{row.purpose}:{row.target}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


# --- Checking -----------------------------------------------------------------------------------


def check_code(*, client: Client, purpose: str, code: str) -> CheckResult:
    """Whether `code` is the live code of `client` for `purpose`. A right code is spent (it
    proves once). Locks the (client, purpose) row, so each try is counted exactly once."""
    now = timezone.now()
    code = "".join((code or "").split())
    with transaction.atomic():
        row = (
            VerificationCode.objects.select_for_update()
            .filter(client=client, purpose=purpose)
            .first()
        )
        if row is None:
            return _result("no_code")
        if row.locked_until is not None and row.locked_until > now:
            return _result("locked", locked_until=row.locked_until)
        typed = _recent(row.typed_log, now)
        typed.append(now)
        row.typed_log = [moment.isoformat() for moment in typed]
        fields = ["typed_log"]
        result = _judge(row, code, now)
        if result.reason == "wrong":
            row.attempts += 1
            fields.append("attempts")
            if row.attempts >= MAX_WRONG:
                result = _result("too_many_tries")
            else:
                result = _result("wrong", tries_left=MAX_WRONG - row.attempts)
        if result.ok:
            row.code_hash = ""
            row.verified_at = now
            fields += ["code_hash", "verified_at"]
        elif len(typed) >= MAX_TYPED:
            row.locked_until = now + LOCK_FOR
            row.code_hash = ""
            fields += ["locked_until", "code_hash"]
            result = _result("locked", locked_until=row.locked_until)
        row.save(update_fields=fields)
    return result


def _judge(row: VerificationCode, code: str, now: datetime) -> CheckResult:
    if not row.code_hash:
        return _result("no_code")
    if row.attempts >= MAX_WRONG:
        return _result("too_many_tries")
    if row.expires_at is None or now >= row.expires_at:
        return _result("expired")
    if not (len(code) == 6 and code.isdigit()):
        return _result("wrong")
    if not hmac.compare_digest(row.code_hash, _digest(row, code)):
        return _result("wrong")
    return _result("ok", target=row.target)


def _result(
    reason: str, *, target: str = "", tries_left: int = 0, locked_until: datetime | None = None
) -> CheckResult:
    messages = {
        "ok": _("Thank you: the code is right."),
        "wrong": _("This code is not right."),
        "expired": _("This code has expired: ask for a new code."),
        "too_many_tries": _("Too many tries: ask for a new code."),
        "no_code": _("No code is waiting: ask for a new code."),
    }
    if reason == "locked" and locked_until is not None:
        message = str(Locked(locked_until))
    else:
        message = str(messages[reason])
    if reason == "wrong" and tries_left:
        message = f"{message} " + _("Tries left: %(count)d.") % {"count": tries_left}
    return CheckResult(
        ok=reason == "ok",
        reason=reason,
        message=message,
        target=target,
        tries_left=tries_left,
        locked_until=locked_until,
    )


def resend_state(*, client: Client, purpose: str) -> ResendState:
    """What a page shows: a code waiting, until when, and when a new one may be asked for."""
    now = timezone.now()
    row = VerificationCode.objects.filter(client=client, purpose=purpose).first()
    if row is None:
        return ResendState(False, "", None, None, 0, None)
    locked = row.locked_until if row.locked_until and row.locked_until > now else None
    wait = _wait_before_next(_recent(row.sent_log, now), now)
    pending = bool(
        row.code_hash
        and row.expires_at
        and row.expires_at > now
        and row.attempts < MAX_WRONG
        and not locked
    )
    return ResendState(
        pending=pending,
        target=row.target,
        expires_at=row.expires_at if pending else None,
        next_send_at=now + timedelta(seconds=wait) if wait else None,
        wait_seconds=wait,
        locked_until=locked,
    )


# --- The client's own mobile number -----------------------------------------------------------


def send_phone_code(*, client: Client) -> SendResult:
    """A code by text message to the mobile number on the client's record."""
    return send_code(client=client, purpose=Purpose.PHONE, channel=Channel.SMS, target=client.phone)


def check_phone_code(*, client: Client, code: str, by: User | None) -> CheckResult:
    """Check the code; a right one ticks "mobile number checked" for the number it was sent to
    (journaled in the consent journal), if that is still the client's number."""
    from notifications import services

    result = check_code(client=client, purpose=Purpose.PHONE, code=code)
    if not result.ok:
        return result
    current = services.mobile_e164(client.phone)
    if current != result.target:
        return CheckResult(
            ok=False,
            reason="changed",
            message=_("Your number changed since the code was sent: ask for a new code."),
        )
    services.change_preferences(
        client=client,
        by=by,
        how=services.PreferenceChange.How.CLIENT_PAGE,
        phone_verified=True,
    )
    return CheckResult(
        ok=True, reason="ok", message=_("Your mobile number is checked."), target=result.target
    )
