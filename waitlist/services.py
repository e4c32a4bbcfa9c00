"""Every write of the waitlist: join and leave, release a slot, send waves, claim an offer.

A claim IS a booking: it calls ``booking.services.book`` inside our transaction, so the same
database guarantee applies (PostgreSQL's exclusion constraint; SQLite's BEGIN IMMEDIATE plus
the re-check). On top of it, every claim of one released slot first locks that slot's
``Release`` row, so claimers queue one behind the other and all but the first find it taken
without even trying to book.

Notifications and the next wave's task are sent after commit, never from inside a transaction.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import events
from booking import services as booking
from booking import slots as slot_reader
from booking.models import Appointment, BookingRules, Practitioner, Service
from portal.models import Client, Clinic, User
from records.models import Patient
from waitlist.models import ALL_TIMES, ALL_WEEKDAYS, Entry, Offer, Release, local_slot

logger = logging.getLogger(__name__)


class WaitlistError(Exception):
    """A refusal the person can act on; the message is safe to show."""


class ClaimError(WaitlistError):
    """Why an offer could not be taken; ``state`` picks the page's wording."""

    def __init__(self, state: str, message: str = "") -> None:
        super().__init__(message or state)
        self.state = state


# --- joining and leaving -------------------------------------------------------------------------


def join(
    *,
    client: Client,
    patient: Patient,
    service: Service,
    practitioner: Practitioner | None = None,
    earliest: date,
    latest: date,
    times: int = ALL_TIMES,
    weekdays: int = ALL_WEEKDAYS,
    appointment: Appointment | None = None,
    now: datetime | None = None,
) -> Entry:
    """Put the client's patient on the waitlist; an identical waiting entry is returned as is.

    No lock: an entry only ever concerns its own client, and a duplicate is harmless (offers go
    to one entry per client per slot).
    """
    now = now or timezone.now()
    if not patient.guardianships.filter(client=client).exists():
        raise WaitlistError(_("This animal is not linked to your account."))
    if earliest > latest:
        raise WaitlistError(_("The end of the period is before its start."))
    if appointment is not None and appointment.client_id != client.pk:
        raise WaitlistError(_("This appointment is not yours."))
    existing = Entry.objects.filter(
        client=client,
        patient=patient,
        service=service,
        practitioner=practitioner,
        appointment=appointment,
        status=Entry.Status.WAITING,
    ).first()
    if existing is not None:
        existing.earliest, existing.latest = earliest, latest
        existing.times, existing.weekdays = times, weekdays
        existing.save(update_fields=["earliest", "latest", "times", "weekdays"])
        return existing
    return Entry.objects.create(
        client=client,
        patient=patient,
        service=service,
        practitioner=practitioner,
        earliest=earliest,
        latest=latest,
        times=times,
        weekdays=weekdays,
        appointment=appointment,
        created_at=now,
    )


def leave(entry: Entry, *, now: datetime | None = None) -> bool:
    """Take an entry off the list; False when it was no longer waiting. Its offers die with it."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = Entry.objects.filter(pk=entry.pk, status=Entry.Status.WAITING).update(
            status=Entry.Status.LEFT, ended_at=now
        )
        Offer.objects.filter(entry_id=entry.pk, status=Offer.Status.SENT).update(
            status=Offer.Status.ENDED
        )
    return bool(changed)


def expire_entries(*, now: datetime | None = None) -> int:
    """Entries whose window is over stop waiting (a single UPDATE)."""
    now = now or timezone.now()
    today = now.astimezone(Clinic.current().tz).date()
    return Entry.objects.filter(status=Entry.Status.WAITING, latest__lt=today).update(
        status=Entry.Status.EXPIRED, ended_at=now
    )


# --- releasing a slot ----------------------------------------------------------------------------


def _held(practitioner_id: int, start: datetime, end: datetime) -> bool:
    return Release.objects.filter(
        status=Release.Status.HELD,
        practitioner_id=practitioner_id,
        starts_at__lt=end,
        ends_at__gt=start,
    ).exists()


def on_released(slot: events.ReleasedSlot) -> None:
    """booking's listener (registered in WaitlistConfig.ready): offer a freed future slot."""
    now = timezone.now()
    if slot.starts_at <= now:
        return
    # Entries whose window is over stop waiting here: one UPDATE per release, no cron needed.
    expire_entries(now=now)
    still_booked = Appointment.objects.filter(
        pk=slot.appointment_id, status=Appointment.Status.BOOKED
    ).exists()
    release_slot(
        site_id=slot.site_id,
        service_id=slot.service_id,
        practitioner_id=slot.practitioner_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        source=Release.Source.MOVED if still_booked else Release.Source.CANCELLED,
        appointment_id=slot.appointment_id,
        now=now,
    )


def release_slot(
    *,
    site_id: int,
    service_id: int,
    practitioner_id: int,
    starts_at: datetime,
    ends_at: datetime,
    source: str,
    appointment_id: int | None = None,
    by_user: User | None = None,
    entry: Entry | None = None,
    now: datetime | None = None,
) -> Release:
    """Record a freed slot and send its first wave (or one manual offer to ``entry``).

    The slot is offered only as what booking accepts: the earliest start inside the freed time
    that booking's engine gives online (grid, online hours, notice, horizon, the service
    fitting), e.g. 09:30 for a cancelled 09:20. None online but one by phone (phone-only
    hours): recorded open and ``phone_only``, no link is sent, staff book it for a waiting
    client (``claim_for``). None at all: recorded as unbookable, never offered.
    A slot inside the minimum notice is recorded as lapsed (it counts among the released ones)
    and a slot staff keep free ("don't offer") as withdrawn; neither is offered.
    """
    now = now or timezone.now()
    rules = BookingRules.current()
    status = Release.Status.OPEN
    phone_only = False
    start = starts_at
    if starts_at < now + rules.min_notice:
        status = Release.Status.LAPSED
    elif _held(practitioner_id, starts_at, ends_at):
        status = Release.Status.WITHDRAWN
    else:
        service = Service.objects.get(pk=service_id)
        practitioner = Practitioner.objects.get(pk=practitioner_id)
        window = {"starts_at": starts_at, "ends_at": ends_at, "now": now, "rules": rules}
        found = bookable_start(service, practitioner, online=True, **window)
        if found is None:
            found = bookable_start(service, practitioner, online=False, **window)
            phone_only = found is not None
        if found is None:
            status = Release.Status.UNBOOKABLE
        else:
            start, ends_at = found, found + service.duration
    with transaction.atomic():
        release = Release.objects.create(
            site_id=site_id,
            service_id=service_id,
            practitioner_id=practitioner_id,
            starts_at=start,
            ends_at=ends_at,
            freed_at=starts_at if start != starts_at else None,
            phone_only=phone_only,
            source=source,
            appointment_id=appointment_id,
            status=status,
            created_at=now,
            ended_at=None if status == Release.Status.OPEN else now,
            created_by=by_user,
        )
        if status == Release.Status.OPEN and not phone_only:
            if entry is not None:
                refusal = booking_refusal(entry, release, now=now)
                if refusal is not None:
                    # Rolls the release back: staff see why, nothing is recorded or sent.
                    raise WaitlistError(refusal)
                _offer_to(release, [entry], wave=1, manual=True, now=now, rules=rules)
                release.wave = 1
                release.save(update_fields=["wave"])
            else:
                send_wave(release.pk, 1, now=now)
    return release


# --- what booking would accept -------------------------------------------------------------------


def bookable_start(
    service: Service,
    practitioner: Practitioner,
    *,
    starts_at: datetime,
    ends_at: datetime,
    online: bool,
    now: datetime,
    rules: BookingRules,
) -> datetime | None:
    """The earliest start in ``[starts_at, ends_at)`` booking's engine gives for this practitioner.

    ``online``: as a client books (grid, online hours, notice, horizon); else as staff book by
    phone (grid, all hours). The engine checks that the whole service and its buffer fit.
    Asked of ``booking.slots`` (the reader booking itself uses), not re-implemented here.
    """
    if not service.is_active or (online and not service.online):
        return None
    tz = Clinic.current().tz
    scope = slot_reader.Scope.of(service, practitioner)
    slots = slot_reader.free_slots(
        scope,
        start_day=starts_at.astimezone(tz).date(),
        end_day=(ends_at - timedelta(microseconds=1)).astimezone(tz).date(),
        tz=tz,
        now=now,
        online=online,
        rules=rules,
    )
    starts = [
        slot.start
        for slot in slots
        if starts_at <= slot.start < ends_at and practitioner.pk in slot.practitioner_ids
    ]
    return min(starts, default=None)


def booking_refusal(
    entry: Entry, release: Release, *, now: datetime, online: bool = True
) -> str | None:
    """Why booking would refuse this client this slot now (None: it would book it).

    Asks booking's own read-only ``check_booking`` (the checks ``book`` makes, without its lock
    or a write), so every rule a claim will meet — the client's maximum of upcoming
    appointments, the animal's species and time, the grid, hours, notice — is decided in one
    place. The claim itself still goes through ``book``, under its lock.
    """
    try:
        booking.check_booking(
            client=entry.client,
            patient=entry.patient,
            service=release.service,
            starts_at=release.starts_at,
            practitioner=release.practitioner,
            online=online,
            now=now,
        )
    except booking.BookingError as error:
        return str(error)
    return None


def offer_free_slot(
    *,
    service: Service,
    practitioner: Practitioner,
    starts_at: datetime,
    by_user: User,
    entry: Entry | None = None,
    now: datetime | None = None,
) -> Release:
    """Staff offer a free slot of the agenda to the waitlist (or to one named client's entry).

    Refused when the practitioner is busy then: an offer must be for a slot that can be booked.
    """
    now = now or timezone.now()
    ends_at = starts_at + service.duration
    if starts_at < now + BookingRules.current().min_notice:
        raise WaitlistError(_("This slot is too soon to offer: it is inside the minimum notice."))
    busy = (
        Appointment.objects.blocking(starts_at, ends_at + service.buffer)
        .filter(practitioner=practitioner)
        .exists()
    )
    if busy:
        raise WaitlistError(_("This practitioner already has an appointment at that time."))
    if entry is not None and (
        entry.service_id != service.pk
        or not entry.is_open(now.astimezone(Clinic.current().tz).date())
    ):
        raise WaitlistError(_("This client is not waiting for this service."))
    return release_slot(
        site_id=service.site_id,
        service_id=service.pk,
        practitioner_id=practitioner.pk,
        starts_at=starts_at,
        ends_at=ends_at,
        source=Release.Source.STAFF,
        by_user=by_user,
        entry=entry,
        now=now,
    )


def hold_slot(
    *,
    practitioner: Practitioner,
    service: Service,
    starts_at: datetime,
    by_user: User,
    now: datetime | None = None,
) -> Release:
    """Staff keep a slot free: a later release overlapping it is not offered."""
    now = now or timezone.now()
    return Release.objects.create(
        site_id=practitioner.site_id,
        service=service,
        practitioner=practitioner,
        starts_at=starts_at,
        ends_at=starts_at + service.duration,
        source=Release.Source.HOLD,
        status=Release.Status.HELD,
        created_at=now,
        created_by=by_user,
    )


def withdraw(release: Release, *, now: datetime | None = None) -> bool:
    """Stop offering a slot ("don't offer"): no further wave, its links stop working.

    Locks the release row, so a claim in flight either finishes first or finds it withdrawn.
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = Release.objects.select_for_update().get(pk=release.pk)
        if current.status != Release.Status.OPEN:
            return False
        current.status = Release.Status.WITHDRAWN
        current.ended_at = now
        current.save(update_fields=["status", "ended_at"])
        current.offers.filter(status=Offer.Status.SENT).update(status=Offer.Status.ENDED)
    return True


# --- matching and waves --------------------------------------------------------------------------


def matching_entries(release: Release, *, now: datetime) -> QuerySet[Entry]:
    """Waiting entries this slot suits, best first: one query, however long the list.

    Suits: same service; the practitioner asked for (if any); the slot's local date inside the
    window, on a wanted weekday and part of the day; the client has no active appointment
    overlapping it and no offer of this slot yet; an "earlier slot" entry only for a slot
    before its appointment, while the client may still change that appointment.
    """
    tz = Clinic.current().tz
    day, weekday_bit, time_bit = local_slot(release.starts_at, tz)
    rules = BookingRules.current()
    overlapping = Appointment.objects.active().filter(
        client_id=OuterRef("client_id"),
        starts_at__lt=release.ends_at,
        ends_at__gt=release.starts_at,
    )
    already = Offer.objects.filter(release_id=release.pk, client_id=OuterRef("client_id"))
    same_vet = Case(
        When(practitioner_id=release.practitioner_id, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    queryset = (
        Entry.objects.filter(
            status=Entry.Status.WAITING,
            service_id=release.service_id,
            earliest__lte=day,
            latest__gte=day,
        )
        .filter(Q(practitioner__isnull=True) | Q(practitioner_id=release.practitioner_id))
        .filter(
            Q(appointment__isnull=True)
            | Q(
                appointment__status=Appointment.Status.BOOKED,
                appointment__starts_at__gt=max(release.starts_at, now + rules.cutoff),
            )
        )
        .annotate(
            day_ok=F("weekdays").bitand(weekday_bit),
            time_ok=F("times").bitand(time_bit),
            same_vet=same_vet,
        )
        .filter(day_ok__gt=0, time_ok__gt=0)
        .exclude(Exists(overlapping))
        .exclude(Exists(already))
    )
    if settings.WAITLIST_RANKING == "fit":
        order = ["-same_vet", "latest", "created_at", "pk"]
    else:
        order = ["created_at", "-same_vet", "latest", "pk"]
    return queryset.order_by(*order)


def send_wave(release_id: int, wave: int, *, now: datetime | None = None) -> list[Offer]:
    """Offer the slot to the next ``WAITLIST_WAVE_SIZE`` matching clients; plan the next wave.

    Locks the release row: a wave never overlaps a claim or another wave of the same slot,
    and a duplicate task for a wave already sent does nothing (``wave`` must be the next one).
    """
    now = now or timezone.now()
    rules = BookingRules.current()
    with transaction.atomic():
        release = (
            Release.objects.select_for_update(of=("self",))
            .select_related("practitioner", "service")
            .get(pk=release_id)
        )
        if release.status != Release.Status.OPEN or release.wave != wave - 1:
            return []
        if now >= release.starts_at - rules.min_notice:
            _end(release, Release.Status.LAPSED, now=now)
            return []
        if release.phone_only:
            return []  # staff book it by phone for a client: no link to send
        candidates = matching_entries(release, now=now).select_related("client", "patient")
        chosen: list[Entry] = []
        seen: set[int] = set()
        # An offer is sent only where booking would accept the claim (the client may be at
        # their maximum of upcoming appointments, say): a bounded look down the list.
        for entry in candidates[: settings.WAITLIST_WAVE_SIZE * 10]:
            if entry.client_id in seen or booking_refusal(entry, release, now=now) is not None:
                continue
            seen.add(entry.client_id)
            chosen.append(entry)
            if len(chosen) == settings.WAITLIST_WAVE_SIZE:
                break
        offers = _offer_to(release, chosen, wave=wave, manual=False, now=now, rules=rules)
        release.wave = wave
        release.save(update_fields=["wave"])
        if chosen:
            at = now + timedelta(minutes=settings.WAITLIST_WAVE_MINUTES)
            if at < release.starts_at - rules.min_notice:
                transaction.on_commit(lambda: _enqueue_wave(release.pk, wave + 1, at), robust=True)
    return offers


def _enqueue_wave(release_id: int, wave: int, at: datetime) -> None:
    from waitlist.tasks import next_wave

    next_wave.using(run_after=at).enqueue(release_id, wave)


def _offer_to(
    release: Release,
    entries: list[Entry],
    *,
    wave: int,
    manual: bool,
    now: datetime,
    rules: BookingRules,
) -> list[Offer]:
    expires_at = release.starts_at - rules.min_notice
    offers = Offer.objects.bulk_create(
        [
            Offer(
                release=release,
                entry=entry,
                client_id=entry.client_id,
                wave=wave,
                manual=manual,
                sent_at=now,
                expires_at=expires_at,
            )
            for entry in entries
        ]
    )
    practitioner_name = release.practitioner.name
    for offer in offers:
        offer.release = release
        transaction.on_commit(lambda offer=offer: _notify(offer, practitioner_name), robust=True)
    return offers


def _notify(offer: Offer, practitioner_name: str) -> None:
    from notifications import services as notifications

    notifications.waitlist_offer(
        client_id=offer.client_id,
        offer_id=offer.pk,
        slot_starts_at=offer.release.starts_at,
        practitioner_name=practitioner_name,
        claim_url=offer.claim_url(),
        expires_at=offer.expires_at,
        wave=offer.wave,
    )


def _end(release: Release, status: str, *, now: datetime, claimed_id: int | None = None) -> None:
    release.status = status
    release.ended_at = now
    release.claimed_id = claimed_id
    release.save(update_fields=["status", "ended_at", "claimed"])


def slot_still_free(release: Release) -> bool:
    """Nobody booked this practitioner over the slot (by any channel) since it was released."""
    end = release.ends_at + release.service.buffer
    return not (
        Appointment.objects.blocking(release.starts_at, end)
        .filter(practitioner_id=release.practitioner_id)
        .exists()
    )


def offer_still_valid(offer_id: int, version: int) -> bool:
    """notifications' subject checker: send an offer only while it can still be taken."""
    offer = (
        Offer.objects.select_related("release", "release__service")
        .filter(pk=offer_id, status=Offer.Status.SENT)
        .first()
    )
    if offer is None or not offer.release.is_open or timezone.now() >= offer.expires_at:
        return False
    return slot_still_free(offer.release)


# --- claiming ------------------------------------------------------------------------------------


@dataclass
class Claimed:
    appointment: Appointment
    replaced: Appointment | None = None


def claim(offer: Offer, *, now: datetime | None = None) -> Claimed:
    """The client takes the offered slot: the first claim books it, later ones are refused.

    Locks the release row first (FOR UPDATE; SQLite: the whole database), then the offer, so
    concurrent claims of one slot run one after the other; then books through booking, whose
    own guarantee still holds against bookings made elsewhere. An "earlier slot" entry's old
    appointment is cancelled in the same transaction (and released in turn, after commit).
    Raises ClaimError with nothing written (except marking a slot booked otherwise as taken).
    """
    now = now or timezone.now()
    failure: ClaimError | None = None
    with transaction.atomic():
        release = (
            Release.objects.select_for_update(of=("self",))
            .select_related("service", "practitioner")
            .get(pk=offer.release_id)
        )
        current = (
            Offer.objects.select_for_update(of=("self",))
            .select_related("entry", "entry__patient", "entry__appointment", "client__user")
            .get(pk=offer.pk)
        )
        entry = current.entry
        if current.status == Offer.Status.CLAIMED:
            raise ClaimError("used")
        if release.status in (Release.Status.CLAIMED, Release.Status.TAKEN):
            raise ClaimError("taken")
        if (
            release.status != Release.Status.OPEN
            or release.phone_only
            or current.status != Offer.Status.SENT
        ):
            raise ClaimError("ended")
        if now >= current.expires_at:
            raise ClaimError("ended")
        if entry.status != Entry.Status.WAITING:
            raise ClaimError("ended")
        own = (
            Appointment.objects.active()
            .filter(
                client_id=current.client_id,
                starts_at__lt=release.ends_at,
                ends_at__gt=release.starts_at,
            )
            .exclude(pk=entry.appointment_id)
        )
        if own.exists():
            raise ClaimError("overlap")
        try:
            booked = booking.book(
                client=current.client,
                patient=entry.patient,
                service=release.service,
                starts_at=release.starts_at,
                practitioner=release.practitioner,
                booked_by=current.client.user,
                online=True,
                reason=_("From the waitlist"),
                now=now,
            )
        except booking.SlotTaken:
            # Booked by another way meanwhile: the slot is gone for every offer of it.
            _end(release, Release.Status.TAKEN, now=now)
            release.offers.filter(status=Offer.Status.SENT).update(status=Offer.Status.MISSED)
            failure = ClaimError("taken")
        except booking.BookingError as error:
            raise ClaimError("refused", str(error)) from error
        if failure is None:
            current.status = Offer.Status.CLAIMED
            current.used_at = now
            current.save(update_fields=["status", "used_at"])
            appointment, replaced = _booked_from(
                release, current, entry, booked.appointment, by_user=current.client.user, now=now
            )
    if failure is not None:
        raise failure
    return Claimed(appointment, replaced)


def _booked_from(
    release: Release,
    offer: Offer,
    entry: Entry,
    appointment: Appointment,
    *,
    by_user: User | None,
    now: datetime,
) -> tuple[Appointment, Appointment | None]:
    """The bookkeeping of a claim, inside its transaction: the slot is refilled, the other
    offers missed, the entry booked; an "earlier slot" entry's old appointment is cancelled."""
    release.offers.filter(status=Offer.Status.SENT).exclude(pk=offer.pk).update(
        status=Offer.Status.MISSED
    )
    _end(release, Release.Status.CLAIMED, now=now, claimed_id=appointment.pk)
    entry.status = Entry.Status.BOOKED
    entry.ended_at = now
    entry.booked = appointment
    entry.save(update_fields=["status", "ended_at", "booked"])
    replaced = None
    old = entry.appointment
    if old is not None and old.status == Appointment.Status.BOOKED:
        rules = BookingRules.current()
        replaced = booking.cancel(
            old,
            by_user=by_user,
            by_clinic=not old.client_may_change(now, rules.cutoff),
            reason=_("Replaced by an earlier slot from the waitlist"),
            now=now,
        )
    return appointment, replaced


def claim_for(
    release: Release, entry: Entry, *, by_user: User, now: datetime | None = None
) -> Claimed:
    """Staff take an open slot for a waiting client (on the phone): booking's phone path.

    For a slot only bookable by phone (no link was sent), or any open one. Books with
    ``online=False`` (phone-only hours, no notice, no maximum: the clinic decides), so the
    client gets booking's usual confirmation and reminders. Same locks as ``claim``: the release
    row first, then the entry. Raises WaitlistError with nothing written.
    """
    now = now or timezone.now()
    failure: WaitlistError | None = None
    with transaction.atomic():
        release = (
            Release.objects.select_for_update(of=("self",))
            .select_related("service", "practitioner")
            .get(pk=release.pk)
        )
        entry = (
            Entry.objects.select_for_update(of=("self",))
            .select_related("client", "patient", "appointment")
            .get(pk=entry.pk)
        )
        if release.status != Release.Status.OPEN:
            raise WaitlistError(_("This slot is no longer available."))
        if (
            entry.status != Entry.Status.WAITING
            or entry.service_id != release.service_id
            or entry.practitioner_id not in (None, release.practitioner_id)
        ):
            raise WaitlistError(_("This client is not waiting for this service."))
        own = (
            Appointment.objects.active()
            .filter(
                client_id=entry.client_id,
                starts_at__lt=release.ends_at,
                ends_at__gt=release.starts_at,
            )
            .exclude(pk=entry.appointment_id)
        )
        if own.exists():
            raise WaitlistError(_("This client already has an appointment at that time."))
        try:
            booked = booking.book(
                client=entry.client,
                patient=entry.patient,
                service=release.service,
                starts_at=release.starts_at,
                practitioner=release.practitioner,
                booked_by=by_user,
                online=False,
                reason=_("From the waitlist"),
                now=now,
            )
        except booking.SlotTaken:
            _end(release, Release.Status.TAKEN, now=now)
            release.offers.filter(status=Offer.Status.SENT).update(status=Offer.Status.MISSED)
            failure = WaitlistError(_("This slot was booked in the meantime."))
        except booking.BookingError as error:
            raise WaitlistError(str(error)) from error
        if failure is None:
            # The record of who got it (figures count offers per refill); never sent.
            offer = Offer.objects.create(
                release=release,
                entry=entry,
                client_id=entry.client_id,
                wave=max(release.wave, 1),
                manual=True,
                status=Offer.Status.CLAIMED,
                sent_at=now,
                used_at=now,
                expires_at=release.starts_at,
            )
            appointment, replaced = _booked_from(
                release, offer, entry, booked.appointment, by_user=by_user, now=now
            )
    if failure is not None:
        raise failure
    return Claimed(appointment, replaced)


# --- figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    released: int
    refilled: int
    median_refill: timedelta | None
    offers_per_refill: float | None

    @property
    def median_minutes(self) -> int | None:
        if self.median_refill is None:
            return None
        return round(self.median_refill.total_seconds() / 60)


def figures(
    *,
    since: datetime,
    service: Service | None = None,
    practitioner: Practitioner | None = None,
) -> Figures:
    """Slots released since ``since``, how many were refilled, how fast, for how many offers.

    Three queries whatever the volume (counts in the database, refill times read as pairs).
    """
    releases = Release.objects.filter(created_at__gte=since).exclude(
        status__in=[Release.Status.HELD]
    )
    if service is not None:
        releases = releases.filter(service=service)
    if practitioner is not None:
        releases = releases.filter(practitioner=practitioner)
    released = releases.count()
    refilled_pairs = list(
        releases.filter(status=Release.Status.CLAIMED).values_list("created_at", "ended_at")
    )
    refilled = len(refilled_pairs)
    median = None
    if refilled_pairs:
        median = timedelta(
            seconds=statistics.median(
                (end - start).total_seconds() for start, end in refilled_pairs
            )
        )
    offers = (
        Offer.objects.filter(release__in=releases.filter(status=Release.Status.CLAIMED)).count()
        if refilled
        else 0
    )
    return Figures(
        released=released,
        refilled=refilled,
        median_refill=median,
        offers_per_refill=offers / refilled if refilled else None,
    )
