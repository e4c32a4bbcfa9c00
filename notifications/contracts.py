"""What other apps hand to notifications, and how notifications asks them if a message still holds.

notifications imports no other app of ours (booking, records and messaging import it). A message
scheduled for later records its *subject* (type, id, version); just before sending, dispatch asks
the checker that the subject's app registered whether the message still makes sense (the
appointment was not cancelled or moved, the message is still unread...).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

# subject_type -> checker(subject_id, version) -> True while a message about it should still go.
SubjectChecker = Callable[[int, int], bool]
_checkers: dict[str, SubjectChecker] = {}


def register_subject_checker(subject_type: str, checker: SubjectChecker) -> None:
    """Called from an AppConfig.ready(): e.g. booking registers "appointment"."""
    _checkers[subject_type] = checker


def subject_still_valid(subject_type: str, subject_id: int, version: int) -> bool:
    checker = _checkers.get(subject_type)
    return True if checker is None else checker(subject_id, version)


@dataclass(frozen=True)
class AppointmentNotice:
    """An appointment as notifications needs it: plain values, no booking model.

    `version` changes on every move or cancellation, so a reminder planned for an older version
    is dropped at dispatch. The three links are absolute, signed, single-use and expire at the
    start of the appointment; "" when not applicable (e.g. no move link after the cut-off).
    """

    appointment_id: int
    version: int
    client_id: int
    patient_name: str
    service_name: str
    practitioner_name: str  # "" when booked "with the clinic"
    site_name: str
    site_address: str
    starts_at: datetime  # aware
    ends_at: datetime
    confirm_url: str
    cancel_url: str
    move_url: str
    ics: str  # iCalendar text, attached to e-mails


# ------------------------------------------------------------------------------------------------
# Text messages clients send back (notifications/replies.py reads them, the owning app acts)
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A client's answer as the app that owns its subject needs it: plain values.

    `intent` is "yes" (OUI, 1, OK...) or "no" (NON, 2, ANNULER...) for a subject handler, "text"
    for the free-text handler. `subject_*` come from the message it answers (for free text: ""
    and None when no message asked for an answer)."""

    client_id: int
    intent: str
    text: str
    subject_type: str
    subject_id: int | None
    subject_version: int
    received_at: datetime


@dataclass(frozen=True)
class ReplyOutcome:
    """What the handler did (one of `InboundSms.Outcome`'s values) and, for the client's answer,
    an extra sentence in their language ("" for the default answer of that outcome)."""

    outcome: str
    detail: str = ""


ReplyHandler = Callable[[Reply], ReplyOutcome]
_reply_handlers: dict[str, ReplyHandler] = {}
_free_text: list[ReplyHandler] = []


def register_reply_handler(subject_type: str, handler: ReplyHandler) -> None:
    """Called from an AppConfig.ready(): booking registers "appointment" (confirm or cancel)."""
    _reply_handlers[subject_type] = handler


def register_free_text_handler(handler: ReplyHandler) -> None:
    """Called from an AppConfig.ready(): messaging turns free text into a conversation message.
    One handler; a later registration replaces the earlier one."""
    _free_text[:] = [handler]


def reply_handler(subject_type: str) -> ReplyHandler | None:
    return _reply_handlers.get(subject_type)


def free_text_handler() -> ReplyHandler | None:
    return _free_text[0] if _free_text else None
