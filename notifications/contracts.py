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
