"""A newcomer books a first visit: service → day → time (held), account and animal, phone code,
booked. Nobody is signed in at first: every view here is public, and what carries the person
from one step to the next is their session (the hold's token, then their new account).

A hold keeps the slot BOOKING_HOLD_MINUTES; if it lapses, the person is told and chooses a time
again, with what they typed kept. Someone whose e-mail or mobile number is already on a client
record the clinic keeps is linked to it only after typing a code sent to that record's own
phone or address (`link`); never silently.
"""

import logging
from datetime import date, datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from booking import services as booking
from booking import slots as slot_reader
from booking.models import BookingRules, Service
from notifications import codes
from notifications import services as notifications
from notifications.models import Channel, PreferenceChange
from onboarding.forms import CodeForm, NewcomerForm
from portal.access import client_required, is_staff
from portal.accounts import POSSIBLE_RECORD_SESSION_KEY, known_record
from portal.lib.mail import masked_address
from portal.lib.net import client_ip
from portal.models import Client, Clinic, Role, User
from records import services as records
from records.forms import IDENTIFICATION_TAKEN, OwnerPatientForm
from records.models import Patient

log = logging.getLogger(__name__)

SESSION = "onboarding"
DAYS_SHOWN = 14
HOLDS_PER_ADDRESS = 10  # per hour: a stranger cannot keep the agenda full of holds


def _state(request: HttpRequest) -> dict:
    return dict(request.session.get(SESSION) or {})


def _save(request: HttpRequest, state: dict) -> None:
    request.session[SESSION] = state


def _services():
    return Service.objects.online().filter(new_clients_allowed=True)


def _signed_in_client(request: HttpRequest) -> bool:
    return request.user.is_authenticated and not is_staff(request.user)


# --- 1. The service, the day, the time ------------------------------------------------------------


@login_not_required  # public: the first step of a newcomer's booking, nothing personal
@require_http_methods(["GET"])
def start(request: HttpRequest) -> HttpResponse:
    if is_staff(request.user):
        return redirect("booking:staff_book")
    services = list(_services())
    if len(services) == 1:
        return redirect("onboarding:day", slug=services[0].slug)
    return render(request, "onboarding/start.html", {"services": services})


@login_not_required  # public: free times of a service, nothing personal
@require_http_methods(["GET"])
def day(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(_services(), slug=slug)
    clinic = Clinic.current()
    tz = clinic.tz
    now = timezone.now()
    today = now.astimezone(tz).date()
    rules = BookingRules.current()
    scope = slot_reader.Scope.of(service, first_visit=True)
    last = today + timedelta(days=DAYS_SHOWN - 1)
    free = slot_reader.free_days(
        scope, start_day=today, end_day=last, tz=tz, now=now, online=True, rules=rules
    )
    chosen = _day_param(request, today, last) or (min(free) if free else None)
    slots = []
    if chosen is not None:
        slots = slot_reader.free_slots(
            scope, start_day=chosen, end_day=chosen, tz=tz, now=now, online=True, rules=rules
        )
    cells = [
        {"day": today + timedelta(days=i), "free": today + timedelta(days=i) in free}
        for i in range(DAYS_SHOWN)
    ]
    context = {
        "service": service,
        "duration": int(scope.duration.total_seconds() // 60),
        "cells": cells,
        "day": chosen,
        "slots": [slot.start for slot in slots],
        "hold_minutes": settings.BOOKING_HOLD_MINUTES,
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "onboarding/day.html#times", context)
    return render(request, "onboarding/day.html", context)


def _day_param(request: HttpRequest, first: date, last: date) -> date | None:
    try:
        value = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return None
    return value if first <= value <= last else None


@login_not_required  # public: holds a free time for this browser's session only
@require_POST
def hold(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(_services(), slug=slug)
    back = reverse("onboarding:day", args=[slug])
    try:
        starts_at = datetime.fromisoformat(request.POST.get("starts_at", ""))
        if starts_at.tzinfo is None:
            raise ValueError
    except ValueError:
        messages.error(request, _("Choose a time in the list."))
        return redirect(back)
    if not _hold_allowed(request):
        messages.error(request, _("Too many times held from here: call the clinic to book."))
        return redirect(back)
    state = _state(request)
    try:
        held = booking.hold_slot(
            service=service, starts_at=starts_at, replaces=state.get("hold", "")
        )
    except booking.BookingError as refused:
        messages.error(request, str(refused))
        day_param = starts_at.astimezone(Clinic.current().tz).date().isoformat()
        return redirect(f"{back}?day={day_param}")
    state.update(hold=held.token, slug=slug, starts_at=starts_at.isoformat())
    _save(request, state)
    return redirect("onboarding:account")


def _hold_allowed(request: HttpRequest) -> bool:
    key = f"onboarding:holds:{client_ip(request)}:{timezone.now():%Y%m%d%H}"
    cache.add(key, 0, 3600)
    try:
        return cache.incr(key) <= HOLDS_PER_ADDRESS
    except ValueError:  # the cache is away: let the person book
        return True


def _live_hold(request: HttpRequest, state: dict):
    """The session's hold while it still holds, else None (and the person is told)."""
    held = booking.hold_of(state.get("hold", ""))
    if held is None and state.get("hold"):
        messages.warning(
            request,
            _(
                "The time you chose was kept for %(minutes)s minutes and is free again: choose "
                "a time again (what you typed is kept)."
            )
            % {"minutes": settings.BOOKING_HOLD_MINUTES},
        )
    return held


# --- 2. The account and the animal ----------------------------------------------------------------


@login_not_required  # public: the credential is the hold in this browser's session
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    held = _live_hold(request, state)
    if held is None:
        return redirect(_back_to_times(state))
    if is_staff(request.user):
        raise Http404
    signed_in = _signed_in_client(request)
    client = request.user.client if signed_in else None
    person_form = None if signed_in else NewcomerForm(request.POST or None, prefix="me")
    existing = list(Patient.objects.of_client(client)) if client else []
    chosen_pk = request.POST.get("patient", "") if request.method == "POST" else ""
    declaring = not existing or chosen_pk == "new"
    animal_form = OwnerPatientForm(
        (request.POST or None) if declaring else None,
        (request.FILES or None) if declaring else None,
        prefix="animal",
        client=client,
    )
    if request.method == "POST":
        forms_ok = (person_form is None or person_form.is_valid()) and (
            not declaring or animal_form.is_valid()
        )
        patient = None
        if not declaring:
            patient = next((p for p in existing if str(p.pk) == chosen_pk), None)
            forms_ok = forms_ok and patient is not None
        if forms_ok and signed_in:
            if patient is None:
                patient = _declare(request, client, animal_form)
            if patient is not None:
                return _book(request, state, held, client, patient)
        elif forms_ok:
            match = _known_record(person_form.cleaned_data)
            if match is not None:
                return _ask_to_link(request, state, person_form, animal_form, match)
            return _create_and_verify(request, state, person_form, animal_form, client=None)
    return render(
        request,
        "onboarding/account.html",
        {
            "held": held,
            "person_form": person_form,
            "animal_form": animal_form,
            "existing": existing,
            "chosen": chosen_pk,
        },
        status=400 if request.method == "POST" else 200,
    )


def _back_to_times(state: dict) -> str:
    slug = state.get("slug")
    if slug and _services().filter(slug=slug).exists():
        return reverse("onboarding:day", args=[slug])
    return reverse("onboarding:start")


def _known_record(data: dict) -> Client | None:
    return known_record(data["email"], data["phone"])


def _declare(request: HttpRequest, client: Client, form: OwnerPatientForm) -> Patient | None:
    try:
        return records.declare_patient(
            client=client, data=form.cleaned_data, photo=form.new_photo, by=request.user
        )
    except records.IdentificationTaken:
        form.add_error("microchip", IDENTIFICATION_TAKEN)
        return None


def _create_and_verify(
    request: HttpRequest,
    state: dict,
    person_form: NewcomerForm,
    animal_form: OwnerPatientForm,
    *,
    client: Client | None,
    phone_proven: bool = False,
) -> HttpResponse:
    """The account (and its client record, or the known one it proved), the animal, signed in;
    then the code to the mobile (unless the proof already came by that very number)."""
    data = person_form.cleaned_data
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                data["email"],
                None,
                role=Role.CLIENT,
                first_name=data["first_name"],
                last_name=data["last_name"],
            )
            # From the link step the password comes hashed (it waited in the session).
            user.password = data.get("password_hash") or make_password(data["password"])
            user.save(update_fields=["password"])
            address = EmailAddress.objects.create(
                user=user, email=data["email"], primary=True, verified=False
            )
            if client is None:
                client = Client(email=data["email"])
            client.user = user
            client.first_name = client.first_name or data["first_name"]
            client.last_name = client.last_name or data["last_name"]
            client.email = data["email"]
            client.phone = data["phone"]
            client.preferred_language = request.LANGUAGE_CODE[:2]
            client.save()
            patient = records.declare_patient(
                client=client, data=animal_form.cleaned_data, photo=animal_form.new_photo, by=user
            )
    except records.IdentificationTaken:
        if isinstance(animal_form, _Filled):  # from the link step: the form is gone
            messages.error(request, IDENTIFICATION_TAKEN)
            return redirect("onboarding:account")
        animal_form.add_error("microchip", IDENTIFICATION_TAKEN)
        return render(
            request,
            "onboarding/account.html",
            {
                "held": booking.hold_of(state.get("hold", "")),
                "person_form": person_form,
                "animal_form": animal_form,
                "existing": [],
                "chosen": "",
            },
            status=400,
        )
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    state["patient"] = patient.pk
    _save(request, state)
    # The e-mail is confirmed later, from the link this sends (the mobile is checked now).
    address.send_confirmation(request, signup=True)
    if phone_proven:
        # The code that proved the record went to this very number: it is checked.
        notifications.change_preferences(
            client=client, by=user, how=PreferenceChange.How.CLIENT_PAGE, phone_verified=True
        )
        return _book(request, state, booking.hold_of(state["hold"]), client, patient)
    return _send_phone_code(request, client, then="onboarding:verify")


def _send_phone_code(request: HttpRequest, client: Client, *, then: str) -> HttpResponse:
    try:
        codes.send_phone_code(client=client)
    except codes.CodeError as error:
        messages.warning(request, str(error))
    return redirect(then)


# --- 3. The mobile's code, then the booking -------------------------------------------------------


@login_not_required  # the account was just made and signed in; a stranger is sent to the start
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    if not _signed_in_client(request) or not state.get("patient"):
        return redirect("onboarding:start")
    client = request.user.client
    form = CodeForm(request.POST or None)
    if request.method == "POST" and request.POST.get("resend"):
        return _send_phone_code(request, client, then="onboarding:verify")
    if request.method == "POST" and form.is_valid():
        result = codes.check_phone_code(
            client=client, code=form.cleaned_data["code"], by=request.user
        )
        if result.ok:
            held = _live_hold(request, state)
            if held is None:
                return redirect(_back_to_times(state))
            patient = get_object_or_404(Patient.objects.of_client(client), pk=state["patient"])
            return _book(request, state, held, client, patient)
        form.add_error("code", result.message)
    return render(
        request,
        "onboarding/verify.html",
        {
            "form": form,
            "phone": client.phone,
            "resend": codes.resend_state(client=client, purpose=codes.Purpose.PHONE),
            "held": booking.hold_of(state.get("hold", "")),
        },
        status=400 if request.method == "POST" else 200,
    )


def _book(
    request: HttpRequest, state: dict, held, client: Client, patient: Patient
) -> HttpResponse:
    if held is None:
        messages.warning(request, _("The time you chose is free again: choose a time again."))
        return redirect(_back_to_times(state))
    try:
        booked = booking.book(
            client=client,
            patient=patient,
            service=held.service,
            starts_at=held.starts_at,
            booked_by=request.user,
            hold_token=state["hold"],
            request_key=f"onboarding:{state['hold'][:32]}",
        )
    except booking.BookingError as refused:
        messages.error(request, str(refused))
        return redirect(_back_to_times(state))
    request.session.pop(SESSION, None)
    messages.success(
        request,
        _("Your first visit is booked. The confirmation is on its way by e-mail and text message."),
    )
    return redirect("booking:detail", pk=booked.appointment.pk)


# --- Someone the clinic already knows -------------------------------------------------------------


def _ask_to_link(request, state, person_form, animal_form, match: Client) -> HttpResponse:
    """The e-mail or mobile is on a record without an account: the code goes to that record's
    own contact, never to what was just typed; the form's data waits in the session."""
    data = person_form.cleaned_data
    by_phone = bool(match.phone) and match.phone == data["phone"]
    channel, target = (Channel.SMS, match.phone) if by_phone else (Channel.EMAIL, match.email)
    state["pending"] = {
        "person": {
            **{k: v for k, v in data.items() if k != "password"},
            "password_hash": make_password(data["password"]),
        },
        "animal": {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in animal_form.cleaned_data.items()
            if k != "photo"
        },
        "record": match.pk,
        "channel": channel,
    }
    _save(request, state)
    try:
        codes.send_code(
            client=match, purpose=codes.Purpose.LINK_RECORD, channel=channel, target=target
        )
    except codes.CodeError as error:
        messages.warning(request, str(error))
    return redirect("onboarding:link")


@login_not_required  # public: the credential is the code sent to the known record's contact
@require_http_methods(["GET", "POST"])
def link(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    pending = state.get("pending")
    if not pending:
        return redirect("onboarding:start")
    record = Client.objects.filter(pk=pending["record"], user__isnull=True).first()
    if record is None:
        state.pop("pending", None)
        _save(request, state)
        return redirect("onboarding:account")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and request.POST.get("not_mine"):
        return _finish_pending(request, state, client=None)
    if request.method == "POST" and form.is_valid():
        result = codes.check_code(
            client=record, purpose=codes.Purpose.LINK_RECORD, code=form.cleaned_data["code"]
        )
        if result.ok:
            return _finish_pending(request, state, client=record)
        form.add_error("code", result.message)
    return render(
        request,
        "onboarding/link.html",
        {
            "form": form,
            "channel": pending["channel"],
            "masked": _masked(record, pending["channel"]),
            "held": booking.hold_of(state.get("hold", "")),
        },
        status=400 if request.method == "POST" else 200,
    )


def _finish_pending(request: HttpRequest, state: dict, *, client: Client | None) -> HttpResponse:
    pending = state.pop("pending")
    _save(request, state)
    if booking.hold_of(state.get("hold", "")) is None:
        _live_hold(request, state)
        return redirect(_back_to_times(state))
    person = pending["person"]
    animal = dict(pending["animal"])
    if animal.get("birth_date"):
        animal["birth_date"] = date.fromisoformat(animal["birth_date"])
    person_form = _Filled(person)
    animal_form = _Filled(animal)
    proven_phone = client is not None and pending["channel"] == Channel.SMS
    return _create_and_verify(
        request, state, person_form, animal_form, client=client, phone_proven=proven_phone
    )


class _Filled:
    """What a valid form hands over, rebuilt from the session (the password already hashed)."""

    new_photo = None

    def __init__(self, data: dict) -> None:
        self.cleaned_data = data


def _masked(record: Client, channel: str) -> str:
    if channel == Channel.SMS:
        return "•• •• •• " + record.phone[-4:-2] + " " + record.phone[-2:]
    return masked_address(record.email)


# --- After a plain sign-up: "we may already have your file" --------------------------------------


def possible_record(request: HttpRequest) -> Client | None:
    """The record that matched this account's sign-up, while it is still without an account."""
    pk = request.session.get(POSSIBLE_RECORD_SESSION_KEY)
    return Client.objects.filter(pk=pk, user__isnull=True).first() if pk else None


@client_required
@require_http_methods(["GET", "POST"])
def link_record(request: HttpRequest) -> HttpResponse:
    """A client who signed up the usual way proves the file the clinic had is theirs: a code to
    that file's own mobile or e-mail. A new account that already holds data is not merged here
    (the clinic does it, with both files in front of them)."""
    record = possible_record(request)
    if record is None:
        request.session.pop(POSSIBLE_RECORD_SESSION_KEY, None)
        return redirect("portal:home")
    mine = request.user.client
    by_email = bool(record.email) and record.email.lower() == request.user.email.lower()
    channel = Channel.EMAIL if by_email or not record.phone else Channel.SMS
    target = record.email if channel == Channel.EMAIL else record.phone
    form = CodeForm(request.POST or None)
    if request.method == "POST" and request.POST.get("send"):
        try:
            codes.send_code(
                client=record, purpose=codes.Purpose.LINK_RECORD, channel=channel, target=target
            )
        except codes.CodeError as error:
            messages.warning(request, str(error))
        return redirect("onboarding:link_record")
    if request.method == "POST" and request.POST.get("dismiss"):
        request.session.pop(POSSIBLE_RECORD_SESSION_KEY, None)
        return redirect("portal:home")
    if request.method == "POST" and form.is_valid():
        result = codes.check_code(
            client=record, purpose=codes.Purpose.LINK_RECORD, code=form.cleaned_data["code"]
        )
        if not result.ok:
            form.add_error("code", result.message)
        elif adopt(record, mine, request.user):
            request.session.pop(POSSIBLE_RECORD_SESSION_KEY, None)
            messages.success(request, _("Your file is linked to your account."))
            return redirect("portal:home")
        else:
            messages.warning(
                request,
                _(
                    "Your account already has animals or appointments: the clinic will merge "
                    "the two files. Call us to do it now."
                ),
            )
            return redirect("portal:home")
    return render(
        request,
        "onboarding/link_record.html",
        {
            "form": form,
            "channel": channel,
            "masked": _masked(record, channel),
            "pending": codes.resend_state(client=record, purpose=codes.Purpose.LINK_RECORD).pending,
        },
        status=400 if request.method == "POST" else 200,
    )


def adopt(record: Client, mine: Client, user: User) -> bool:
    """Give `user` the clinic's record in place of the empty one made at sign-up. False (and
    nothing changed) when the new record already holds anything of its own."""
    from booking.models import Appointment
    from records.models import Guardianship

    with transaction.atomic():
        if (
            Guardianship.objects.filter(client=mine).exists()
            or Appointment.objects.filter(client=mine).exists()
        ):
            return False
        locked = Client.objects.select_for_update().filter(pk=record.pk, user__isnull=True)
        if not locked.exists():
            return False
        mine.user = None
        mine.save(update_fields=["user"])
        mine.delete()
        record.user = user
        record.email = user.email
        record.save(update_fields=["user", "email"])
    return True
