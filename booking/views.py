"""Booking pages: the client's booking flow and appointments, one-tap links, the staff agenda."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    IntegerField,
    TimeField,
    Value,
)
from django.db.models.functions import Cast
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from booking import availability as engine
from booking import closures, events, services
from booking import grid as agenda_grid
from booking import slots as slot_reader
from booking.forms import (
    CancelForm,
    ChooseForm,
    ClosureForm,
    ConfirmForm,
    ExtraOpeningForm,
    MarkForm,
    MoveForm,
    OutcomeForm,
    ServiceForm,
    StaffCancelForm,
    TeamRulesForm,
    TimeOffEntryForm,
    TimeOffForm,
    WeeklyHoursForm,
)
from booking.models import (
    Appointment,
    BookingRules,
    CalendarFeed,
    Closure,
    ExtraOpening,
    Practitioner,
    Service,
    TimeOff,
    WeeklyHours,
    feed_days,
)
from booking.notices import LINK_PURPOSE, appointment_ics, ics_event
from portal.access import (
    client_for_staff,
    client_of,
    client_required,
    duty_required,
    has_duty,
    log_access,
    manager_required,
    staff_required,
)
from portal.lib.links import LinkExpired, LinkInvalid, read_token
from portal.models import AccessLog, Client, Clinic, Site
from records.models import Patient

STRIP_DAYS = 14
# Stored cancellation reasons: recorded facts for the team, kept in one language on purpose.
CLIENT_ONLINE = "client online"
CLIENT_VIA_REMINDER = "client via reminder"


# --- access helpers ------------------------------------------------------------------------------


def appointment_for_client(request: HttpRequest, pk: int) -> Appointment:
    """The client's own appointment; 404 for anyone else's (they must not learn it exists), and
    the refusal goes to the access log."""
    found = Appointment.objects.with_related().filter(pk=pk, client__user=request.user).first()
    if found is None:
        log_access(request, action=AccessLog.Action.DENIED, object_type="appointment", object_id=pk)
        raise Http404
    return found


def appointment_for_staff(pk: int) -> Appointment:
    found = Appointment.objects.with_related().filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _patient_of(client: Client, raw: str | None) -> Patient | None:
    """The client's patient named in the query string; 404 for someone else's or nonsense."""
    if not raw:
        return None
    if not str(raw).isdigit():
        raise Http404
    patient = Patient.objects.of_client(client).filter(pk=int(raw)).first()
    if patient is None:
        raise Http404
    return patient


# --- availability shown to the person booking -----------------------------------------------------


@dataclass(frozen=True)
class DayCell:
    day: date
    free: bool
    url: str
    selected: bool


@dataclass(frozen=True)
class SlotLink:
    """A free time offered to pick. Shown as a real <button> in a small GET form (Space and
    Enter work, as on any button), so the form's action and fields come from the URL."""

    start: datetime
    url: str

    @property
    def action(self) -> str:
        return urlsplit(self.url).path

    @property
    def fields(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query)


def _with_start(url: str, params: dict, start: datetime) -> str:
    return f"{url}?{urlencode({**params, 'start': int(start.timestamp())})}"


def _parse_day(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _availability(
    request: HttpRequest,
    scope: slot_reader.Scope,
    *,
    online: bool,
    base_params: dict[str, str],
    page_url: str,
    pick_url: str,
    exclude_appointment: int | None = None,
) -> dict:
    """Days with free slots (highlighted), the next free day, and the chosen day's slots.

    The engine's inputs for the strip's fortnight are read once (five queries whatever the
    data), indexed once, then asked for the free days, the next free day and the slots.
    """
    clinic = Clinic.current()
    tz = clinic.tz
    rules = BookingRules.current()
    now = timezone.now()
    today = now.astimezone(tz).date()
    asked = _parse_day(request.GET.get("day"))
    first = _parse_day(request.GET.get("from")) or today
    if asked is not None and not first <= asked < first + timedelta(days=STRIP_DAYS):
        first = asked
    first = max(first, today)
    if online:
        window_end = (now + rules.horizon).astimezone(tz).date()
    else:
        window_end = first + timedelta(days=STRIP_DAYS * 3)
    strip_end = first + timedelta(days=STRIP_DAYS - 1)
    free: set[date] = set()
    next_free = None
    starts: list[datetime] = []
    day = asked
    if scope.practitioner_ids:
        # Everyone browsing a service in the same minute sees the same days and slots: the
        # answer is cached under the availability generation (bumped after every booking,
        # move, cancellation or change of hours), so it is never staler than the last change.
        # `now` is rounded up to the next minute: a slot is hidden a little early rather than
        # shown inside the notice.
        now = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        generation = slot_reader.generation()
        key = (
            f"booking:avail:{generation}:{rules.pk}:{rules.updated_at.timestamp()}:"
            f"{scope.service.pk}:{','.join(map(str, sorted(scope.practitioner_ids)))}:"
            f"{online}:{exclude_appointment or ''}:{first}:{asked or ''}:{now.timestamp()}"
        )
        answer = cache.get(key) if generation is not None else None
        if answer is None:
            answer = _compute_availability(
                scope,
                first=first,
                strip_end=strip_end,
                today=today,
                window_end=window_end,
                asked=asked,
                online=online,
                rules=rules,
                now=now,
                tz=tz,
                exclude_appointment=exclude_appointment,
            )
            if generation is not None:
                cache.set(key, answer, slot_reader.CACHE_SECONDS)
        free, next_free, day, starts = answer

    def url(**extra: object) -> str:
        return f"{page_url}?{urlencode({**base_params, **extra})}"

    cells = [
        DayCell(
            d,
            d in free,
            url(day=d.isoformat(), **{"from": first.isoformat()}),
            d == day,
        )
        for d in (first + timedelta(days=i) for i in range(STRIP_DAYS))
    ]
    earlier = first - timedelta(days=STRIP_DAYS)
    return {
        "cells": cells,
        "day": day,
        "slots": [SlotLink(start, _with_start(pick_url, base_params, start)) for start in starts],
        "next_free": next_free,
        "next_free_url": url(day=next_free.isoformat()) if next_free else "",
        "earlier_url": url(**{"from": max(earlier, today).isoformat()}) if first > today else "",
        "later_url": url(**{"from": (first + timedelta(days=STRIP_DAYS)).isoformat()}),
        "page_url": page_url,
    }


def _compute_availability(
    scope: slot_reader.Scope,
    *,
    first: date,
    strip_end: date,
    today: date,
    window_end: date,
    asked: date | None,
    online: bool,
    rules: BookingRules,
    now: datetime,
    tz,
    exclude_appointment: int | None,
) -> tuple[set[date], date | None, date | None, list[datetime]]:
    """(days with free slots in the strip, next free day, chosen day, its slot starts)."""

    def prepared(start: date, end: date) -> engine.Prepared:
        inputs = slot_reader.engine_inputs(
            scope,
            start_day=start,
            end_day=end,
            tz=tz,
            now=now,
            online=online,
            rules=rules,
            exclude_appointment=exclude_appointment,
            cached=True,
        )
        return engine.prepare(**inputs)

    # Only the strip's fortnight is read: every question below is about those days, except
    # the next free day when the strip has none from today on (then a second read).
    strip = prepared(first, strip_end)
    free = strip.days_with_free_slots(first, strip_end)
    if first == today and free:
        next_free = min(free)
    else:
        next_free = prepared(today, window_end).next_free_day(today, window_end)
    day = asked
    if day is None:
        day = min(free) if free else next_free
    slots: list[engine.Slot] = []
    if day is not None and first <= day <= strip_end:
        slots = strip.free_slots(day, day)
    elif day is not None:
        slots = prepared(day, day).free_slots(day, day)
    return free, next_free, day, [slot.start for slot in slots]


def _sites() -> list[Site]:
    return list(Site.objects.filter(is_active=True))


def _choose_form(
    request: HttpRequest, patients, *, online: bool, client: Client | None = None
) -> tuple[ChooseForm, list[Site], Site | None]:
    """The patient/service/practitioner chooser, defaulting to the first of each."""
    sites = _sites()
    site_id = request.GET.get("site") or ""
    site = next((s for s in sites if str(s.pk) == site_id), None)
    if site is None and client is not None and client.usual_site_id:
        site = next((s for s in sites if s.pk == client.usual_site_id), None)
    if site is None:
        site = next((s for s in sites if s.is_default), sites[0] if sites else None)
    services_qs = Service.objects.active().filter(site=site)
    if online:
        services_qs = services_qs.filter(online=True)
    practitioners = Practitioner.objects.active().filter(site=site)
    data = {
        "patient": request.GET.get("patient") or (patients[0].pk if patients else ""),
        "service": request.GET.get("service") or "",
        "practitioner": request.GET.get("practitioner") or "",
        "day": request.GET.get("day") or "",
    }
    if not data["service"]:
        first_service = services_qs.first()
        data["service"] = first_service.slug if first_service else ""
    form = ChooseForm(
        data,
        patients=Patient.objects.filter(pk__in=[p.pk for p in patients]),
        services=services_qs.prefetch_related("practitioners"),
        practitioners=practitioners,
    )
    return form, sites, site


def _pick_context(form: ChooseForm, site: Site | None) -> dict[str, str]:
    params = {
        "patient": str(form.cleaned_data["patient"].pk),
        "service": form.cleaned_data["service"].slug,
    }
    if form.cleaned_data.get("practitioner"):
        params["practitioner"] = str(form.cleaned_data["practitioner"].pk)
    if site is not None:
        params["site"] = str(site.pk)
    return params


# --- client: the rendered day strip and slots, shared -----------------------------------------

# Stands for the animal's id inside a cached fragment: every client browsing the same service,
# day and minute shares one rendering, and each receives it with their own animal's id.
PATIENT_MARK = "__patient__"


def _is_id(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and len(raw) < 19


@dataclass(frozen=True)
class Fragment:
    """Where one request's availability fragment (day strip, slots) is cached, the
    availability generation read before any row, and the fragment when it is current."""

    key: str
    patient: int
    generation: int
    html: str | None

    def store(self, html: str) -> str:
        slot_reader.store_current(self.key, self.generation, html)
        return self.personal(html)

    def personal(self, html: str) -> str:
        return html.replace(PATIENT_MARK, str(self.patient))


def _fragment_for(request: HttpRequest) -> Fragment | None:
    """The cache entry for this request's fragment, or None when it must not be shared: no
    animal named (the default is the client's own), not theirs (the page answers 404), odd
    parameters, or a cache that cannot give the availability generation.

    The generation (bumped after every booking, move, cancellation and change of hours, rules
    or services) is read here, with the fragment, before any row: a fragment rendered from rows
    older than a change is stored with the generation before it, and never served again. The
    key is what the fragment shows besides those rows: the language, the time zone, the clinic
    (its phone), the choices, the animal's species (a service may be for one species), the
    client's usual site when none is chosen, and the minute (the notice).
    One query (the animal is the client's, its species, the client's usual site) and one cache
    read (the generation and the fragment together).
    """
    params = request.GET
    patient = params.get("patient", "")
    slug = params.get("service", "")
    practitioner = params.get("practitioner", "")
    site = params.get("site", "")
    day = params.get("day", "")
    first = params.get("from", "")
    if not _is_id(patient) or len(slug) > 100:
        return None
    if any(raw and not _is_id(raw) for raw in (practitioner, site)):
        return None
    if any(raw and _parse_day(raw) is None for raw in (day, first)):
        return None
    found = (
        Patient.objects.of_user(request.user)
        .filter(pk=int(patient))
        .order_by()
        .values_list("species", "guardianships__client__usual_site_id")[:1]
    )
    if not found:
        return None
    species, usual_site = found[0]
    clinic = getattr(request, "clinic", None) or Clinic.current()
    parts = (
        translation.get_language(),
        timezone.get_current_timezone_name(),
        clinic.pk,
        clinic.updated_at.timestamp(),
        slug,
        practitioner,
        site or f"usual:{usual_site or ''}",
        species,
        day,
        first,
        int(timezone.now().timestamp()) // 60,
    )
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    key = f"booking:fragment:{digest}"
    generation, html = slot_reader.read_current(key)
    if generation is None:
        return None
    fragment = Fragment(key, int(patient), generation, None)
    if html is not None:
        return Fragment(key, fragment.patient, generation, fragment.personal(html))
    return fragment


# --- client: booking flow -------------------------------------------------------------------------


@client_required
@require_GET
def new(request: HttpRequest) -> HttpResponse:
    """Choose the patient, the service and who with, then a day, then a slot.

    The day strip and slots (the part htmx swaps) are rendered once per generation, choice and
    minute for everyone (``Fragment``): a cached one answers with no other query.
    """
    fragment = _fragment_for(request)
    html = fragment.html if fragment is not None else None
    if html is not None and request.htmx:
        return HttpResponse(html)
    client = client_of(request.user)
    patients = list(Patient.objects.of_client(client).order_by("name", "pk"))
    raw_patient = request.GET.get("patient")
    if raw_patient and raw_patient not in {str(p.pk) for p in patients}:
        raise Http404  # another client's animal, or nonsense
    slug = request.GET.get("service")
    phone_only = None
    if slug:
        service = Service.objects.active().filter(slug=slug).first()
        if service is None:
            raise Http404
        if not service.online:
            phone_only = service
    form, sites, site = _choose_form(request, patients, online=True, client=client)
    context = {
        "form": form,
        "sites": sites,
        "site": site,
        "patients": patients,
        "phone_only": phone_only,
    }
    if html is None and phone_only is None and patients and form.is_valid():
        service = form.cleaned_data["service"]
        scope = slot_reader.Scope.of(service, form.cleaned_data.get("practitioner"))
        if service.species and service.species != form.cleaned_data["patient"].species:
            context["wrong_species"] = True
        else:
            base_params = _pick_context(form, site)
            if fragment is not None:
                base_params["patient"] = PATIENT_MARK
            context.update(
                _availability(
                    request,
                    scope,
                    online=True,
                    base_params=base_params,
                    page_url=reverse("booking:new"),
                    pick_url=reverse("booking:confirm"),
                )
            )
    if not patients:
        return render(request, "booking/new.html", context)
    if html is None:
        # Shared only when it depends on nothing but the key: a valid choice (form errors stay
        # personal) or a service booked by phone.
        shared = fragment is not None and (phone_only is not None or form.is_valid())
        context["waitlist_patient"] = PATIENT_MARK if shared else form["patient"].value()
        html = render_to_string("booking/new.html#availability", context, request)
        if shared:
            html = fragment.store(html)
    if request.htmx:
        return HttpResponse(html)
    # Our own rendering, escaped when it was rendered.
    context["availability_html"] = mark_safe(html)
    return render(request, "booking/new.html", context)


def _chosen(
    request: HttpRequest, client: Client, data
) -> tuple[Patient, Service | None, Practitioner | None, str]:
    """Patient, service and practitioner named in a request, and why they cannot be booked
    online ("" when they can). Another client's animal is a 404: they must not learn it exists.
    """
    patient = _patient_of(client, data.get("patient"))
    if patient is None:
        raise Http404
    service = Service.objects.active().filter(slug=data.get("service") or "").first()
    if service is None:
        return patient, None, None, _("This service does not exist or is no longer offered.")
    if not service.online:
        return (
            patient,
            service,
            None,
            _("This service cannot be booked online. Please call the clinic."),
        )
    practitioner = None
    raw = data.get("practitioner")
    if raw:
        practitioner = (
            Practitioner.objects.active()
            .filter(pk=int(raw) if str(raw).isdigit() else 0, services=service)
            .first()
        )
        if practitioner is None:
            return patient, service, None, _("This practitioner does not offer this service.")
    return patient, service, practitioner, ""


def _confirm_page(
    request: HttpRequest,
    *,
    client: Client,
    form: ConfirmForm,
    patient: Patient,
    service: Service | None,
    practitioner: Practitioner | None,
    start: datetime | None = None,
    refused: str = "",
    taken: services.SlotTaken | None = None,
    busy: services.PatientBusy | None = None,
    alternatives: list[engine.Slot] = (),
    status: int = 200,
) -> HttpResponse:
    """The confirm page: the slot and the button, or, when refused, why, the nearest free times
    and the way back; never a button that books what booking would refuse."""
    params: dict[str, object] = {"patient": patient.pk}
    if service is not None:
        params["service"] = service.slug
    if practitioner is not None:
        params["practitioner"] = practitioner.pk
    pick = reverse("booking:confirm")
    conflict = busy.conflict if busy is not None else None
    return render(
        request,
        "booking/confirm.html",
        {
            "form": form,
            "patient": patient,
            "service": service,
            "practitioner": practitioner,
            "start": start,
            "end": start + service.duration if start and service else None,
            "refused": refused,
            "taken": taken,
            "busy": busy,
            "conflict_url": (
                reverse("booking:detail", args=[conflict.pk])
                if conflict is not None and conflict.client_id == client.pk
                else ""
            ),
            "alternatives": [
                SlotLink(s.start, _with_start(pick, params, s.start)) for s in alternatives
            ],
            "back_url": f"{reverse('booking:new')}?{urlencode(params)}",
        },
        status=status,
    )


def _nearest(
    service: Service, practitioner: Practitioner | None, around: datetime | None
) -> list[engine.Slot]:
    """Free times to offer instead of a refused one, near it (kept within what can be booked)."""
    rules = BookingRules.current()
    now = timezone.now()
    around = min(max(around or now, now + rules.min_notice), now + rules.horizon)
    return slot_reader.nearest_slots(
        slot_reader.Scope.of(service, practitioner),
        around,
        tz=Clinic.current().tz,
        now=now,
        online=True,
        rules=rules,
    )


@client_required
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """The chosen slot, an optional reason, and the button that books it.

    The GET checks the slot exactly as booking will (``services.check_booking``): a tampered or
    stale URL (03:00, past, off the grid, closed, too soon, too far, unknown service or vet, the
    animal already booked then) shows why, with the nearest free times, and no button.
    """
    client = client_of(request.user)
    data = request.POST if request.method == "POST" else request.GET
    patient, service, practitioner, unavailable = _chosen(request, client, data)
    form = ConfirmForm(
        data
        if request.method == "POST"
        else {"start": data.get("start"), "request_key": secrets.token_urlsafe(16)}
    )
    page = {
        "client": client,
        "form": form,
        "patient": patient,
        "service": service,
        "practitioner": practitioner,
    }
    if unavailable:
        # Unknown or not bookable online: 404 as before, with a page that says why.
        return _confirm_page(request, **page, refused=unavailable, status=404)
    if not form.is_valid():
        if "start" in form.errors:
            return _confirm_page(
                request,
                **page,
                refused=_("This time is not valid."),
                alternatives=_nearest(service, practitioner, None),
                status=400,
            )
        # Only the reason is wrong (too long): the form again, with its error.
        return _confirm_page(request, **page, start=form.cleaned_data.get("start"))
    start = form.cleaned_data["start"]
    try:
        if request.method == "GET":
            services.check_booking(
                client=client,
                patient=patient,
                service=service,
                starts_at=start,
                practitioner=practitioner,
                online=True,
            )
        else:
            result = services.book(
                client=client,
                patient=patient,
                service=service,
                starts_at=start,
                practitioner=practitioner,
                booked_by=request.user,
                online=True,
                reason=form.cleaned_data["reason"],
                request_key=form.cleaned_data["request_key"] or None,
            )
            if result.created:
                messages.success(request, _("Your appointment is booked."))
            return redirect("booking:detail", pk=result.appointment.pk)
    except services.SlotTaken as error:
        return _confirm_page(
            request, **page, start=start, taken=error, alternatives=error.alternatives, status=409
        )
    except services.PatientBusy as error:
        return _confirm_page(
            request,
            **page,
            start=start,
            busy=error,
            refused=str(error),
            alternatives=_nearest(service, practitioner, start),
            status=409,
        )
    except services.BookingError as error:
        form.add_error(None, str(error))
        return _confirm_page(
            request,
            **page,
            start=start,
            refused=str(error),
            alternatives=_nearest(service, practitioner, start),
            # A refused POST keeps its historical 200 (the form re-shown with the error).
            status=400 if request.method == "GET" else 200,
        )
    return _confirm_page(request, **page, start=start)


@client_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    now = timezone.now()
    rules = BookingRules.current()
    upcoming = list(Appointment.objects.upcoming_for(client, now))
    for appointment in upcoming:
        appointment.changeable = appointment.client_may_change(now, rules.cutoff)
    past = Appointment.objects.past_for(client, now)[:20]
    return render(
        request, "booking/mine.html", {"upcoming": upcoming, "past": past, "rules": rules}
    )


@client_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = appointment_for_client(request, pk)
    rules = BookingRules.current()
    return render(
        request,
        "booking/detail.html",
        {
            "appointment": appointment,
            "changeable": appointment.client_may_change(timezone.now(), rules.cutoff),
            "rules": rules,
        },
    )


@login_required
@require_GET
def ics_download(request: HttpRequest, pk: int) -> HttpResponse:
    if request.user.is_clinic_staff:
        appointment = appointment_for_staff(pk)
    else:
        appointment = appointment_for_client(request, pk)
    response = HttpResponse(
        appointment_ics(appointment), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    return response


@client_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = appointment_for_client(request, pk)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel(
                appointment,
                by_user=request.user,
                by_clinic=False,
                reason=form.cleaned_data["reason"] or CLIENT_ONLINE,
            )
        except services.BookingError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Your appointment is cancelled."))
        return redirect("booking:mine")
    return render(request, "booking/cancel.html", {"appointment": appointment, "form": form})


@client_required
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """A new slot for the same service, chosen like a booking; the old one is freed."""
    appointment = appointment_for_client(request, pk)
    rules = BookingRules.current()
    if not appointment.client_may_change(timezone.now(), rules.cutoff):
        return render(request, "booking/too_late.html", {"appointment": appointment}, status=409)
    page_url = reverse("booking:move", args=[pk])
    if request.method == "POST" or request.GET.get("start"):
        form = MoveForm(request.POST if request.method == "POST" else request.GET)
        if not form.is_valid():
            raise Http404
        taken = None
        refused = ""
        status = 400
        if request.method == "GET":
            # The same checks as the move itself, before offering its button (a stale or
            # tampered URL says why instead).
            try:
                services.check_move(
                    appointment, starts_at=form.cleaned_data["start"], by_clinic=False
                )
            except services.Unchanged as error:
                refused, status = str(error), 200  # its own time, offered in the list: no fault
            except services.SlotTaken as error:
                taken = error
            except services.BookingError as error:
                refused = str(error)
        if request.method == "POST":
            try:
                services.move(
                    appointment,
                    starts_at=form.cleaned_data["start"],
                    by_user=request.user,
                    by_clinic=False,
                )
            except services.Unchanged as error:
                # The same move posted twice, or to the time it already has: nothing changed.
                messages.info(request, str(error))
                return redirect("booking:detail", pk=pk)
            except services.SlotTaken as error:
                taken = error
            except services.BookingError as error:
                messages.error(request, str(error))
                return redirect(page_url)
            else:
                messages.success(request, _("Your appointment is moved."))
                return redirect("booking:detail", pk=pk)
        start = form.cleaned_data["start"]
        return render(
            request,
            "booking/move_confirm.html",
            {
                "appointment": appointment,
                "start": start,
                "end": start + appointment.service.duration,
                "form": form,
                "taken": taken,
                "refused": refused,
                "back_url": page_url,
            },
            status=409 if taken else status if refused else 200,
        )
    scope = slot_reader.Scope.of(appointment.service)
    context = {"appointment": appointment}
    context.update(
        _availability(
            request,
            scope,
            online=True,
            base_params={},
            page_url=page_url,
            pick_url=page_url,
            exclude_appointment=appointment.pk,
        )
    )
    template = "booking/move.html#availability" if request.htmx else "booking/move.html"
    return render(request, template, context)


# --- one-tap links (no login) --------------------------------------------------------------------


@login_not_required  # public: the signed token from the reminder is the credential
@require_http_methods(["GET", "POST"])
def one_tap(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm / cancel / move from a reminder, without signing in.

    GET shows the appointment and one button; only the POST changes anything. The token names
    the appointment, its version and the action; a link for an older version (moved since) or
    an answer already given changes nothing and says so.
    """
    try:
        payload = read_token(LINK_PURPOSE, token)
    except LinkExpired:
        return render(request, "booking/link_invalid.html", {"expired": True}, status=410)
    except LinkInvalid:
        return render(request, "booking/link_invalid.html", {"expired": False}, status=404)
    action = payload.get("act")
    appointment = (
        Appointment.objects.with_related().filter(pk=payload.get("a")).first()
        if isinstance(payload.get("a"), int)
        else None
    )
    if appointment is None or action not in ("confirm", "cancel", "move"):
        return render(request, "booking/link_invalid.html", {"expired": False}, status=404)
    now = timezone.now()
    rules = BookingRules.current()
    state = "open"
    if appointment.status == Appointment.Status.CANCELLED:
        state = "cancelled"
    elif appointment.version != payload.get("v"):
        state = "stale"
    elif action == "confirm" and appointment.confirmed_at is not None:
        state = "confirmed"
    elif action in ("cancel", "move") and not appointment.client_may_change(now, rules.cutoff):
        state = "too_late"
    elif appointment.status != Appointment.Status.BOOKED:
        state = "over"
    done = False
    if request.method == "POST" and state == "open":
        if action == "confirm":
            done = services.confirm(
                appointment,
                version=payload["v"],
                now=now,
                via=Appointment.ConfirmedVia.LINK,
            )
            state = "confirmed" if not done else "done"
        elif action == "cancel":
            try:
                services.cancel(
                    appointment,
                    by_user=None,
                    by_clinic=False,
                    reason=CLIENT_VIA_REMINDER,
                    now=now,
                )
                state = "done"
            except services.BookingError:
                state = "cancelled"
            appointment.refresh_from_db()
    return render(
        request,
        "booking/one_tap.html",
        {
            "appointment": appointment,
            "action": action,
            "state": state,
            "move_url": reverse("booking:move", args=[appointment.pk]),
        },
    )


# --- staff: agenda -------------------------------------------------------------------------------


def _day_bounds(day: date, tz) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day, time(0), tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz),
    )


def _agenda_url(params: dict, **changes: object) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return f"{reverse('booking:agenda')}?{urlencode(merged)}"


def _agenda_rows(
    practitioner_ids: list[int], days: list[date], tz, selected: Practitioner | None
) -> tuple[dict[date, closures.DayAbsences], list[engine.WeeklyRange], list[engine.ExtraOpening]]:
    """Closures, time off, weekly hours and extra openings for the shown days.

    One query, or none. They change only through booking's pages, which bump the availability
    generation after commit, so they are kept under it (like the slot rows); appointments are
    never cached here, they are what the grid is watched for. The four tables are read in one
    UNION (typed columns, a ``kind`` first) because a busy day's budget is 8 queries and the
    generation moves with every booking.
    """
    key = (
        f"booking:agenda-rows:{','.join(map(str, practitioner_ids))}:{days[0]}:{days[-1]}:"
        f"{selected.pk if selected else ''}:{tz}"
    )
    # Plain tuples are cached, never objects: a class the cache pickled may not be the one a
    # later process (or a reloaded module) unpickles.
    current, raw = slot_reader.read_current(key)
    if raw is None:
        raw = _read_agenda_rows(practitioner_ids, days, tz, selected)
        if current is not None:
            slot_reader.store_current(key, current, raw)
    ranges: list[engine.WeeklyRange] = []
    extras: list[engine.ExtraOpening] = []
    shut_rows: list[Closure] = []
    away_rows: list[TimeOff] = []
    for kind, pk, pid, weekday, d1, d2, t1, t2, i1, i2, online, text in raw:
        if kind == 0:
            ranges.append(engine.WeeklyRange(pid, weekday, t1, t2, online))
        elif kind == 1:
            extras.append(engine.ExtraOpening(pid, d1, t1, t2, online))
        elif kind == 2:
            shut_rows.append(Closure(pk=pk, start=d1, end=d2, label=text))
        else:
            away_rows.append(TimeOff(pk=pk, practitioner_id=pid, start=i1, end=i2, reason=text))
    shut_rows.sort(key=lambda c: (c.start, c.pk))
    away_rows.sort(key=lambda t: (t.start, t.pk))
    absences = {}
    for d in days:
        d_lo, d_hi = _day_bounds(d, tz)
        absences[d] = closures.DayAbsences(
            [c for c in shut_rows if c.start <= d <= c.end],
            [t for t in away_rows if t.start < d_hi and d_lo < t.end],
        )
    return absences, ranges, extras


def _read_agenda_rows(
    practitioner_ids: list[int], days: list[date], tz, selected: Practitioner | None
) -> list[tuple]:
    """The UNION: one row per weekly range, extra opening, closure and time off."""
    lo, _hi = _day_bounds(days[0], tz)
    _lo, hi = _day_bounds(days[-1], tz)

    def typed(value, field):
        # PostgreSQL types a bare NULL as text in a UNION: cast it to the column's type.
        return Cast(Value(value), output_field=field)

    # kind, pk, practitioner, weekday, date start, date end, time start, time end,
    # instant start, instant end, online, text
    weekly = (
        WeeklyHours.objects.filter(practitioner_id__in=practitioner_ids)
        .order_by()
        .values_list(
            typed(0, IntegerField()),
            "pk",
            "practitioner_id",
            "weekday",
            typed(None, DateField()),
            typed(None, DateField()),
            "start",
            "end",
            typed(None, DateTimeField()),
            typed(None, DateTimeField()),
            "online",
            typed("", CharField()),
        )
    )
    extra = (
        ExtraOpening.objects.filter(
            practitioner_id__in=practitioner_ids, date__gte=days[0], date__lte=days[-1]
        )
        .order_by()
        .values_list(
            typed(1, IntegerField()),
            "pk",
            "practitioner_id",
            typed(None, IntegerField()),
            "date",
            "date",
            "start",
            "end",
            typed(None, DateTimeField()),
            typed(None, DateTimeField()),
            "online",
            typed("", CharField()),
        )
    )
    shut = (
        Closure.objects.filter(start__lte=days[-1], end__gte=days[0])
        .order_by()
        .values_list(
            typed(2, IntegerField()),
            "pk",
            typed(None, IntegerField()),
            typed(None, IntegerField()),
            "start",
            "end",
            typed(None, TimeField()),
            typed(None, TimeField()),
            typed(None, DateTimeField()),
            typed(None, DateTimeField()),
            typed(False, BooleanField()),
            "label",
        )
    )
    away = TimeOff.objects.filter(start__lt=hi, end__gt=lo, practitioner_id__in=practitioner_ids)
    if selected is not None:
        away = away.filter(practitioner=selected)
    away = away.order_by().values_list(
        typed(3, IntegerField()),
        "pk",
        "practitioner_id",
        typed(None, IntegerField()),
        typed(None, DateField()),
        typed(None, DateField()),
        typed(None, TimeField()),
        typed(None, TimeField()),
        "start",
        "end",
        typed(False, BooleanField()),
        "reason",
    )
    if not practitioner_ids:
        # With every other part empty, Django leaves the closures alone under the first part's
        # ORDER BY, which PostgreSQL refuses (no such column): no vets, no hours, only closures.
        return list(shut)
    return list(weekly.union(extra, shut, away, all=True))


@staff_required
@require_GET
def agenda(request: HttpRequest) -> HttpResponse:
    """The agenda grid: a day with a column per practitioner, or a practitioner's week.

    Two queries whatever the day holds (practitioners, appointments), plus four for the hours
    and absences when the availability generation changed (``_agenda_rows``); ``booking.grid``
    places them without queries.
    """
    tz = Clinic.current().tz
    now = timezone.now()
    today = now.astimezone(tz).date()
    day = _parse_day(request.GET.get("day")) or today
    view = "week" if request.GET.get("view") == "week" else "day"
    practitioners = list(Practitioner.objects.active().select_related("site"))
    sites = list({p.site_id: p.site for p in practitioners}.values())
    site = next((s for s in sites if str(s.pk) == request.GET.get("site", "")), None)
    raw = request.GET.get("practitioner") or ""
    selected = next((p for p in practitioners if str(p.pk) == raw), None)
    if view == "week" and selected is None and practitioners:
        # A week is one practitioner's: the first of the list until another is chosen.
        selected = next((p for p in practitioners if site is None or p.site == site), None)
    if selected is not None:
        shown = [selected]
    else:
        shown = [p for p in practitioners if site is None or p.site == site]
    if view == "week":
        first = day - timedelta(days=day.weekday())
        days = [first + timedelta(days=i) for i in range(7)]
    else:
        days = [day]
    lo, _hi = _day_bounds(days[0], tz)
    _lo, hi = _day_bounds(days[-1], tz)
    shown_ids = [p.pk for p in shown]
    appointments = list(
        Appointment.objects.with_related()
        .filter(starts_at__gte=lo, starts_at__lt=hi, practitioner_id__in=shown_ids)
        .order_by("starts_at", "practitioner__name")
    )
    if not request.GET.get("cancelled"):
        appointments = [a for a in appointments if a.status != Appointment.Status.CANCELLED]
    absences, ranges, extras = _agenda_rows(shown_ids, days, tz, selected)
    by_pk = {p.pk: p for p in practitioners}
    for d in days:
        for t in absences[d].time_off:
            if t.practitioner_id in by_pk:
                t.practitioner = by_pk[t.practitioner_id]  # named without a query each
    for appointment in appointments:
        off = absences.get(appointment.starts_at.astimezone(tz).date())
        # Still booked inside a closure or the vet's time off: staff must move or cancel it.
        appointment.to_move = bool(off) and off.covers(appointment, tz)
    time_off = [
        engine.TimeOff(t.practitioner_id, t.start, t.end)
        for d in days
        for t in absences[d].time_off
        if t.practitioner_id in shown_ids
    ]
    closed_days = {d for d in days if absences[d].closures}
    moving = None
    raw_move = request.GET.get("move") or ""
    if raw_move.isdigit():
        moving = (
            Appointment.objects.select_related("patient", "service")
            .filter(pk=int(raw_move), status=Appointment.Status.BOOKED)
            .first()
        )
        if moving is None:
            messages.error(
                request, _("This appointment can no longer be moved: it is cancelled or marked.")
            )
    if view == "week" and selected is not None:
        grid = agenda_grid.build_week(
            days,
            tz=tz,
            practitioner_id=selected.pk,
            ranges=ranges,
            extras=extras,
            closed_days=closed_days,
            time_off=time_off,
            appointments=appointments,
            now=now,
            moving=moving.pk if moving else None,
        )
    else:
        grid = agenda_grid.build_day(
            day,
            tz=tz,
            practitioners=[(p.pk, p.name) for p in shown],
            ranges=ranges,
            extras=extras,
            closed=day in closed_days,
            time_off=time_off,
            appointments=appointments,
            now=now,
            moving=moving.pk if moving else None,
        )
    # The waiting room (who has arrived) belongs to today's day view.
    waiting = None
    if view == "day" and day == today and hasattr(services, "waiting_room"):
        waiting = services.waiting_room(day, tz, now=now, site_id=site.pk if site else None)
    step = timedelta(days=7 if view == "week" else 1)
    params: dict = {"view": view, "day": day.isoformat()}
    if selected is not None and (view == "day" or raw):
        params["practitioner"] = selected.pk
    if site is not None:
        params["site"] = site.pk
    if request.GET.get("cancelled"):
        params["cancelled"] = "1"
    if moving is not None:
        params["move"] = moving.pk
    may_book = has_duty(request.user, "appointments")
    if moving is not None:
        cell_url = reverse("booking:staff_move", args=[moving.pk])
    else:
        cell_url = reverse("booking:staff_book")
    if may_book:
        # A free cell books there (the time and the vet preset), or in move mode moves there;
        # the confirm page re-checks the slot against the rules before anything is written.
        grid.cells = [
            replace(
                cell,
                url=f"{cell_url}?"
                + urlencode(
                    {
                        "start": int(cell.start.timestamp()),
                        "practitioner": grid.columns[cell.column - 1].practitioner_id,
                    }
                ),
            )
            if cell.free
            else cell
            for cell in grid.cells
        ]
    context = {
        "view": view,
        "day": day,
        "days": days,
        "today": today,
        "grid": grid,
        "absences": [(d, absences[d]) for d in days],
        # A time off over several days is named once.
        "time_off_notes": list({t.pk: t for d in days for t in absences[d].time_off}.values()),
        "appointments": appointments,
        "columns": [
            (column, by_pk.get(column.practitioner_id), grid.blocks_in(column.index))
            for column in grid.columns
        ],
        "may_enter_absences": _may_enter_absences(request.user),
        "may_book": may_book,
        "practitioners": practitioners,
        "sites": sites if len(sites) > 1 else [],
        "site": site,
        "selected": selected,
        "moving": moving,
        "waiting": waiting or [],
        "show_waiting": waiting is not None,
        "printing": bool(request.GET.get("print")),
        "self_url": _agenda_url(params),
        "print_url": _agenda_url(params, print="1"),
        "cancelled_url": _agenda_url(params, cancelled=None if params.get("cancelled") else "1"),
        "end_move_url": _agenda_url(params, move=None),
        "prev_url": _agenda_url(params, day=(day - step).isoformat()),
        "next_url": _agenda_url(params, day=(day + step).isoformat()),
        "today_url": _agenda_url(params, day=None),
        "day_view_url": _agenda_url(params, view="day"),
        "week_view_url": _agenda_url(params, view="week"),
        "agenda_days": " ".join(d.isoformat() for d in days),
    }
    template = "booking/staff/agenda.html#agenda" if request.htmx else "booking/staff/agenda.html"
    return render(request, template, context)


def _may_enter_absences(user) -> bool:
    """Whether the agenda links to the hours page (no query: the page itself checks)."""
    if user.role == "manager":
        return True
    rules = BookingRules.current()
    if user.role == "reception":
        return rules.team_enters_time_off or rules.reception_enters_closures
    return user.role == "vet" and rules.team_enters_time_off


def _appointment_page(
    request: HttpRequest, appointment: Appointment, *, cancel_form=None, status: int = 200
) -> HttpResponse:
    # The status actions (booking/staff/_status_actions.html) work out the marks to offer.
    return render(
        request,
        "booking/staff/appointment.html",
        {"appointment": appointment, "cancel_form": cancel_form or StaffCancelForm()},
        status=status,
    )


@staff_required
@require_GET
def staff_appointment(request: HttpRequest, pk: int) -> HttpResponse:
    return _appointment_page(request, appointment_for_staff(pk))


def _shown_version(request: HttpRequest) -> int | None:
    """The appointment's version the page showed (its forms carry it), if it said."""
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@duty_required("appointments")
@require_POST
def staff_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = appointment_for_staff(pk)
    form = StaffCancelForm(request.POST)
    if form.is_valid():
        try:
            services.cancel(
                appointment,
                by_user=request.user,
                by_clinic=True,
                reason=form.cleaned_data["reason"],
                version=_shown_version(request),
            )
        except services.BookingError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The appointment is cancelled; the client is told."))
        return redirect("booking:staff_appointment", pk=pk)
    return _appointment_page(request, appointment, cancel_form=form, status=400)


@duty_required("appointments")
@require_POST
def staff_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    """Attended / no-show from the appointment's day on, once; "booked" undoes a mark."""
    appointment = appointment_for_staff(pk)
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        raise Http404
    wanted = form.cleaned_data["status"]
    error = ""
    try:
        appointment = services.mark_outcome(appointment, status=wanted, by_user=request.user)
    except services.BookingError as refused:
        # The buttons are not offered on a marked or future row: a post like this is stale
        # (a colleague marked it meanwhile) or tampered; the service decides under the lock.
        error = str(refused)
        appointment.refresh_from_db()
    if request.htmx:
        tz = Clinic.current().tz
        day = appointment.starts_at.astimezone(tz).date()
        off = closures.absences_by_day([day], tz)[day]
        appointment.to_move = bool(off) and off.covers(appointment, tz)
        context = {
            "appointment": appointment,
            "d": day,
            "today": timezone.now().astimezone(tz).date(),
            "outcome_error": error,
        }
        return render(request, "booking/staff/agenda.html#row", context)
    if error:
        messages.error(request, error)
    return redirect("booking:staff_appointment", pk=pk)


@duty_required("appointments")
@require_POST
def staff_mark(request: HttpRequest, pk: int) -> HttpResponse:
    """Arrived, in consultation, attended, no-show, or an undo, for the version the page showed.

    htmx gets the status actions again, fresh, with the refusal if any (a stale page: "changed
    meanwhile", and the current state); a plain form goes back to the appointment's page.
    """
    appointment = appointment_for_staff(pk)
    form = MarkForm(request.POST)
    error = ""
    if not form.is_valid():
        error = _("This mark is not possible: nothing was changed.")
    else:
        try:
            appointment = services.apply_mark(
                appointment,
                mark=form.cleaned_data["mark"],
                version=form.cleaned_data["version"],
                by_user=request.user,
            )
        except services.Stale as stale:
            error, appointment = str(stale), stale.appointment
        except services.BookingError as refused:
            error = str(refused)
            appointment.refresh_from_db()
    if request.htmx:
        context = {"appointment": appointment, "mark_error": error}
        return render(request, "booking/staff/_status_actions.html", context)
    if error:
        messages.error(request, error)
    return redirect("booking:staff_appointment", pk=pk)


def _staff_pick(
    request: HttpRequest,
    *,
    client: Client,
    patients: list[Patient],
    page_url: str,
    pick_url: str,
    extra_params: dict[str, str],
    service: Service | None = None,
    exclude_appointment: int | None = None,
) -> dict:
    form, sites, site = _choose_form(request, patients, online=False, client=client)
    context: dict = {"form": form, "sites": sites, "site": site, "patients": patients}
    if service is not None:
        practitioner = None
        raw = request.GET.get("practitioner") or ""
        if raw:
            practitioner = (
                Practitioner.objects.active().filter(pk=int(raw) if raw.isdigit() else 0).first()
            )
        scope = slot_reader.Scope.of(service, practitioner)
        params = dict(extra_params)
        if practitioner is not None:
            params["practitioner"] = str(practitioner.pk)
        context.update(
            _availability(
                request,
                scope,
                online=False,
                base_params=params,
                page_url=page_url,
                pick_url=pick_url,
                exclude_appointment=exclude_appointment,
            )
        )
    elif patients and form.is_valid():
        scope = slot_reader.Scope.of(
            form.cleaned_data["service"], form.cleaned_data.get("practitioner")
        )
        context.update(
            _availability(
                request,
                scope,
                online=False,
                base_params={**extra_params, **_pick_context(form, site)},
                page_url=page_url,
                pick_url=pick_url,
            )
        )
    return context


@dataclass(frozen=True)
class Preset:
    """A time (and a vet) chosen on the agenda grid, carried through finding the client and
    choosing the animal and service; the confirm page checks it is still free."""

    start: datetime
    practitioner: Practitioner | None

    @property
    def stamp(self) -> int:
        return int(self.start.timestamp())

    @property
    def query(self) -> str:
        params = {"start": self.stamp}
        if self.practitioner is not None:
            params["practitioner"] = self.practitioner.pk
        return urlencode(params)


def _preset(data) -> Preset | None:
    raw = data.get("start") or ""
    if not raw.isdigit():
        return None
    try:
        start = datetime.fromtimestamp(int(raw), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    raw_practitioner = data.get("practitioner") or ""
    practitioner = (
        Practitioner.objects.active()
        .select_related("site")
        .filter(pk=int(raw_practitioner))
        .first()
        if raw_practitioner.isdigit()
        else None
    )
    return Preset(start, practitioner)


def _preset_form(request: HttpRequest, patients: list[Patient], preset: Preset) -> ChooseForm:
    """The animal and the service for a preset time: the vet's own services only."""
    services_qs = Service.objects.active()
    if preset.practitioner is not None:
        services_qs = services_qs.filter(practitioners=preset.practitioner)
    first_service = services_qs.first()
    data = {
        "patient": request.GET.get("patient") or (patients[0].pk if patients else ""),
        "service": request.GET.get("service") or (first_service.slug if first_service else ""),
    }
    return ChooseForm(
        data,
        patients=Patient.objects.filter(pk__in=[p.pk for p in patients]),
        services=services_qs,
        practitioners=Practitioner.objects.active(),
    )


@duty_required("appointments")
@require_http_methods(["GET", "POST"])
def staff_book(request: HttpRequest) -> HttpResponse:
    """Book for a client on the phone: find the client, then as a client would, with the
    phone-only hours open too. From the agenda grid the time (and the vet) come preset
    (``start``, ``practitioner``): they ride along until the confirm page."""
    raw_client = request.GET.get("client") or request.POST.get("client") or ""
    if not raw_client:
        query = request.GET.get("q", "")
        found = Client.objects.search(query)[:20] if query else []
        context = {"q": query, "found": found, "preset": _preset(request.GET)}
        return render(request, "booking/staff/book_find.html", context)
    if not raw_client.isdigit():
        raise Http404
    client = client_for_staff(int(raw_client))
    data = request.POST if request.method == "POST" else request.GET
    patient = _patient_of(client, data.get("patient"))
    if request.method == "POST" or (data.get("start") and data.get("service")):
        return _staff_confirm(request, client, data)
    patients = list(Patient.objects.of_client(client).order_by("name", "pk"))
    if patient is not None:
        patients.sort(key=lambda p: p.pk != patient.pk)
    preset = _preset(request.GET)
    if preset is not None:
        context = {
            "client": client,
            "patients": patients,
            "preset": preset,
            "form": _preset_form(request, patients, preset),
        }
        return render(request, "booking/staff/book.html", context)
    context = _staff_pick(
        request,
        client=client,
        patients=patients,
        page_url=reverse("booking:staff_book"),
        pick_url=reverse("booking:staff_book"),
        extra_params={"client": str(client.pk)},
    )
    context["client"] = client
    template = "booking/staff/book.html#availability" if request.htmx else "booking/staff/book.html"
    return render(request, template, context)


def _staff_confirm(request: HttpRequest, client: Client, data) -> HttpResponse:
    patient = _patient_of(client, data.get("patient"))
    service = Service.objects.active().filter(slug=data.get("service") or "").first()
    if patient is None or service is None:
        raise Http404
    practitioner = None
    raw = data.get("practitioner") or ""
    if raw:
        practitioner = (
            Practitioner.objects.active()
            .filter(pk=int(raw) if raw.isdigit() else 0, services=service)
            .first()
        )
        if practitioner is None:
            raise Http404
    form = ConfirmForm(
        data
        if request.method == "POST"
        else {"start": data.get("start"), "request_key": secrets.token_urlsafe(16)}
    )
    if not form.is_valid() and request.method == "GET":
        raise Http404
    taken = None
    if request.method == "GET":
        # A time preset on the agenda may be taken or outside the rules by now: say so here,
        # before the button, rather than after it.
        try:
            services.check_booking(
                client=client,
                patient=patient,
                service=service,
                starts_at=form.cleaned_data["start"],
                practitioner=practitioner,
                online=False,
            )
        except services.SlotTaken as error:
            taken = error
        except services.BookingError as error:
            form.add_error(None, str(error))
    if request.method == "POST" and form.is_valid():
        try:
            result = services.book(
                client=client,
                patient=patient,
                service=service,
                starts_at=form.cleaned_data["start"],
                practitioner=practitioner,
                booked_by=request.user,
                online=False,
                reason=form.cleaned_data["reason"],
                request_key=form.cleaned_data["request_key"] or None,
            )
        except services.SlotTaken as error:
            taken = error
        except services.BookingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Appointment booked."))
            day = result.appointment.starts_at.astimezone(Clinic.current().tz).date()
            return redirect(f"{reverse('booking:agenda')}?day={day.isoformat()}")
    start = form.cleaned_data.get("start") if hasattr(form, "cleaned_data") else None
    params = {"client": client.pk, "patient": patient.pk, "service": service.slug}
    if practitioner is not None:
        params["practitioner"] = practitioner.pk
    alternatives = [
        SlotLink(s.start, _with_start(reverse("booking:staff_book"), params, s.start))
        for s in (taken.alternatives if taken else [])
    ]
    return render(
        request,
        "booking/staff/book_confirm.html",
        {
            "alternatives": alternatives,
            "form": form,
            "client": client,
            "patient": patient,
            "service": service,
            "practitioner": practitioner,
            "start": start,
            "end": start + service.duration if start else None,
            "taken": taken,
        },
        status=409 if taken else 200,
    )


@duty_required("appointments")
@require_http_methods(["GET", "POST"])
def staff_move(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = appointment_for_staff(pk)
    page_url = reverse("booking:staff_move", args=[pk])
    if request.method == "POST" or request.GET.get("start"):
        form = MoveForm(request.POST if request.method == "POST" else request.GET)
        if not form.is_valid():
            raise Http404
        raw = (request.POST if request.method == "POST" else request.GET).get("practitioner", "")
        practitioner = (
            Practitioner.objects.active().filter(pk=int(raw)).first() if raw.isdigit() else None
        )
        taken = None
        if request.method == "POST":
            try:
                services.move(
                    appointment,
                    starts_at=form.cleaned_data["start"],
                    practitioner=practitioner,
                    by_user=request.user,
                    by_clinic=True,
                    version=_shown_version(request),
                )
            except services.Unchanged as error:  # posted twice, or to its own time
                messages.info(request, str(error))
                return redirect("booking:staff_appointment", pk=pk)
            except services.Stale as error:  # a colleague moved or marked it meanwhile
                messages.error(request, str(error))
                return redirect("booking:staff_appointment", pk=pk)
            except services.SlotTaken as error:
                taken = error
            except services.BookingError as error:
                messages.error(request, str(error))
                return redirect(page_url)
            else:
                messages.success(request, _("The appointment is moved; the client is told."))
                return redirect("booking:staff_appointment", pk=pk)
        start = form.cleaned_data["start"]
        return render(
            request,
            "booking/staff/move_confirm.html",
            {
                "appointment": appointment,
                "start": start,
                "end": start + appointment.service.duration,
                "taken": taken,
                "practitioner": practitioner,
                "back_url": page_url,
            },
            status=409 if taken else 200,
        )
    params = {}
    practitioner_raw = request.GET.get("practitioner") or str(appointment.practitioner_id)
    params["practitioner"] = practitioner_raw
    practitioner = (
        Practitioner.objects.active().filter(pk=int(practitioner_raw)).first()
        if practitioner_raw.isdigit()
        else None
    )
    scope = slot_reader.Scope.of(appointment.service, practitioner)
    context = {
        "appointment": appointment,
        "practitioners": Practitioner.objects.active().filter(services=appointment.service),
        "chosen": practitioner,
    }
    context.update(
        _availability(
            request,
            scope,
            online=False,
            base_params=params,
            page_url=page_url,
            pick_url=page_url,
            exclude_appointment=appointment.pk,
        )
    )
    template = "booking/staff/move.html#availability" if request.htmx else "booking/staff/move.html"
    return render(request, template, context)


# --- staff: hours, closures, time off, rules, feeds ----------------------------------------------


_HOUR_FORMS = {
    "weekly": (WeeklyHoursForm, WeeklyHours),
    "extra": (ExtraOpeningForm, ExtraOpening),
    "closure": (ClosureForm, Closure),
    "timeoff": (TimeOffForm, TimeOff),
}


_ABSENCES = {"closure": Closure, "timeoff": TimeOff}


def _hour_forms(rights: closures.Rights, data=None, only: str | None = None) -> dict:
    """The forms this person may use, unbound (or ``only`` one bound to ``data``)."""
    forms: dict = {}
    for name, (form_class, _model) in _HOUR_FORMS.items():
        if name in ("weekly", "extra") and not rights.hours:
            continue
        if name == "closure" and not rights.closures:
            continue
        if name == "timeoff" and not rights.time_off_for:
            continue
        bound = data if name == only else None
        if name == "timeoff":
            allowed = Practitioner.objects.filter(pk__in=rights.time_off_for)
            forms[name] = TimeOffEntryForm(bound, prefix=name, practitioners=allowed)
        else:
            forms[name] = form_class(bound, prefix=name)
        if "practitioner" in forms[name].fields:
            # The model's foreign key has no translated name of its own.
            forms[name].fields["practitioner"].label = _("Practitioner")
    return forms


def _absences_denied(request: HttpRequest, *, what: str = "") -> HttpResponse:
    """403 with who to ask: the manager decides on the booking rules page."""
    return render(request, "booking/staff/absences_denied.html", {"what": what}, status=403)


@duty_required("appointments")
@require_http_methods(["GET", "POST"])
def hours(request: HttpRequest) -> HttpResponse:
    """Weekly hours per practitioner, extra openings, closures and time off on one page.

    The manager sees it all; reception and vets see the closures and time off the booking
    rules let them enter (vets: their own time off). A closure or time off over booked
    appointments is not saved before staff have seen them listed and chosen what to do.
    """
    rules = BookingRules.current()
    rights = closures.rights_of(request.user, rules)
    kind = request.POST.get("kind", "")
    if not rights.any:
        return _absences_denied(request, what=kind if kind in _HOUR_FORMS else "")
    forms = _hour_forms(rights)
    if request.method == "POST":
        if kind not in _HOUR_FORMS:
            raise Http404
        if kind not in forms:
            return _absences_denied(request, what=kind)
        _form_class, model = _HOUR_FORMS[kind]
        if "delete" in request.POST:
            raw = request.POST.get("delete", "")
            found = model.objects.filter(pk=int(raw) if raw.isdigit() else 0).first()
            if found is None:
                raise Http404
            if kind in _ABSENCES and not rights.may_edit(found):
                return _absences_denied(request, what=kind)
            found.delete()
            slot_reader.invalidate()
            if kind in _ABSENCES:
                events.agenda_days_changed(closures.days_of(found))  # its shading goes
            messages.success(request, _("Removed."))
            return redirect("booking:hours")
        form = _hour_forms(rights, request.POST, only=kind)[kind]
        if form.is_valid():
            if kind in _ABSENCES:
                return _enter_absence(request, form, kind)
            form.save()
            slot_reader.invalidate()
            messages.success(request, _("Saved."))
            return redirect("booking:hours")
        forms[kind] = form
    practitioners = (
        Practitioner.objects.active().prefetch_related("weekly_hours") if rights.hours else []
    )
    tz = Clinic.current().tz
    today = timezone.now().astimezone(tz).date()
    time_off = TimeOff.objects.filter(end__gte=timezone.now()).select_related("practitioner")
    if not rights.hours:
        time_off = time_off.filter(practitioner_id__in=rights.time_off_for)
    return render(
        request,
        "booking/staff/hours.html",
        {
            "forms": forms,
            "rights": rights,
            "practitioners": practitioners,
            "closures": Closure.objects.filter(end__gte=today),
            "extras": ExtraOpening.objects.filter(date__gte=today).select_related("practitioner")
            if rights.hours
            else [],
            "time_off": time_off,
        },
        status=400 if request.method == "POST" else 200,
    )


def _enter_absence(request: HttpRequest, form, kind: str) -> HttpResponse:
    """Save a valid closure or time off, after listing the booked appointments it covers.

    First post: when appointments are affected nothing is saved; the confirm step lists them
    (client, animal, time) with a link to move each. Second post (``then``): save, and cancel
    the listed ones when asked ("keep" leaves them booked, flagged "to move" in the agenda).
    """
    absence = form.save(commit=False)
    listed = list(closures.affected(absence))
    then = request.POST.get("then", "")
    if listed and then not in ("cancel", "keep"):
        return render(
            request,
            "booking/staff/absence_confirm.html",
            {
                "form": form,
                "kind": kind,
                "absence": absence,
                "appointments": listed,
                "reason": closures.default_reason(absence),
            },
        )
    ids = request.POST.getlist("appointment") if then == "cancel" else []
    entered = closures.enter(
        absence, cancel_ids=[int(i) for i in ids if i.isdigit()], by_user=request.user
    )
    if entered.cancelled:
        messages.success(
            request,
            ngettext(
                "Saved. %(count)d appointment is cancelled; the client is told.",
                "Saved. %(count)d appointments are cancelled; the clients are told.",
                len(entered.cancelled),
            )
            % {"count": len(entered.cancelled)},
        )
    else:
        messages.success(request, _("Saved."))
    if entered.still_booked:
        return redirect("booking:absence", kind=kind, pk=absence.pk)
    return redirect("booking:hours")


@duty_required("appointments")
@require_http_methods(["GET", "POST"])
def absence(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """A saved closure or time off and the appointments still booked inside it: move each
    (the staff move page) or cancel them all, the clients told."""
    model = _ABSENCES.get(kind)
    found = model.objects.filter(pk=pk).first() if model is not None else None
    if found is None:
        raise Http404
    if not closures.rights_of(request.user).may_edit(found):
        return _absences_denied(request, what=kind)
    if request.method == "POST":
        ids = [int(i) for i in request.POST.getlist("appointment") if i.isdigit()]
        done = closures.cancel_affected(found, by_user=request.user, ids=ids)
        messages.success(
            request,
            ngettext(
                "%(count)d appointment is cancelled; the client is told.",
                "%(count)d appointments are cancelled; the clients are told.",
                len(done),
            )
            % {"count": len(done)},
        )
        return redirect("booking:absence", kind=kind, pk=pk)
    return render(
        request,
        "booking/staff/absence.html",
        {
            "absence": found,
            "kind": kind,
            "appointments": list(closures.affected(found)),
            "reason": closures.default_reason(found),
        },
    )


@manager_required
@require_http_methods(["GET", "POST"])
def rules(request: HttpRequest) -> HttpResponse:
    current = BookingRules.current()
    current = BookingRules.objects.get(pk=current.pk)
    form = TeamRulesForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        form.save()
        slot_reader.invalidate()
        messages.success(request, _("The booking rules are saved."))
        return redirect("booking:rules")
    return render(request, "booking/staff/rules.html", {"form": form})


@manager_required
@require_http_methods(["GET", "POST"])
def services_page(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Services: duration, buffer, who performs them, online or phone only, species."""
    instance = None
    if pk is not None:
        instance = Service.objects.filter(pk=pk).first()
        if instance is None:
            raise Http404
    form = ServiceForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        slot_reader.invalidate()
        messages.success(request, _("Saved."))
        return redirect("booking:services")
    listed = Service.objects.select_related("site").prefetch_related("practitioners")
    return render(
        request,
        "booking/staff/services.html",
        {"form": form, "services": listed, "editing": instance},
        status=400 if request.method == "POST" else 200,
    )


def feed_for(user, raw: str, *, revoking: bool) -> CalendarFeed:
    """A feed this person may act on, else 404: their own practitioner's; any feed for the
    manager, but only to revoke it (offboarding)."""
    feeds = CalendarFeed.objects.select_related("practitioner").filter(revoked_at=None)
    if not (revoking and user.role == "manager"):
        feeds = feeds.filter(practitioner__user=user)
    found = feeds.filter(pk=int(raw) if raw.isdigit() else 0).first()
    if found is None:
        raise Http404
    return found


@staff_required
@require_http_methods(["GET", "POST"])
def feeds(request: HttpRequest) -> HttpResponse:
    """A practitioner's private calendar feed, made, renewed and revoked by that practitioner.

    Nobody makes a feed for someone else: the address is a secret its holder answers for, and
    the choice of showing animal names in a phone's calendar is theirs. The manager may revoke
    any feed (someone leaving), reception none.
    """
    user = request.user
    own = Practitioner.objects.filter(user=user, is_active=True).first()
    new_url = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "issue":
            if own is None:
                raise PermissionDenied
            _feed, token = CalendarFeed.issue(
                own, by=user, include_names=request.POST.get("include_names") == "on"
            )
            new_url = request.build_absolute_uri(reverse("booking:feed", args=[token]))
            messages.success(request, _("New feed address made; the old one no longer works."))
        elif action in ("renew", "revoke"):
            found = feed_for(user, request.POST.get("feed", ""), revoking=action == "revoke")
            if action == "renew":
                _feed, token = found.renew(by=user)
                new_url = request.build_absolute_uri(reverse("booking:feed", args=[token]))
                messages.success(request, _("Feed renewed: use the new address below."))
            else:
                found.revoke()
                messages.success(request, _("Feed revoked."))
        else:
            raise Http404
    now = timezone.now()
    mine = own.feeds.filter(revoked_at=None).select_related("created_by") if own else []
    others = []
    if user.role == "manager":
        others = (
            CalendarFeed.objects.filter(revoked_at=None)
            .exclude(practitioner=own)
            .select_related("practitioner", "created_by")
            .order_by("practitioner__name", "-created_at")
        )
    return render(
        request,
        "booking/staff/feeds.html",
        {
            "own": own,
            "mine": mine,
            "others": others,
            "now": now,
            "new_url": new_url,
            "days": feed_days(),
        },
    )


@login_not_required  # public: the secret token is the credential (calendars cannot sign in)
@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    from booking import ics

    found = CalendarFeed.by_token(token)
    if found is None:
        # Never the token itself in the log: it is a credential.
        log_access(
            request, action=AccessLog.Action.DENIED, object_type="calendar_feed", object_id=""
        )
        raise Http404
    log_access(
        request,
        action=AccessLog.Action.VIEW,
        object_type="calendar_feed",
        object_id=found.pk,
        user=found.practitioner.user,
    )
    now = timezone.now()
    appointments = (
        Appointment.objects.with_related()
        .filter(practitioner=found.practitioner, starts_at__gte=now - timedelta(days=30))
        .order_by("starts_at")[:2000]
    )
    # Minimal data in the feed: a phone calendar is not the place for health details, nor for
    # the animal's name unless the practitioner chose so when making the feed.
    events = []
    for appointment in appointments:
        event = ics_event(appointment, now=now)
        if not found.include_names:
            event = replace(event, summary=appointment.service.name)
        events.append(event)
    body = ics.calendar(events, name=found.practitioner.name)
    return HttpResponse(body, content_type="text/calendar; charset=utf-8")
