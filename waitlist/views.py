"""Waitlist pages: join, see and leave the list; take an offered slot; the staff's overview."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from booking.models import Appointment, BookingRules, Practitioner, Service
from portal.access import client_of, client_required, duty_required, is_staff, staff_required
from portal.lib.links import LinkExpired, LinkInvalid, read_token
from portal.models import Client, Clinic
from records.models import Patient
from waitlist import services
from waitlist.forms import EarlierForm, JoinForm, StaffOfferForm
from waitlist.models import OFFER_LINK_PURPOSE, Entry, Offer, Release

ENTRIES_SHOWN = 200
RELEASES_SHOWN = 50
PHONE_CANDIDATES = 5
FIGURES_DAYS = 30

# --- access helpers ------------------------------------------------------------------------------


def _pk(raw: str | None) -> int | None:
    if not raw:
        return None
    if not str(raw).isdigit():
        raise Http404
    return int(raw)


def patient_of(client: Client, raw: str | None) -> Patient | None:
    """The client's own patient named in the request; 404 for anyone else's (or nonsense)."""
    pk = _pk(raw)
    if pk is None:
        return None
    patient = Patient.objects.of_client(client).filter(pk=pk).first()
    if patient is None:
        raise Http404
    return patient


def appointment_of(client: Client, raw: str | None) -> Appointment:
    pk = _pk(raw)
    found = Appointment.objects.with_related().filter(pk=pk, client=client).first() if pk else None
    if found is None:
        raise Http404
    return found


def entry_of(client: Client, pk: int) -> Entry:
    found = Entry.objects.with_related().filter(pk=pk, client=client).first()
    if found is None:
        raise Http404
    return found


# --- client pages --------------------------------------------------------------------------------


@client_required
@require_http_methods(["GET"])
def mine(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    tz = Clinic.current().tz
    today = timezone.now().astimezone(tz).date()
    entries = list(Entry.objects.of_client(client)[:100])
    waiting = [entry for entry in entries if entry.is_open(today)]
    ended = [entry for entry in entries if not entry.is_open(today)][:20]
    return render(
        request, "waitlist/mine.html", {"waiting": waiting, "ended": ended, "today": today}
    )


@client_required
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    """ "Tell me when something opens" (booking's flow links here with ?patient=&service=)."""
    client = client_of(request.user)
    source = request.POST if request.method == "POST" else request.GET
    patient = patient_of(client, source.get("patient"))  # 404 for another client's animal
    tz = Clinic.current().tz
    rules = BookingRules.current()
    today = timezone.now().astimezone(tz).date()
    initial = {
        "earliest": today,
        "latest": min(today + timedelta(days=14), today + rules.horizon),
        "patient": patient,
        "service": request.GET.get("service"),
        "practitioner": _pk(request.GET.get("practitioner")),
    }
    form = JoinForm(
        request.POST if request.method == "POST" else None,
        patients=Patient.objects.of_client(client).order_by("name", "pk"),
        services=Service.objects.online().order_by("order", "name"),
        practitioners=Practitioner.objects.active().order_by("name"),
        today=today,
        horizon=rules.horizon,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.join(
                client=client,
                patient=data["patient"],
                service=data["service"],
                practitioner=data["practitioner"],
                earliest=data["earliest"],
                latest=data["latest"],
                times=data["times"],
                weekdays=data["weekdays"],
            )
        except services.WaitlistError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("You are on the waitlist. We will tell you as soon as a slot opens.")
            )
            return redirect("waitlist:mine")
    return render(request, "waitlist/join.html", {"form": form})


@client_required
@require_http_methods(["GET", "POST"])
def earlier(request: HttpRequest) -> HttpResponse:
    """ "I'd take an earlier slot" for one of the client's appointments (?appointment=<pk>)."""
    client = client_of(request.user)
    source = request.POST if request.method == "POST" else request.GET
    appointment = appointment_of(client, source.get("appointment"))
    tz = Clinic.current().tz
    now = timezone.now()
    today = now.astimezone(tz).date()
    rules = BookingRules.current()
    day = appointment.starts_at.astimezone(tz).date()
    changeable = appointment.client_may_change(now, rules.cutoff)
    form = EarlierForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and changeable and form.is_valid():
        data = form.cleaned_data
        try:
            services.join(
                client=client,
                patient=appointment.patient,
                service=appointment.service,
                practitioner=appointment.practitioner if data["same_practitioner"] else None,
                earliest=today,
                latest=max(today, day),
                times=data["times"],
                weekdays=data["weekdays"],
                appointment=appointment,
            )
        except services.WaitlistError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _(
                    "Noted. If an earlier slot opens we will offer it to you; taking it "
                    "cancels this appointment."
                ),
            )
            return redirect("waitlist:mine")
    return render(
        request,
        "waitlist/earlier.html",
        {"form": form, "appointment": appointment, "changeable": changeable},
    )


@client_required
@require_POST
def leave(request: HttpRequest, pk: int) -> HttpResponse:
    entry = entry_of(client_of(request.user), pk)
    if services.leave(entry):
        messages.success(
            request, _("You have left the waitlist for %(name)s.") % {"name": entry.patient.name}
        )
    return redirect("waitlist:mine")


# --- the offer link ------------------------------------------------------------------------------


def _offer_from(request: HttpRequest, token: str) -> tuple[Offer | None, dict, int]:
    """The offer a link names, or (None, context, status) for a forged, foreign or expired one.

    A link is bound to its client: someone signed in as anyone else gets a 404, as for any
    object of another client. Without a session the signed link itself is the proof.
    """
    expired = False
    try:
        payload = read_token(OFFER_LINK_PURPOSE, token)
    except LinkExpired as error:
        payload, expired = error.payload, True
    except LinkInvalid:
        return None, {"state": "invalid"}, 404
    offer = (
        Offer.objects.select_related(
            "release", "release__service", "release__practitioner", "entry", "entry__patient"
        )
        .filter(pk=payload.get("o"), client_id=payload.get("c"), release_id=payload.get("r"))
        .first()
        if isinstance(payload.get("o"), int)
        else None
    )
    if offer is None or int(offer.release.starts_at.timestamp()) != payload.get("t"):
        return None, {"state": "invalid"}, 404
    if request.user.is_authenticated:
        own = getattr(request.user, "client", None) if not is_staff(request.user) else None
        if own is None or own.pk != offer.client_id:
            raise Http404
    if expired and offer.status != Offer.Status.CLAIMED:
        return offer, {"state": "ended"}, 410
    return offer, {}, 200


def _state(offer: Offer) -> str:
    release = offer.release
    if offer.status == Offer.Status.CLAIMED:
        return "used"
    if release.status in (Release.Status.CLAIMED, Release.Status.TAKEN):
        return "taken"
    if not release.is_open or offer.status != Offer.Status.SENT:
        return "ended"
    if timezone.now() >= offer.expires_at or offer.entry.status != Entry.Status.WAITING:
        return "ended"
    if not services.slot_still_free(release):
        return "taken"
    return "open"


@login_not_required  # public: the offer's token is the credential
@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, token: str) -> HttpResponse:
    """The slot and one "Take it" button; only the POST books. Works without signing in."""
    found, context, status = _offer_from(request, token)
    if found is None:
        return render(request, "waitlist/offer.html", context, status=status)
    context.update({"offer": found, "release": found.release, "entry": found.entry})
    if status != 200:
        return render(request, "waitlist/offer.html", context, status=status)
    state = _state(found)
    if request.method == "POST" and state == "open":
        try:
            claimed = services.claim(found)
        except services.ClaimError as error:
            state = error.state
            context["reason"] = str(error) if error.state == "refused" else ""
        else:
            state = "done"
            context["appointment"] = claimed.appointment
            context["replaced"] = claimed.replaced
    if state == "used":
        context["appointment"] = found.entry.booked
    context["state"] = state
    code = 409 if request.method == "POST" and state not in ("done", "open") else 200
    return render(request, "waitlist/offer.html", context, status=code)


# --- staff ---------------------------------------------------------------------------------------


def _choice(queryset, raw: str | None):
    pk = _pk(raw) if raw and str(raw).isdigit() else None
    return queryset.filter(pk=pk).first() if pk else None


@staff_required
@require_http_methods(["GET"])
def staff_list(request: HttpRequest) -> HttpResponse:
    """Who waits, per service and practitioner; slots released and the offers sent for them."""
    service = _choice(Service.objects.all(), request.GET.get("service"))
    practitioner = _choice(Practitioner.objects.all(), request.GET.get("practitioner"))
    today = timezone.now().astimezone(Clinic.current().tz).date()
    entries = Entry.objects.waiting().filter(latest__gte=today).with_related()
    releases = Release.objects.with_related().select_related("created_by")
    if service is not None:
        entries = entries.filter(service=service)
        releases = releases.filter(service=service)
    if practitioner is not None:
        entries = entries.filter(Q(practitioner=practitioner) | Q(practitioner__isnull=True))
        releases = releases.filter(practitioner=practitioner)
    offers = Offer.objects.select_related("client", "entry__patient").order_by("wave", "pk")
    releases = releases.prefetch_related(Prefetch("offers", queryset=offers)).annotate(
        offer_count=Count("offers")
    )
    releases = list(releases.order_by("-created_at", "-pk")[:RELEASES_SHOWN])
    now = timezone.now()
    # A slot only bookable by phone: who staff may call, best first (one query per such slot).
    for release in releases:
        release.callable_entries = (
            list(
                services.matching_entries(release, now=now).select_related("client", "patient")[
                    :PHONE_CANDIDATES
                ]
            )
            if release.is_open and release.phone_only
            else []
        )
    since = now - timedelta(days=FIGURES_DAYS)
    context = {
        "services": Service.objects.active(),
        "practitioners": Practitioner.objects.active(),
        "service": service,
        "practitioner": practitioner,
        "entries": list(entries.order_by("created_at", "pk")[:ENTRIES_SHOWN]),
        "releases": releases,
        "figures": services.figures(since=since, service=service, practitioner=practitioner),
        "figures_days": FIGURES_DAYS,
    }
    return render(request, "waitlist/staff/list.html", context)


@duty_required("appointments")
@require_http_methods(["GET", "POST"])
def staff_offer(request: HttpRequest) -> HttpResponse:
    """Offer a free slot to the waitlist, to one named client, or keep it free ("don't offer").

    The agenda links here with ?practitioner=&service=&day=&time= (and ?entry= from a client).
    """
    tz = Clinic.current().tz
    today = timezone.now().astimezone(tz).date()
    initial = {
        key: request.GET.get(key)
        for key in ("service", "practitioner", "day", "time", "entry")
        if request.GET.get(key)
    }
    form = StaffOfferForm(
        request.POST if request.method == "POST" else None,
        services=Service.objects.active(),
        practitioners=Practitioner.objects.active(),
        entries=Entry.objects.waiting().filter(latest__gte=today).with_related(),
        tz=tz,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if request.POST.get("action") == "hold":
                services.hold_slot(
                    practitioner=data["practitioner"],
                    service=data["service"],
                    starts_at=data["starts_at"],
                    by_user=request.user,
                )
                messages.success(request, _("This slot will not be offered to the waitlist."))
            else:
                release = services.offer_free_slot(
                    service=data["service"],
                    practitioner=data["practitioner"],
                    starts_at=data["starts_at"],
                    by_user=request.user,
                    entry=data["entry"],
                )
                sent = release.offers.count()
                if release.status != Release.Status.OPEN:
                    messages.warning(
                        request,
                        _("This slot cannot be booked as it is: it was not offered."),
                    )
                elif release.phone_only:
                    messages.success(
                        request,
                        _(
                            "This slot can only be booked by phone: no link was sent. Book it "
                            "for a waiting client below."
                        ),
                    )
                else:
                    messages.success(
                        request,
                        _("Offered to %(count)s waiting client(s).") % {"count": sent}
                        if sent
                        else _("Nobody on the waitlist suits this slot for now."),
                    )
        except services.WaitlistError as error:
            form.add_error(None, str(error))
        else:
            return redirect("waitlist:staff")
    return render(request, "waitlist/staff/offer.html", {"form": form})


@duty_required("appointments")
@require_POST
def staff_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    release = Release.objects.filter(pk=pk).first()
    if release is None:
        raise Http404
    if services.withdraw(release):
        messages.success(request, _("This slot is no longer offered."))
    return redirect("waitlist:staff")


@duty_required("appointments")
@require_POST
def staff_book(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff book an open slot for a waiting client (phone-only slots: no link was sent)."""
    release = Release.objects.filter(pk=pk).first()
    entry = Entry.objects.filter(pk=_pk(request.POST.get("entry"))).first()
    if release is None or entry is None:
        raise Http404
    try:
        claimed = services.claim_for(release, entry, by_user=request.user)
    except services.WaitlistError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Booked for %(client)s (%(animal)s). They get the usual confirmation.")
            % {"client": entry.client, "animal": claimed.appointment.patient.name},
        )
    return redirect("waitlist:staff")
