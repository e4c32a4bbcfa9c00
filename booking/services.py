"""Every write to an appointment: book, move, cancel, confirm, mark the outcome.

Integrity: no two active appointments of one practitioner may overlap (buffers included). The
database enforces it, not luck:

* PostgreSQL: an exclusion constraint on ``(practitioner, [starts_at, blocks_until))`` (see
  migration 0002); a racing insert fails with an IntegrityError that we turn into SlotTaken.
* SQLite: every transaction is ``BEGIN IMMEDIATE`` (portal/settings.py), so the re-check made
  inside the transaction below cannot be overtaken by another writer before our insert.

The same holds for one PATIENT: an animal cannot be in two active appointments at once, whoever
they are with (``[starts_at, ends_at)``: the buffer is the vet's time, not the animal's).
PostgreSQL: the exclusion constraint ``booking_appt_patient_no_overlap`` (migration 0004);
SQLite: ``_patient_conflict`` re-checked inside the same BEGIN IMMEDIATE transaction. The loser
gets ``PatientBusy``, with the appointment already held.

The client's messages (confirmation, reminder plan, notice of a move or cancellation) are
planned INSIDE the transaction: notifications writes outbox rows in our transaction and asks
for their delivery on commit, and its ``recover()`` sweeps rows whose delivery was never
queued. So a process killed between commit and ``on_commit`` loses no confirmation and no
reminder. What still runs after commit is what may be lost without harm: the availability
cache bump (the cache entries also expire within 60 s) and the waitlist's released-slot
listener (an offer not made; the freed slot shows as free to everyone anyway).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import availability as engine
from booking import events
from booking import slots as slot_reader
from booking.models import Appointment, BookingRules, Practitioner, Service, SlotHold
from portal.models import Client, Clinic, User
from records.models import Patient

logger = logging.getLogger(__name__)


class BookingError(Exception):
    """A booking refused for a reason the person can act on; the message is safe to show."""


class SlotTaken(BookingError):
    """Someone else got the slot first (or staff tried to overlap an appointment)."""

    def __init__(
        self, alternatives: list[engine.Slot], conflict: Appointment | None = None
    ) -> None:
        super().__init__(_("This slot was just taken. Here are the nearest free ones."))
        self.alternatives = alternatives
        self.conflict = conflict


class AlreadyDone(BookingError):
    """The appointment is no longer in a state that allows this (cancelled, moved...)."""


class Unchanged(AlreadyDone):
    """A move to where the appointment already is (the same move posted twice, or "moving" to
    the current time): nothing was written, no notice sent, no slot released."""

    def __init__(self, appointment: Appointment) -> None:
        super().__init__(_("The appointment is already at this time: nothing was changed."))
        self.appointment = appointment


class Stale(AlreadyDone):
    """The page acted on a version the appointment has left (moved, cancelled, marked by a
    colleague): nothing was written; ``appointment`` is the current state, to show instead."""

    def __init__(self, appointment: Appointment) -> None:
        super().__init__(_("This appointment changed meanwhile: here is its current state."))
        self.appointment = appointment


class PatientBusy(BookingError):
    """The animal already has an active appointment overlapping this time (with anyone)."""

    def __init__(self, patient: Patient, conflict: Appointment | None) -> None:
        super().__init__(
            _("%(patient)s already has an appointment at that time.") % {"patient": patient.name}
        )
        self.patient = patient
        self.conflict = conflict


@dataclass
class Booked:
    appointment: Appointment
    created: bool = True
    events: list[str] = field(default_factory=list)


def _emit_booked(appointment: Appointment) -> None:
    from booking.notices import build_notice
    from notifications import services as notifications

    notifications.appointment_booked(build_notice(appointment))


def _emit_moved(appointment: Appointment, previous_version: int) -> None:
    from booking.notices import build_notice
    from notifications import services as notifications

    notifications.appointment_moved(build_notice(appointment), previous_version=previous_version)


def _emit_cancelled(appointment: Appointment, by_clinic: bool) -> None:
    from booking.notices import build_notice
    from notifications import services as notifications

    notifications.appointment_cancelled(build_notice(appointment), by_clinic=by_clinic)


def _tell(
    appointment: Appointment,
    kind: str,
    now: datetime,
    released: events.ReleasedSlot | None = None,
) -> None:
    """What happened, to booking.events' in-transaction listeners (outbound webhooks)."""
    events.appointment_event(
        events.AppointmentEvent(
            kind=kind,  # type: ignore[arg-type]
            appointment_id=appointment.pk,
            site_id=appointment.site_id,
            service_id=appointment.service_id,
            practitioner_id=appointment.practitioner_id,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            occurred_at=now,
            version=appointment.version,
            released=released,
        )
    )


def _plan_messages(emit: Callable[[], None]) -> None:
    """Plan the client's messages in the caller's transaction (outbox rows; see the module
    docstring). In a savepoint: a planning bug must not refuse a booking the client made, so it
    is logged and planning is tried again after commit (idempotent: the rows have unique keys).
    """
    try:
        with transaction.atomic():
            emit()
    except Exception:
        logger.exception("planning an appointment's messages failed; trying again on commit")
        transaction.on_commit(emit, robust=True)


def _patient_conflict(
    patient_id: int, starts_at: datetime, ends_at: datetime, *, exclude: int | None = None
) -> Appointment | None:
    """An active appointment of the patient meeting ``[starts_at, ends_at)``, if any."""
    return (
        Appointment.objects.active()
        .filter(patient_id=patient_id, starts_at__lt=ends_at, ends_at__gt=starts_at)
        .exclude(pk=exclude)
        .with_related()
        .order_by("starts_at", "pk")
        .first()
    )


def _released(appointment: Appointment, *, by_clinic: bool) -> events.ReleasedSlot:
    """The time `appointment` held, as it was before a cancel or a move."""
    return events.ReleasedSlot(
        site_id=appointment.site_id,
        service_id=appointment.service_id,
        practitioner_id=appointment.practitioner_id,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        appointment_id=appointment.pk,
        by_clinic=by_clinic,
    )


def _check_service(
    service: Service, patient: Patient | None, *, online: bool, new_client: bool = False
) -> None:
    if not service.is_active or (online and not service.online):
        raise BookingError(_("This service cannot be booked online. Please call the clinic."))
    if patient is not None and service.species and service.species != patient.species:
        raise BookingError(_("This service is not offered for this animal."))
    if online and new_client and not service.new_clients_allowed:
        raise BookingError(
            _(
                "This service is for clients who have already come to the clinic: book a "
                "first consultation, or call us."
            )
        )


def is_new_client(client: Client | None) -> bool:
    """No appointment yet (a cancelled one does not count): their first visit may take longer,
    and some services are for clients the clinic already knows."""
    if client is None or client.pk is None:
        return True
    return not (
        Appointment.objects.filter(client=client)
        .exclude(status=Appointment.Status.CANCELLED)
        .exists()
    )


def _find_slot(
    scope: slot_reader.Scope,
    starts_at: datetime,
    *,
    online: bool,
    rules: BookingRules,
    now: datetime,
    exclude_appointment: int | None = None,
    exclude_hold: str = "",
) -> engine.Slot:
    """The free slot starting at ``starts_at``, or why there is none.

    SlotTaken when the start is valid but someone holds it (nearest free slots attached, and
    the conflicting appointment for staff); BookingError when it was never bookable (past,
    outside hours, closure, notice, horizon).
    """
    tz = Clinic.current().tz
    day = starts_at.astimezone(tz).date()
    inputs = slot_reader.engine_inputs(
        scope,
        start_day=day,
        end_day=day,
        tz=tz,
        now=now,
        online=online,
        rules=rules,
        exclude_appointment=exclude_appointment,
        exclude_hold=exclude_hold,
    )
    for slot in engine.free_slots(**inputs, start_day=day, end_day=day):
        if slot.start == starts_at:
            return slot
    if starts_at <= now:
        raise BookingError(_("This time has already passed."))
    if scope.practitioner_ids:
        # Open when nobody is booked: then it is taken, not closed.
        unbooked = engine.free_slots(**dict(inputs, busy=[]), start_day=day, end_day=day)
        opened = [s for s in unbooked if s.start == starts_at]
        if opened:
            end = starts_at + scope.duration + scope.service.buffer
            conflict = (
                Appointment.objects.blocking(starts_at, end)
                .filter(practitioner_id__in=opened[0].practitioner_ids)
                .exclude(pk=exclude_appointment)
                .with_related()
                .first()
            )
            alternatives = slot_reader.nearest_slots(
                scope, starts_at, tz=tz, now=now, online=online, rules=rules
            )
            raise SlotTaken(alternatives, conflict)
    if online and starts_at < now + rules.min_notice:
        raise BookingError(_("This slot is too soon to book online. Please call the clinic."))
    if online and starts_at >= now + rules.horizon:
        raise BookingError(_("This slot is too far ahead to book yet."))
    raise BookingError(_("This time is not open for booking."))


def _taken(scope: slot_reader.Scope, starts_at: datetime, *, online: bool, rules, now) -> SlotTaken:
    tz = Clinic.current().tz
    return SlotTaken(
        slot_reader.nearest_slots(scope, starts_at, tz=tz, now=now, online=online, rules=rules)
    )


def _check_booking(
    *,
    client: Client,
    patient: Patient,
    scope: slot_reader.Scope,
    starts_at: datetime,
    online: bool,
    rules: BookingRules,
    now: datetime,
    exclude_hold: str = "",
) -> engine.Slot:
    """Everything ``book`` checks about the request, in its order; the free slot, or why not.

    Read-only: ``book`` calls it under its lock, ``check_booking`` (the confirm page) without.
    """
    if online:
        upcoming = Appointment.objects.filter(
            client=client, status=Appointment.Status.BOOKED, starts_at__gte=now
        ).count()
        if upcoming >= rules.max_upcoming:
            raise BookingError(
                _(
                    "You already have %(count)s upcoming appointments, the most that can "
                    "be booked online. Please call the clinic."
                )
                % {"count": upcoming}
            )
    # Before the practitioner's slot: "Filou is already booked then" is what to tell, even when
    # that same appointment is also what makes the slot look taken.
    conflict = _patient_conflict(patient.pk, starts_at, starts_at + scope.duration)
    if conflict is not None:
        raise PatientBusy(patient, conflict)
    return _find_slot(
        scope, starts_at, online=online, rules=rules, now=now, exclude_hold=exclude_hold
    )


def check_booking(
    *,
    client: Client,
    patient: Patient,
    service: Service,
    starts_at: datetime,
    practitioner: Practitioner | None = None,
    online: bool = True,
    now: datetime | None = None,
) -> engine.Slot:
    """Would ``book`` accept this now? The same checks, without a lock or a write: the confirm
    page asks before it offers the button, so a tampered or stale URL shows why not instead."""
    now = now or timezone.now()
    if not patient.guardianships.filter(client=client).exists():
        raise BookingError(_("This animal is not linked to this client."))
    first_visit = is_new_client(client)
    _check_service(service, patient, online=online, new_client=first_visit)
    return _check_booking(
        client=client,
        patient=patient,
        scope=slot_reader.Scope.of(service, practitioner, first_visit=first_visit),
        starts_at=starts_at,
        online=online,
        rules=BookingRules.current(),
        now=now,
    )


def book(
    *,
    client: Client,
    patient: Patient,
    service: Service,
    starts_at: datetime,
    practitioner: Practitioner | None = None,
    booked_by: User | None,
    online: bool = True,
    reason: str = "",
    request_key: str | None = None,
    now: datetime | None = None,
    hold_token: str = "",
) -> Booked:
    """Book ``starts_at`` for the client's patient; "first available" when no practitioner.

    ``hold_token``: the slot was held for this person while they signed up (``hold_slot``):
    their own hold does not block them, and it is released once booked. A client's first
    visit takes the service's first-visit duration.

    Locks: the whole transaction is a write transaction from its first statement on SQLite; on
    PostgreSQL the client's row is locked (FOR UPDATE) so two tabs cannot both pass the
    maximum-upcoming check, and the exclusion constraints settle a race for the slot itself and
    for the patient's time (two guardians booking the same animal are two client rows).
    ``online=False`` is a booking by staff: phone-only hours allowed, no notice, no maximum.
    A repeated ``request_key`` (double submit) returns the first appointment.
    """
    now = now or timezone.now()
    rules = BookingRules.current()
    if not patient.guardianships.filter(client=client).exists():
        raise BookingError(_("This animal is not linked to this client."))
    first_visit = is_new_client(client)
    _check_service(service, patient, online=online, new_client=first_visit)
    scope = slot_reader.Scope.of(service, practitioner, first_visit=first_visit)
    mine = _hash(hold_token) if hold_token else ""
    tz = Clinic.current().tz
    with transaction.atomic():
        if request_key:
            existing = Appointment.objects.filter(request_key=request_key).first()
            if existing is not None:
                return Booked(existing, created=False)
        # Serialises one client's concurrent bookings (the upcoming count below).
        Client.objects.select_for_update().filter(pk=client.pk).first()
        slot = _check_booking(
            client=client,
            patient=patient,
            scope=scope,
            starts_at=starts_at,
            online=online,
            rules=rules,
            now=now,
            exclude_hold=mine,
        )
        chosen = practitioner.pk if practitioner is not None else None
        if chosen is None and mine:
            held_for = SlotHold.objects.filter(token_hash=mine).values_list(
                "practitioner_id", flat=True
            )
            chosen = next((pk for pk in held_for if pk in slot.practitioner_ids), None)
        if chosen is None:
            load = slot_reader.day_load(slot.practitioner_ids, starts_at.astimezone(tz).date(), tz)
            chosen = engine.pick_practitioner(slot, load)
        appointment = Appointment(
            site_id=service.site_id,
            practitioner_id=chosen,
            service=service,
            patient=patient,
            client=client,
            starts_at=starts_at,
            ends_at=starts_at + scope.duration,
            blocks_until=starts_at + scope.duration + service.buffer,
            reason=reason[:300],
            channel=Appointment.Channel.ONLINE if online else Appointment.Channel.STAFF,
            booked_by=booked_by,
            request_key=request_key or None,
            created_at=now,
        )
        try:
            with transaction.atomic():
                appointment.save()
        except IntegrityError:
            # PostgreSQL's exclusion constraints: another transaction committed first.
            if request_key:
                existing = Appointment.objects.filter(request_key=request_key).first()
                if existing is not None:
                    return Booked(existing, created=False)
            conflict = _patient_conflict(patient.pk, starts_at, appointment.ends_at)
            if conflict is not None:
                raise PatientBusy(patient, conflict) from None
            raise _taken(scope, starts_at, online=online, rules=rules, now=now) from None
        if mine:
            SlotHold.objects.filter(token_hash=mine).delete()
        _plan_messages(lambda: _emit_booked(appointment))
        _tell(appointment, "booked", now)
        transaction.on_commit(slot_reader.invalidate, robust=True)
        events.agenda_changed_at(starts_at, site_id=appointment.site_id)
    return Booked(appointment)


def _lock(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().with_related().get(pk=appointment.pk)


def _check_move(
    current: Appointment,
    scope: slot_reader.Scope,
    starts_at: datetime,
    *,
    practitioner: Practitioner | None,
    by_clinic: bool,
    rules: BookingRules,
    now: datetime,
) -> engine.Slot:
    """Everything ``move`` checks, in its order; the free slot, or why not (read-only)."""
    if current.status != Appointment.Status.BOOKED:
        raise AlreadyDone(_("This appointment can no longer be moved."))
    if current.starts_at == starts_at and (
        practitioner is None or practitioner.pk == current.practitioner_id
    ):
        raise Unchanged(current)
    if not by_clinic and not current.client_may_change(now, rules.cutoff):
        raise BookingError(
            _("It is too late to move this appointment online. Please call the clinic.")
        )
    conflict = _patient_conflict(
        current.patient_id, starts_at, starts_at + scope.service.duration, exclude=current.pk
    )
    if conflict is not None:
        raise PatientBusy(current.patient, conflict)
    return _find_slot(
        scope,
        starts_at,
        online=not by_clinic,
        rules=rules,
        now=now,
        exclude_appointment=current.pk,
    )


def check_move(
    appointment: Appointment,
    *,
    starts_at: datetime,
    practitioner: Practitioner | None = None,
    by_clinic: bool,
    now: datetime | None = None,
) -> engine.Slot:
    """Would ``move`` accept this now? The same checks without a lock or a write, for the page
    that offers the "Move to this time" button."""
    now = now or timezone.now()
    if practitioner is None and by_clinic:
        practitioner = appointment.practitioner
    return _check_move(
        appointment,
        slot_reader.Scope.of(appointment.service, practitioner),
        starts_at,
        practitioner=practitioner,
        by_clinic=by_clinic,
        rules=BookingRules.current(),
        now=now,
    )


def move(
    appointment: Appointment,
    *,
    starts_at: datetime,
    practitioner: Practitioner | None = None,
    by_user: User | None,
    by_clinic: bool,
    version: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move an appointment to ``starts_at`` (same service), bumping its version.

    Locks the appointment row (FOR UPDATE; SQLite: the whole database) so a concurrent cancel
    or move of the same appointment waits, then re-checks the new slot inside the transaction.
    A client may move only online slots and only before the cut-off.

    Idempotent: compared with the current state under the lock, a move to where the appointment
    already is (same start and, when named, same practitioner) raises ``Unchanged`` and writes
    nothing, so the same move posted twice bumps no version, sends no second notice and
    releases no slot that is still booked.

    ``version``, when given, is the one the page showed: a colleague who moved (or marked) the
    appointment since wins, and this move raises ``Stale`` and writes nothing.
    """
    now = now or timezone.now()
    rules = BookingRules.current()
    online = not by_clinic
    with transaction.atomic():
        current = _lock(appointment)
        if practitioner is None and by_clinic:
            practitioner = current.practitioner
        service = current.service
        scope = slot_reader.Scope.of(service, practitioner)
        slot = _check_move(
            current,
            scope,
            starts_at,
            practitioner=practitioner,
            by_clinic=by_clinic,
            rules=rules,
            now=now,
        )
        if version is not None and current.version != version:
            raise Stale(current)  # after _check_move: a double submit is still ``Unchanged``
        if practitioner is None:
            tz = Clinic.current().tz
            ids = slot.practitioner_ids
            chosen = current.practitioner_id if current.practitioner_id in ids else None
            if chosen is None:
                load = slot_reader.day_load(ids, starts_at.astimezone(tz).date(), tz)
                chosen = engine.pick_practitioner(slot, load)
        else:
            chosen = practitioner.pk
        previous_version = current.version
        released = _released(current, by_clinic=by_clinic)  # the old time, before it changes
        current.starts_at = starts_at
        current.ends_at = starts_at + service.duration
        current.blocks_until = starts_at + service.duration + service.buffer
        current.practitioner_id = chosen
        current.version = previous_version + 1
        current.confirmed_at = None
        try:
            with transaction.atomic():
                current.save(
                    update_fields=[
                        "starts_at",
                        "ends_at",
                        "blocks_until",
                        "practitioner",
                        "version",
                        "confirmed_at",
                    ]
                )
        except IntegrityError:
            conflict = _patient_conflict(
                current.patient_id, starts_at, current.ends_at, exclude=current.pk
            )
            if conflict is not None:
                raise PatientBusy(current.patient, conflict) from None
            raise _taken(scope, starts_at, online=online, rules=rules, now=now) from None
        _plan_messages(lambda: _emit_moved(current, previous_version))
        _tell(current, "moved", now, released)
        transaction.on_commit(slot_reader.invalidate, robust=True)
        transaction.on_commit(lambda: events.slot_released(released), robust=True)
        events.agenda_changed_at(released.starts_at, starts_at, site_id=current.site_id)
    return current


def cancel(
    appointment: Appointment,
    *,
    by_user: User | None,
    by_clinic: bool,
    reason: str = "",
    version: int | None = None,
    now: datetime | None = None,
    release: bool = True,
) -> Appointment:
    """Cancel an appointment, bumping its version so reminders for it are dropped.

    Locks the appointment row (FOR UPDATE) so a confirm or move racing with it sees the
    cancellation. A client may cancel only before the cut-off. ``release=False`` keeps the
    freed time from the waitlist (a cancellation because of a closure or time off: nobody
    could book that time anyway). ``version``, when given, is the one the page showed: an
    appointment moved since (the client would lose a time they did not see) raises ``Stale``.
    """
    now = now or timezone.now()
    rules = BookingRules.current()
    with transaction.atomic():
        current = _lock(appointment)
        if current.status != Appointment.Status.BOOKED:
            raise AlreadyDone(_("This appointment is already cancelled or over."))
        if version is not None and current.version != version:
            raise Stale(current)
        if not by_clinic and not current.client_may_change(now, rules.cutoff):
            raise BookingError(_("It is too late to cancel online. Please call the clinic."))
        current.status = Appointment.Status.CANCELLED
        current.cancelled_at = now
        current.cancel_reason = reason[:300]
        current.cancelled_by_clinic = by_clinic
        current.version += 1
        current.save(
            update_fields=[
                "status",
                "cancelled_at",
                "cancel_reason",
                "cancelled_by_clinic",
                "version",
            ]
        )
        released = _released(current, by_clinic=by_clinic)
        _plan_messages(lambda: _emit_cancelled(current, by_clinic))
        _tell(current, "cancelled", now, released if release else None)
        transaction.on_commit(slot_reader.invalidate, robust=True)
        if release:
            transaction.on_commit(lambda: events.slot_released(released), robust=True)
        events.agenda_changed_at(current.starts_at, site_id=current.site_id)
    return current


def confirm(
    appointment: Appointment,
    *,
    version: int,
    now: datetime | None = None,
    via: str = Appointment.ConfirmedVia.LINK,
) -> bool:
    """Record the client's "I'll be there" and how it came (`via`: link, sms, staff, api);
    False when already confirmed or no longer valid.

    Locks the appointment row so a confirm racing a cancel cannot resurrect it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(appointment)
        if (
            current.status != Appointment.Status.BOOKED
            or current.version != version
            or current.confirmed_at is not None
        ):
            return False
        current.confirmed_at = now
        current.confirmed_via = via
        current.save(update_fields=["confirmed_at", "confirmed_via"])
        _tell(current, "confirmed", now)
        events.agenda_changed_at(current.starts_at, site_id=current.site_id)
    appointment.confirmed_at, appointment.confirmed_via = now, via
    return True


OUTCOMES = (Appointment.Status.ATTENDED, Appointment.Status.NO_SHOW, Appointment.Status.BOOKED)


def _local_day(moment: datetime) -> date:
    return moment.astimezone(Clinic.current().tz).date()


def _lock_to_mark(appointment: Appointment, version: int | None) -> Appointment:
    """The appointment's row, locked (FOR UPDATE; SQLite: the whole database), so that two
    receptionists marking the same row are served one after the other and the second reads
    the first's mark. Refuses a stale page (``version`` differs: moved, cancelled or marked
    meanwhile) and a cancelled appointment. The caller is inside a transaction."""
    current = _lock(appointment)
    if version is not None and current.version != version:
        raise Stale(current)
    if current.status == Appointment.Status.CANCELLED:
        raise AlreadyDone(_("This appointment was cancelled."))
    return current


def _announce(appointment: Appointment) -> None:
    """Tell whoever shows the appointment's day in the agenda, once the transaction commits
    (``booking.events``; may be lost: a reload shows the same)."""
    events.agenda_changed_at(appointment.starts_at, site_id=appointment.site_id)


def _check_today(current: Appointment, now: datetime) -> None:
    if _local_day(current.starts_at) != _local_day(now):
        raise BookingError(
            _("Arrival and consultation can be marked only on the day of the appointment.")
        )


def _check_booked(current: Appointment) -> None:
    if current.status != Appointment.Status.BOOKED:
        raise AlreadyDone(
            _("This appointment is already marked “%(outcome)s”: undo it first.")
            % {"outcome": current.get_status_display()}
        )


def _save_mark(current: Appointment, *fields: str) -> None:
    """Write a mark under the row's lock: bump ``version`` (any page showing the old state is
    now stale) and tell the day's agenda after commit."""
    current.version += 1
    current.save(update_fields=[*fields, "version"])
    _announce(current)


def mark_outcome(
    appointment: Appointment,
    *,
    status: str,
    by_user: User,
    version: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Staff record whether the patient came (never automatic); BOOKED undoes a mistake.

    Locks the appointment row; refuses a stale page (``version`` given and no longer the
    appointment's), cancelled appointments, ones not yet started today, a no-show for a client
    who arrived, and a second mark over the first (two colleagues clicking "attended" and
    "no-show" on the same row: the second reads the first's mark under the lock and must undo
    it explicitly). Bumps ``version``, so any page showing the old state is stale.
    """
    now = now or timezone.now()
    if status not in OUTCOMES:
        raise BookingError(_("Unknown outcome."))
    with transaction.atomic():
        current = _lock_to_mark(appointment, version)
        if status != Appointment.Status.BOOKED:
            _check_booked(current)
        if _local_day(current.starts_at) > _local_day(now):
            raise BookingError(_("An appointment can be marked only from its day on."))
        if status == Appointment.Status.NO_SHOW and (
            current.arrived_at is not None or current.consultation_at is not None
        ):
            raise AlreadyDone(_("This client has arrived: they cannot be marked no-show."))
        current.status = status
        current.outcome_at = None if status == Appointment.Status.BOOKED else now
        _save_mark(current, "status", "outcome_at")
        if status == Appointment.Status.NO_SHOW:
            _tell(current, "no_show", now)
    return current


def mark_arrived(
    appointment: Appointment,
    *,
    by_user: User,
    version: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    """The client is in the waiting room. On the appointment's day only; bumps ``version``.

    Locks the appointment row (see ``_lock_to_mark``): the same arrival clicked at two desks
    is written once, the second is told the appointment changed meanwhile.
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_to_mark(appointment, version)
        _check_booked(current)
        _check_today(current, now)
        if current.consultation_at is not None:
            raise AlreadyDone(_("The consultation has already started."))
        if current.arrived_at is not None:
            raise AlreadyDone(_("The arrival is already marked."))
        current.arrived_at = now
        _save_mark(current, "arrived_at")
    return current


def mark_in_consultation(
    appointment: Appointment,
    *,
    by_user: User,
    version: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    """The vet took them in (whether or not their arrival was marked). On the appointment's
    day only; bumps ``version``. Locks the row like ``mark_arrived``."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_to_mark(appointment, version)
        _check_booked(current)
        _check_today(current, now)
        if current.consultation_at is not None:
            raise AlreadyDone(_("The consultation has already started."))
        current.consultation_at = now
        _save_mark(current, "consultation_at")
    return current


def undo_arrival(
    appointment: Appointment,
    *,
    by_user: User,
    version: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    """An arrival marked by mistake (the wrong Filou): cleared, until the consultation starts.
    On the appointment's day only; bumps ``version``. Locks the row like ``mark_arrived``."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_to_mark(appointment, version)
        _check_booked(current)
        _check_today(current, now)
        if current.consultation_at is not None:
            raise AlreadyDone(
                _("The consultation has started: the arrival can no longer be undone.")
            )
        if current.arrived_at is None:
            raise AlreadyDone(_("No arrival is marked."))
        current.arrived_at = None
        _save_mark(current, "arrived_at")
    return current


class Mark:
    """What reception may mark on an appointment (the ``mark`` posted to booking:staff_mark)."""

    ARRIVED = "arrived"
    CONSULTATION = "consultation"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    UNDO_ARRIVED = "undo_arrived"
    UNDO_OUTCOME = "undo_outcome"
    ALL = (ARRIVED, CONSULTATION, ATTENDED, NO_SHOW, UNDO_ARRIVED, UNDO_OUTCOME)


def apply_mark(
    appointment: Appointment,
    *,
    mark: str,
    by_user: User,
    version: int | None,
    now: datetime | None = None,
) -> Appointment:
    """One of ``Mark.ALL``, through the service that owns it; the appointment as it now is."""
    kwargs = {"by_user": by_user, "version": version, "now": now}
    if mark == Mark.ARRIVED:
        return mark_arrived(appointment, **kwargs)
    if mark == Mark.CONSULTATION:
        return mark_in_consultation(appointment, **kwargs)
    if mark == Mark.UNDO_ARRIVED:
        return undo_arrival(appointment, **kwargs)
    outcome = {
        Mark.ATTENDED: Appointment.Status.ATTENDED,
        Mark.NO_SHOW: Appointment.Status.NO_SHOW,
        Mark.UNDO_OUTCOME: Appointment.Status.BOOKED,
    }.get(mark)
    if outcome is None:
        raise BookingError(_("Unknown outcome."))
    return mark_outcome(appointment, status=outcome, **kwargs)


def offered_marks(appointment: Appointment, *, today: date, tz: tzinfo) -> tuple[str, ...]:
    """The marks to offer as buttons (the services decide again under the lock): arrival and
    consultation on the day itself, attended / no-show from the day on, an undo once marked."""
    status = appointment.status
    if status in (Appointment.Status.ATTENDED, Appointment.Status.NO_SHOW):
        return (Mark.UNDO_OUTCOME,)
    day = appointment.starts_at.astimezone(tz).date()
    if status != Appointment.Status.BOOKED or day > today:
        return ()
    if day < today:
        return (Mark.ATTENDED, Mark.NO_SHOW)
    if appointment.consultation_at is not None:
        return (Mark.ATTENDED,)
    if appointment.arrived_at is not None:
        return (Mark.CONSULTATION, Mark.ATTENDED, Mark.UNDO_ARRIVED)
    return (Mark.ARRIVED, Mark.CONSULTATION, Mark.ATTENDED, Mark.NO_SHOW)


@dataclass(frozen=True)
class Waiting:
    """Someone in the waiting room: arrived at ``since``, waiting ``minutes`` so far."""

    appointment: Appointment
    since: datetime
    minutes: int


def waiting_room(
    day: date, tz: tzinfo, *, now: datetime | None = None, site_id: int | None = None
) -> list[Waiting]:
    """Who has arrived on ``day`` (local to ``tz``) and not yet gone in, first come first;
    one query."""
    now = now or timezone.now()
    lo = datetime.combine(day, time(0), tzinfo=tz)
    hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    rows = (
        Appointment.objects.with_related()
        .filter(
            status=Appointment.Status.BOOKED,
            starts_at__gte=lo,
            starts_at__lt=hi,
            arrived_at__isnull=False,
            consultation_at=None,
        )
        .order_by("arrived_at", "pk")
    )
    if site_id is not None:
        rows = rows.filter(site_id=site_id)
    return [
        Waiting(a, a.arrived_at, max(0, int((now - a.arrived_at).total_seconds() // 60)))
        for a in rows
    ]


def still_valid(appointment_id: int, version: int) -> bool:
    """notifications' subject checker: a message about this appointment version still holds."""
    return Appointment.objects.filter(
        pk=appointment_id, version=version, status=Appointment.Status.BOOKED
    ).exists()


# --- Holding a slot while a newcomer signs up ---------------------------------------------------


@dataclass(frozen=True)
class Hold:
    token: str
    starts_at: datetime
    expires_at: datetime
    practitioner_name: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hold_slot(
    *, service: Service, starts_at: datetime, now: datetime | None = None, replaces: str = ""
) -> Hold:
    """Keep a free online slot for BOOKING_HOLD_MINUTES while someone creates their account
    (a first visit: the service's first-visit duration). Raises what ``book`` would (taken,
    closed, too soon, existing clients only). ``replaces``: the same person's previous hold,
    released at once (they chose another time). Swept holds are deleted as it goes."""
    now = now or timezone.now()
    _check_service(service, None, online=True, new_client=True)
    scope = slot_reader.Scope.of(service, first_visit=True)
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        SlotHold.objects.filter(expires_at__lte=now - timedelta(hours=1)).delete()
        if replaces:
            SlotHold.objects.filter(token_hash=_hash(replaces)).delete()
        slot = _find_slot(scope, starts_at, online=True, rules=BookingRules.current(), now=now)
        tz = Clinic.current().tz
        load = slot_reader.day_load(slot.practitioner_ids, starts_at.astimezone(tz).date(), tz)
        chosen = engine.pick_practitioner(slot, load)
        hold = SlotHold.objects.create(
            service=service,
            practitioner_id=chosen,
            starts_at=starts_at,
            blocks_until=starts_at + scope.duration + service.buffer,
            expires_at=now + timedelta(minutes=settings.BOOKING_HOLD_MINUTES),
            token_hash=_hash(token),
            created_at=now,
        )
    name = Practitioner.objects.filter(pk=hold.practitioner_id).values_list("name", flat=True)
    return Hold(token, starts_at, hold.expires_at, name.first() or "")


def hold_of(token: str, *, now: datetime | None = None) -> SlotHold | None:
    """The hold behind `token` while it still holds, else None."""
    if not token:
        return None
    now = now or timezone.now()
    return (
        SlotHold.objects.select_related("service", "practitioner")
        .filter(token_hash=_hash(token), expires_at__gt=now)
        .first()
    )


def release_hold(token: str) -> None:
    if token:
        SlotHold.objects.filter(token_hash=_hash(token)).delete()


def next_opening(now: datetime) -> datetime | None:
    """The next moment the clinic is open (``now`` when open), from everyone's weekly hours."""
    today = now.astimezone(Clinic.current().tz).date()
    for _day, intervals in _openings(today - timedelta(days=1), today + timedelta(days=21)):
        for iv in intervals:
            if iv.start <= now < iv.end:
                return now
            if iv.start > now:
                return iv.start
    return None


def pickup_deadline(after: datetime, *, open_days: int) -> datetime | None:
    """When the clinic closes on the `open_days`-th day it opens after `after`'s own day (orders
    hold a parcel that long: "until Saturday 12:00"), or None when no hours are known within
    three months."""
    start = after.astimezone(Clinic.current().tz).date() + timedelta(days=1)
    seen = 0
    for _day, intervals in _openings(start, start + timedelta(days=92)):
        if intervals:
            seen += 1
            if seen >= open_days:
                return max(iv.end for iv in intervals)
    return None


def _openings(first: date, last: date):
    """(day, the clinic's opening intervals that day, sorted) for each day from first to last,
    everyone's hours merged, closures applied; nothing when no hours are set at all."""
    from booking.models import Closure, ExtraOpening, WeeklyHours

    tz = Clinic.current().tz
    ranges = [
        engine.WeeklyRange(h.practitioner_id, h.weekday, h.start, h.end, h.online)
        for h in WeeklyHours.objects.filter(practitioner__is_active=True)
    ]
    extras = [
        engine.ExtraOpening(x.practitioner_id, x.date, x.start, x.end, x.online)
        for x in ExtraOpening.objects.filter(date__gte=first, date__lte=last)
    ]
    closures = [
        engine.Closure(c.start, c.end)
        for c in Closure.objects.filter(end__gte=first, start__lte=last)
    ]
    if not ranges and not extras:
        return
    day = first
    while day <= last:
        expanded = engine.expand_hours(ranges, extras, closures, tz, day, online_only=False)
        yield day, sorted((iv for ivs in expanded.values() for iv in ivs), key=lambda iv: iv.start)
        day += timedelta(days=1)
