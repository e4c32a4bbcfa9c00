"""The household page (who shares my animals, invitations, the journal), the invitation link,
and the Revoke / Leave / Cancel buttons."""

import logging

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from household import services
from household.access import invitation_sent, link_to_revoke, own_link
from household.forms import InvitationForm
from household.models import HouseholdEvent, HouseholdInvitation
from portal.access import client_of, client_required
from portal.lib.mail import absolute_url, email_context, masked_address, send_clinic_email
from portal.models import Client, Clinic
from records.models import Guardianship

logger = logging.getLogger(__name__)

JOURNAL_LINES = 30


def _page_context(client: Client, form: InvitationForm | None = None) -> dict:
    now = timezone.now()
    mine = list(
        Guardianship.objects.filter(client=client)
        .select_related("patient")
        .order_by("patient__name", "patient__pk")
    )
    owned = [link.patient for link in mine if link.role == Guardianship.Role.OWNER]
    shared_with_me = [link for link in mine if link.role != Guardianship.Role.OWNER]
    others = (
        Guardianship.objects.filter(patient__in=owned)
        .exclude(client=client)
        .select_related("client")
        .order_by("client__last_name", "client__first_name", "pk")
    )
    by_patient: dict[int, list[Guardianship]] = {patient.pk: [] for patient in owned}
    for link in others:
        by_patient[link.patient_id].append(link)
    # Guardianship has no date of its own: a link made through an invitation dates from its
    # acceptance (links the clinic made show none).
    patient_ids = [patient.pk for patient in owned] + [link.patient_id for link in mine]
    since = dict(
        ((patient_id, client_id), at)
        for patient_id, client_id, at in HouseholdEvent.objects.filter(
            kind=HouseholdEvent.Kind.ACCEPTED, patient_id__in=patient_ids
        )
        .order_by("at", "pk")
        .values_list("patient_id", "client_id", "at")
    )
    for links in by_patient.values():
        for link in links:
            link.since = since.get((link.patient_id, link.client_id))
    for link in shared_with_me:
        link.since = since.get((link.patient_id, link.client_id))
    pending = (
        HouseholdInvitation.objects.pending(now).filter(inviter=client).prefetch_related("patients")
    )
    return {
        "client": client,
        "owned": [(patient, by_patient[patient.pk]) for patient in owned],
        "shared_with_me": shared_with_me,
        "pending": pending,
        "form": form or (InvitationForm(inviter=client) if owned else None),
        "journal": HouseholdEvent.objects.seen_by(client)[:JOURNAL_LINES],
    }


@client_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "household/home.html", _page_context(client_of(request.user)))


@client_required
@require_POST
def invite(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    form = InvitationForm(request.POST, inviter=client)
    if form.is_valid():
        data = form.cleaned_data
        try:
            invitation, token = services.invite(
                inviter=client,
                by=request.user,
                email=data["email"],
                role=data["role"],
                patients=data["patients"],
            )
        except services.HouseholdError as error:
            form.add_error(None, str(error))
        else:
            _send_invitation(request, invitation, token)
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect("household:home")
    return render(request, "household/home.html", _page_context(client, form), status=400)


def _send_invitation(request: HttpRequest, invitation: HouseholdInvitation, token: str) -> None:
    """The e-mail, sent once the invitation is stored (outside its transaction)."""
    clinic = Clinic.current()
    context = {
        **email_context(clinic),
        "url": absolute_url(reverse("household:join", args=[token])),
        "inviter": invitation.inviter,
        "patients": list(invitation.patients.all()),
        "sitter": invitation.role == Guardianship.Role.SITTER,
        "days": HouseholdInvitation.VALIDITY.days,
    }
    send_clinic_email(
        subject=_("%(name)s shares their animals with you at %(clinic)s")
        % {"name": invitation.inviter, "clinic": clinic.name},
        text=render_to_string("household/email/invitation.txt", context, request=request),
        to=[invitation.email],
        clinic=clinic,
    )


@client_required  # signed in: the token says what to accept, the account says who accepts
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    client = client_of(request.user)
    invitation = HouseholdInvitation.objects.by_token(token)
    now = timezone.now()
    if invitation is None or not invitation.is_usable(now):
        reason = invitation.state(now) if invitation else "unknown"
        return render(request, "household/join_invalid.html", {"reason": reason}, status=410)
    if invitation.inviter_id == client.pk:
        return render(request, "household/join_invalid.html", {"reason": "own"}, status=400)
    if request.user.email.lower() != invitation.email.lower():
        # A forwarded link opens nothing: the animals' records go to the address invited.
        context = {"reason": "other_address", "masked": masked_address(invitation.email)}
        return render(request, "household/join_invalid.html", context, status=403)
    if request.method == "POST":
        try:
            services.accept(invitation=invitation, client=client, by=request.user, now=now)
        except services.HouseholdError:
            # Cancelled or accepted in the meantime (the row is locked and read again).
            invitation.refresh_from_db()
            reason = invitation.state(timezone.now())
            return render(request, "household/join_invalid.html", {"reason": reason}, status=410)
        messages.success(request, _("Done: the animals are now in your space."))
        return redirect("household:home")
    current = {
        link.patient_id: link
        for link in Guardianship.objects.filter(
            client=client, patient__in=invitation.patients.all()
        )
    }
    patients = list(invitation.patients.all())
    for patient in patients:
        patient.current_link = current.get(patient.pk)
    context = {
        "invitation": invitation,
        "patients": patients,
        "sitter": invitation.role == Guardianship.Role.SITTER,
    }
    return render(request, "household/join.html", context)


@client_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    link = link_to_revoke(request, pk)
    try:
        services.revoke(link=link, actor=client_of(request.user), by=request.user)
    except services.HouseholdError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(name)s no longer shares %(animal)s.")
            % {"name": link.client, "animal": link.patient.name},
        )
    return redirect("household:home")


@client_required
@require_POST
def leave(request: HttpRequest, pk: int) -> HttpResponse:
    link = own_link(request, pk)
    try:
        services.leave(link=link, actor=client_of(request.user), by=request.user)
    except services.HouseholdError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("You no longer share %(animal)s.") % {"animal": link.patient.name}
        )
    return redirect("household:home")


@client_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = invitation_sent(request, pk)
    try:
        services.cancel(invitation=invitation, actor=client_of(request.user), by=request.user)
    except services.HouseholdError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Invitation cancelled: its link no longer works."))
    return redirect("household:home")
