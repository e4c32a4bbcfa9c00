"""The API's operations under /api/v1/: thin, like the portal's views.

Each one names the scope its key needs (``KeyAuth(scope)``), reads its input through a typed
schema, calls the service the web pages call (booking, messaging, waitlist: same rules, same
notifications, same no-overlap guarantee) and answers ids and times, never medical details.
Errors are problem details (``api.problems``); writes go through ``api.idempotency``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta
from typing import Any

import phonenumbers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from api import idempotency
from api.auth import KeyAuth
from api.models import ApiKey, Scope
from api.problems import Problem
from booking import services as booking
from booking import slots as slot_reader
from booking.models import Appointment, BookingRules, Practitioner, Service, WeeklyHours
from messaging import contact
from messaging import services as messaging
from messaging.rules import emergency_words_in
from portal.lib.phones import display_phone
from portal.models import Client, Clinic, Site
from records.models import Guardianship, Patient
from waitlist import services as waitlist

router = Router()

MAX_RANGE_DAYS = 31
DEFAULT_RANGE_DAYS = 14


# --- schemas -------------------------------------------------------------------------------------


class Problem9457(Schema):
    type: str
    title: str
    status: int
    detail: str = ""


class HoursOut(Schema):
    weekday: int = Field(description="0 = Monday … 6 = Sunday")
    start: str
    end: str
    online: bool


class SiteOut(Schema):
    id: int
    name: str
    phone: str


class ClinicOut(Schema):
    name: str
    phone: str
    emergency_phone: str
    time_zone: str
    open_now: bool | None = Field(description="None when no opening hours are set")
    next_opening: datetime | None
    call_now: str | None = Field(description="The number to call now (E.164)")
    call_now_is_emergency_line: bool
    sites: list[SiteOut]
    hours: list[HoursOut]


class PractitionerOut(Schema):
    id: int
    name: str


class ServiceOut(Schema):
    id: int
    slug: str
    name: str
    duration_minutes: int
    online: bool
    species: str
    practitioners: list[PractitionerOut]


class SlotOut(Schema):
    start: datetime
    end: datetime
    practitioner_ids: list[int]


class SlotsOut(Schema):
    service_id: int
    channel: str
    slots: list[SlotOut]


class AnimalOut(Schema):
    id: int
    name: str


class FoundClient(Schema):
    id: int
    first_name: str
    animals: list[AnimalOut]


class FoundOut(Schema):
    clients: list[FoundClient]


class AppointmentOut(Schema):
    id: int
    status: str
    starts_at: datetime
    ends_at: datetime
    service_id: int
    practitioner_id: int
    patient_id: int
    client_id: int
    version: int
    confirmed: bool


class BookIn(Schema):
    client_id: int
    patient_id: int
    service_id: int
    starts_at: datetime
    practitioner_id: int | None = None


class MoveIn(Schema):
    starts_at: datetime
    practitioner_id: int | None = None
    version: int | None = Field(None, description="The version you read: refused if it changed")


class CancelIn(Schema):
    version: int | None = None


class ConfirmIn(Schema):
    version: int | None = None


class MessageIn(Schema):
    client_id: int
    patient_id: int | None = None
    subject: str = Field(max_length=200)
    body: str


class MessageOut(Schema):
    conversation_id: int
    urgent: bool
    transfer_to_person: bool
    call_now: str | None
    say: str


class WaitlistIn(Schema):
    client_id: int
    patient_id: int
    service_id: int
    practitioner_id: int | None = None
    earliest: date
    latest: date


class WaitlistOut(Schema):
    entry_id: int
    status: str
    earliest: date
    latest: date


ERRORS = {401: Problem9457, 403: Problem9457, 404: Problem9457, 422: Problem9457, 429: Problem9457}
WRITE_ERRORS = {**ERRORS, 409: Problem9457}


# --- helpers -------------------------------------------------------------------------------------


def _key(request: HttpRequest) -> ApiKey:
    return request.api_key


def _local(moment: datetime) -> str:
    return timezone.localtime(moment, Clinic.current().tz).isoformat()


def _aware(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise Problem(
            422, "validation", _("Give times with their offset, e.g. 2026-06-01T09:30:00+02:00.")
        )
    return moment


def appointment_out(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": appointment.pk,
        "status": appointment.status,
        "starts_at": _local(appointment.starts_at),
        "ends_at": _local(appointment.ends_at),
        "service_id": appointment.service_id,
        "practitioner_id": appointment.practitioner_id,
        "patient_id": appointment.patient_id,
        "client_id": appointment.client_id,
        "version": appointment.version,
        "confirmed": appointment.confirmed_at is not None,
    }


def _slot_out(slot) -> dict[str, Any]:
    return {
        "start": _local(slot.start),
        "end": _local(slot.end),
        "practitioner_ids": list(slot.practitioner_ids),
    }


def _not_found(detail: str) -> Problem:
    return Problem(404, "not-found", detail)


def _client(pk: int) -> Client:
    client = Client.objects.filter(pk=pk).first()
    if client is None:
        raise _not_found(_("No client with this id."))
    return client


def _patient_of(client: Client, pk: int) -> Patient:
    """The client's animal; 404 for an id that does not exist or is someone else's."""
    patient = Patient.objects.of_client(client).filter(pk=pk).first()
    if patient is None:
        raise _not_found(_("This client has no animal with this id."))
    return patient


def _service(pk: int, key: ApiKey) -> Service:
    services = Service.objects.active()
    if key.online:
        services = services.filter(online=True)
    service = services.filter(pk=pk).first()
    if service is None:
        raise _not_found(_("No service with this id for this key."))
    return service


def _practitioner(pk: int | None) -> Practitioner | None:
    if pk is None:
        return None
    practitioner = Practitioner.objects.active().filter(pk=pk).first()
    if practitioner is None:
        raise _not_found(_("No practitioner with this id."))
    return practitioner


def _appointment(pk: int) -> Appointment:
    appointment = Appointment.objects.with_related().filter(pk=pk).first()
    if appointment is None:
        raise _not_found(_("No appointment with this id."))
    return appointment


def _refusal(error: booking.BookingError) -> Problem:
    """booking's reason, as a problem: its message is written to be shown."""
    if isinstance(error, booking.SlotTaken):
        return Problem(
            409,
            "slot-taken",
            str(error),
            alternatives=[_slot_out(s) for s in error.alternatives],
        )
    if isinstance(error, booking.PatientBusy):
        return Problem(409, "patient-busy", str(error))
    if isinstance(error, booking.Stale):
        return Problem(409, "stale", str(error), appointment=appointment_out(error.appointment))
    if isinstance(error, booking.AlreadyDone):
        return Problem(409, "already-done", str(error))
    return Problem(422, "booking-refused", str(error))


# --- clinic and services -------------------------------------------------------------------------


@router.get("/clinic", response={200: ClinicOut, **ERRORS}, auth=KeyAuth(), url_name="clinic")
def clinic_info(request: HttpRequest) -> dict[str, Any]:
    """The clinic, its weekly hours, whether it is open now and the number to call now."""
    now = timezone.now()
    clinic = Clinic.current()
    opening = contact.next_opening(now)
    line = contact.line_to_call(clinic, now)
    hours = (
        WeeklyHours.objects.filter(practitioner__is_active=True)
        .values_list("weekday", "start", "end", "online")
        .distinct()
        .order_by("weekday", "start", "end", "online")
    )
    return {
        "name": clinic.name,
        "phone": clinic.phone,
        "emergency_phone": clinic.emergency_phone,
        "time_zone": clinic.time_zone,
        "open_now": None if opening is None else opening <= now,
        "next_opening": None if opening is None else _local(opening),
        "call_now": line.number if line else None,
        "call_now_is_emergency_line": bool(line and line.emergency),
        "sites": [
            {"id": s.pk, "name": s.name, "phone": s.phone}
            for s in Site.objects.filter(is_active=True)
        ],
        "hours": [
            {"weekday": d, "start": f"{s:%H:%M}", "end": f"{e:%H:%M}", "online": o}
            for d, s, e, o in hours
        ],
    }


@router.get(
    "/services",
    response={200: list[ServiceOut], **ERRORS},
    auth=KeyAuth(Scope.SLOTS_READ),
    url_name="services",
)
def services(request: HttpRequest) -> list[dict[str, Any]]:
    """The services this key may book (only the online ones for an "online" key)."""
    rows = Service.objects.active().prefetch_related(
        Prefetch("practitioners", queryset=Practitioner.objects.active())
    )
    if _key(request).online:
        rows = rows.filter(online=True)
    return [
        {
            "id": s.pk,
            "slug": s.slug,
            "name": s.name,
            "duration_minutes": s.duration_minutes,
            "online": s.online,
            "species": s.species,
            "practitioners": [{"id": p.pk, "name": p.name} for p in s.practitioners.all()],
        }
        for s in rows
    ]


class SlotsQuery(Schema):
    service_id: int
    practitioner_id: int | None = Field(None, description="Omit for the first available vet")
    day: date | None = None
    date_from: date | None = Field(None, alias="from")
    date_to: date | None = Field(None, alias="to")
    first: bool = Field(False, description="Only the first free slot of the range")


@router.get(
    "/slots",
    response={200: SlotsOut, **ERRORS},
    auth=KeyAuth(Scope.SLOTS_READ),
    url_name="slots",
)
def slots(request: HttpRequest, query: Query[SlotsQuery]) -> HttpResponse:
    """Free slots for a service (any vet or one), on a day or over a range (at most 31 days),
    under the key's channel rules: "online" keeps the online notice, horizon and online-only
    hours; "phone" books as reception does."""
    key = _key(request)
    service = _service(query.service_id, key)
    practitioner = _practitioner(query.practitioner_id)
    clinic = Clinic.current()
    now = timezone.now()
    today = timezone.localtime(now, clinic.tz).date()
    start = query.day or query.date_from or today
    end = query.day or query.date_to or (start + timedelta(days=DEFAULT_RANGE_DAYS - 1))
    if end < start or (end - start).days >= MAX_RANGE_DAYS:
        raise Problem(
            422,
            "validation",
            _("Ask for a range of 1 to %(n)s days, its end after its start.")
            % {"n": MAX_RANGE_DAYS},
        )
    # Read-only: cached per availability generation and minute, like the booking pages.
    parts = (service.pk, query.practitioner_id, start, end, query.first, key.online, clinic.tz)
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    cache_key = f"api:slots:{digest}:{int(now.timestamp()) // 60}"
    generation, found = slot_reader.read_current(cache_key)
    if found is None:
        found = slot_reader.free_slots(
            slot_reader.Scope.of(service, practitioner),
            start_day=start,
            end_day=end,
            tz=clinic.tz,
            now=now,
            online=key.online,
            rules=BookingRules.current(),
        )
        if query.first:
            found = found[:1]
        found = [_slot_out(slot) for slot in found]
        if generation is not None:
            slot_reader.store_current(cache_key, generation, found)
    # The body as JSON at once: the schema above documents it, and re-validating our own cached
    # rows through pydantic on every call is work the answer does not need (bench/api.py: the
    # ratio to the day-slots partial went from 0.71 to 1.10 in a short, noisy run).
    body = {"service_id": service.pk, "channel": key.channel, "slots": found}
    return HttpResponse(json.dumps(body), content_type="application/json")


# --- clients -------------------------------------------------------------------------------------

E164 = re.compile(r"\+[1-9]\d{6,14}")


class FindQuery(Schema):
    phone: str | None = Field(None, description="E.164, e.g. +33612345678")
    email: str | None = None


@router.get(
    "/clients/find",
    response={200: FoundOut, **ERRORS},
    auth=KeyAuth(Scope.CLIENTS_FIND),
    url_name="clients_find",
)
def find_client(request: HttpRequest, query: Query[FindQuery]) -> dict[str, Any]:
    """Clients with this phone number or e-mail: their first name and their animals' names,
    nothing more (no last name, no address, no health data)."""
    if bool(query.phone) == bool(query.email):
        raise Problem(422, "validation", _("Give either a phone number or an e-mail address."))
    if query.phone:
        phone = query.phone.strip()
        valid = E164.fullmatch(phone)
        if valid:
            try:
                valid = phonenumbers.is_valid_number(phonenumbers.parse(phone, None))
            except phonenumbers.NumberParseException:
                valid = False
        if not valid:
            raise Problem(422, "bad-phone", _("Give the number in E.164 form, e.g. +33612345678."))
        clients = Client.objects.filter(phone=phone)
    else:
        email = query.email.strip()
        try:
            validate_email(email)
        except ValidationError:
            raise Problem(422, "validation", _("This is not an e-mail address.")) from None
        clients = Client.objects.filter(email__iexact=email)
    links = Guardianship.objects.select_related("patient").order_by("patient__name", "pk")
    clients = clients.prefetch_related(Prefetch("guardianships", queryset=links))[:10]
    return {
        "clients": [
            {
                "id": c.pk,
                "first_name": c.first_name,
                "animals": [
                    {"id": g.patient_id, "name": g.patient.name} for g in c.guardianships.all()
                ],
            }
            for c in clients
        ]
    }


# --- appointments --------------------------------------------------------------------------------


def _request_key(key: ApiKey, request: HttpRequest) -> str | None:
    """booking's own double-submit guard, derived from the Idempotency-Key (64 hex chars)."""
    idem = request.headers.get(idempotency.HEADER, "").strip()
    if not idem:
        return None
    return hashlib.sha256(f"api:{key.pk}:{idem}".encode()).hexdigest()


@router.post(
    "/appointments",
    response={201: AppointmentOut, **WRITE_ERRORS},
    auth=KeyAuth(Scope.BOOK),
    url_name="appointments",
)
def book(request: HttpRequest, payload: BookIn) -> HttpResponse:
    """Book a slot for a client's animal ("first available" without a practitioner): the
    client gets the same confirmation as for a booking on the portal."""
    key = _key(request)

    def write() -> idempotency.Answer:
        client = _client(payload.client_id)
        patient = _patient_of(client, payload.patient_id)
        service = _service(payload.service_id, key)
        practitioner = _practitioner(payload.practitioner_id)
        try:
            booked = booking.book(
                client=client,
                patient=patient,
                service=service,
                starts_at=_aware(payload.starts_at),
                practitioner=practitioner,
                booked_by=None,
                online=key.online,
                request_key=_request_key(key, request),
            )
        except booking.BookingError as error:
            raise _refusal(error) from None
        return (201 if booked.created else 200), appointment_out(booked.appointment)

    return idempotency.run(request, key, write)


@router.get(
    "/appointments/{appointment_id}",
    response={200: AppointmentOut, **ERRORS},
    auth=KeyAuth(Scope.BOOK),
    url_name="appointment",
)
def appointment_status(request: HttpRequest, appointment_id: int) -> dict[str, Any]:
    """An appointment's status and times (no reason for the visit, no notes)."""
    return appointment_out(_appointment(appointment_id))


@router.post(
    "/appointments/{appointment_id}/move",
    response={200: AppointmentOut, **WRITE_ERRORS},
    auth=KeyAuth(Scope.BOOK),
    url_name="appointment_move",
)
def move(request: HttpRequest, appointment_id: int, payload: MoveIn) -> HttpResponse:
    """Move to another start (same service). A "phone" key moves as reception does; an
    "online" key as the client would (cut-off, online hours)."""
    key = _key(request)

    def write() -> idempotency.Answer:
        appointment = _appointment(appointment_id)
        practitioner = _practitioner(payload.practitioner_id)
        try:
            moved = booking.move(
                appointment,
                starts_at=_aware(payload.starts_at),
                practitioner=practitioner,
                by_user=None,
                by_clinic=not key.online,
                version=payload.version,
            )
        except booking.Unchanged as same:
            moved = same.appointment
        except booking.BookingError as error:
            raise _refusal(error) from None
        return 200, appointment_out(moved)

    return idempotency.run(request, key, write)


@router.post(
    "/appointments/{appointment_id}/cancel",
    response={200: AppointmentOut, **WRITE_ERRORS},
    auth=KeyAuth(Scope.BOOK),
    url_name="appointment_cancel",
)
def cancel(request: HttpRequest, appointment_id: int, payload: CancelIn) -> HttpResponse:
    """Cancel; the slot is released to the waitlist as for any cancellation."""
    key = _key(request)

    def write() -> idempotency.Answer:
        appointment = _appointment(appointment_id)
        try:
            cancelled = booking.cancel(
                appointment, by_user=None, by_clinic=not key.online, version=payload.version
            )
        except booking.BookingError as error:
            raise _refusal(error) from None
        return 200, appointment_out(cancelled)

    return idempotency.run(request, key, write)


@router.post(
    "/appointments/{appointment_id}/confirm",
    response={200: AppointmentOut, **WRITE_ERRORS},
    auth=KeyAuth(Scope.BOOK),
    url_name="appointment_confirm",
)
def confirm(request: HttpRequest, appointment_id: int, payload: ConfirmIn) -> HttpResponse:
    """The client's "I'll be there". Confirming twice answers the confirmed appointment."""
    key = _key(request)

    def write() -> idempotency.Answer:
        appointment = _appointment(appointment_id)
        if appointment.status == Appointment.Status.BOOKED and appointment.confirmed_at:
            return 200, appointment_out(appointment)
        version = payload.version if payload.version is not None else appointment.version
        if not booking.confirm(appointment, version=version, via=Appointment.ConfirmedVia.API):
            current = _appointment(appointment_id)
            if current.status != Appointment.Status.BOOKED:
                raise Problem(409, "already-done", _("This appointment is cancelled or over."))
            raise Problem(
                409,
                "stale",
                _("This appointment changed meanwhile: here is its current state."),
                appointment=appointment_out(current),
            )
        return 200, appointment_out(_appointment(appointment_id))

    return idempotency.run(request, key, write)


# --- messages and waitlist -----------------------------------------------------------------------


@router.post(
    "/messages",
    response={201: MessageOut, **WRITE_ERRORS},
    auth=KeyAuth(Scope.MESSAGES),
    url_name="messages",
)
def message(request: HttpRequest, payload: MessageIn) -> HttpResponse:
    """Leave a message in the client's conversations with the clinic. Emergency words make it
    urgent: the answer then says to transfer the caller to a person, with the number to call
    now (the emergency line while the clinic is closed)."""
    key = _key(request)

    def write() -> idempotency.Answer:
        client = _client(payload.client_id)
        patient = _patient_of(client, payload.patient_id) if payload.patient_id else None
        try:
            body = messaging.check_body(payload.body)
        except ValidationError as error:
            raise Problem(422, "validation", " ".join(error.messages)) from None
        urgent = bool(emergency_words_in(body))
        line = contact.line_to_call(Clinic.current(), timezone.now())
        call_now = line.number if line else None
        if client.user_id is None:
            raise Problem(
                422,
                "no-account",
                _("This client has no portal account to hold the message: transfer the call."),
                urgent=urgent,
                transfer_to_person=True,
                call_now=call_now,
            )
        try:
            posted = messaging.start_conversation(
                client=client,
                author=client.user,
                subject=payload.subject or _("Message left by phone"),
                body=body,
                patient=patient,
                language=request.LANGUAGE_CODE,
            )
        except messaging.RateLimited as error:
            raise Problem(429, "rate-limited", str(error)) from None
        except PermissionDenied:
            raise _not_found(_("This client has no animal with this id.")) from None
        if urgent:
            say = _(
                "Urgent: transfer the caller to a person now, or tell them to call %(number)s."
            ) % {"number": display_phone(call_now or "")}
        else:
            say = _("The message was passed on to the clinic.")
        return 201, {
            "conversation_id": posted.conversation.pk,
            "urgent": urgent,
            "transfer_to_person": urgent,
            "call_now": call_now,
            "say": say,
        }

    return idempotency.run(request, key, write)


@router.post(
    "/waitlist",
    response={201: WaitlistOut, **WRITE_ERRORS},
    auth=KeyAuth(Scope.BOOK),
    url_name="waitlist",
)
def join_waitlist(request: HttpRequest, payload: WaitlistIn) -> HttpResponse:
    """Put a client's animal on the waitlist for a service between two dates."""
    key = _key(request)

    def write() -> idempotency.Answer:
        client = _client(payload.client_id)
        patient = _patient_of(client, payload.patient_id)
        service = _service(payload.service_id, key)
        practitioner = _practitioner(payload.practitioner_id)
        try:
            entry = waitlist.join(
                client=client,
                patient=patient,
                service=service,
                practitioner=practitioner,
                earliest=payload.earliest,
                latest=payload.latest,
            )
        except waitlist.WaitlistError as error:
            raise Problem(422, "waitlist-refused", str(error)) from None
        return 201, {
            "entry_id": entry.pk,
            "status": entry.status,
            "earliest": entry.earliest.isoformat(),
            "latest": entry.latest.isoformat(),
        }

    return idempotency.run(request, key, write)
