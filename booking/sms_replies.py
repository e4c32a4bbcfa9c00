"""A client's "OUI" or "NON" to an appointment reminder, sent by text message.

notifications reads the reply (provider, number, keyword) and asks the handler booking
registered for "appointment" (notifications.contracts.register_reply_handler); booking's own
rules decide: `services.confirm` as the one-tap link does (recorded as confirmed by SMS),
`services.cancel` within the cut-off like the client's own page.
"""

from booking import services
from booking.models import Appointment
from notifications.contracts import Reply, ReplyOutcome


def appointment_reply(reply: Reply) -> ReplyOutcome:
    """Confirm ("yes") or cancel ("no") the appointment the reminder was about, at the version
    the reminder showed: moved or cancelled since → "gone" (nothing changes); after the
    cut-off a "no" is "too_late" (the answer gives the clinic's number)."""
    appointment = (
        Appointment.objects.filter(pk=reply.subject_id, client_id=reply.client_id)
        .only("pk", "status", "version", "confirmed_at", "starts_at", "site_id", "client_id")
        .first()
    )
    if (
        appointment is None
        or appointment.status != Appointment.Status.BOOKED
        or appointment.version != reply.subject_version
        or appointment.starts_at <= reply.received_at
    ):
        return ReplyOutcome("gone")
    if reply.intent == "yes":
        if appointment.confirmed_at is not None:
            return ReplyOutcome("already")
        done = services.confirm(
            appointment,
            version=reply.subject_version,
            now=reply.received_at,
            via=Appointment.ConfirmedVia.SMS,
        )
        return ReplyOutcome("confirmed" if done else "gone")
    try:
        services.cancel(
            appointment,
            by_user=None,
            by_clinic=False,
            reason="SMS",
            version=reply.subject_version,
            now=reply.received_at,
        )
    except (services.Stale, services.AlreadyDone):
        return ReplyOutcome("gone")
    except services.BookingError:
        return ReplyOutcome("too_late")
    return ReplyOutcome("cancelled")
