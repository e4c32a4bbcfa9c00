"""Writes of the household: invite, accept, cancel, revoke, leave. Each one journals itself.

`check_*` functions validate (read-only, used by the forms too); the others change rows in one
transaction and write one `HouseholdEvent` line per animal in it, so a change is never made
without its trace.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from household.models import STRENGTH, HouseholdEvent, HouseholdInvitation, hash_token
from portal.models import Client, User
from records.models import Guardianship, Patient

# An owner sends at most this many invitations a day: each one is an e-mail from the clinic.
DAILY_INVITATIONS = 10


class HouseholdError(Exception):
    """A change refused, with the reason in the reader's language."""


# --- Reads ---------------------------------------------------------------------------------------


def owned_patients(client: Client) -> QuerySet[Patient]:
    """The animals `client` owns (role owner): the only ones they may share."""
    return Patient.objects.filter(
        guardianships__client=client, guardianships__role=Guardianship.Role.OWNER
    ).order_by("name", "pk")


# --- Checks (read-only) --------------------------------------------------------------------------


def check_invitation(
    *, inviter: Client, email: str, patients: Iterable[Patient], now: datetime
) -> dict[str, str]:
    """What is wrong with this invitation, by form field ("" for the form as a whole)."""
    errors: dict[str, str] = {}
    email = email.strip().lower()
    own = {inviter.email.lower()}
    if inviter.user_id is not None:
        own.add(inviter.user.email.lower())
    if email in own:
        errors["email"] = _("This is your own address: invite someone else.")
        return errors
    patients = list(patients)
    already = (
        Guardianship.objects.filter(patient__in=patients)
        .filter(client__user__email__iexact=email)
        .select_related("patient")
        .order_by("patient__name")
    )
    names = [link.patient.name for link in already]
    if names:
        errors["patients"] = _(
            "This person already shares %(animals)s: untick it, or remove them first."
        ) % {"animals": ", ".join(names)}
    waiting = HouseholdInvitation.objects.pending(now).filter(inviter=inviter, email__iexact=email)
    if waiting.exists():
        errors["email"] = _(
            "An invitation to this address is already waiting: cancel it to send another."
        )
    since = now - timedelta(days=1)
    sent_today = HouseholdInvitation.objects.filter(inviter=inviter, created_at__gte=since).count()
    if sent_today >= DAILY_INVITATIONS:
        errors[""] = _("You have sent many invitations today: try again tomorrow.")
    return errors


# --- Writes --------------------------------------------------------------------------------------


def invite(
    *,
    inviter: Client,
    by: User,
    email: str,
    role: str,
    patients: Iterable[Patient],
    now: datetime | None = None,
) -> tuple[HouseholdInvitation, str]:
    """Store an invitation and journal it; returns it and its token (the only time the token
    exists in clear). The caller sends the e-mail, after this commits.

    Locks the inviter's client row, so two invitations sent at once are checked one after the
    other (the "one waiting invitation per address" and daily limit rules).
    """
    now = now or timezone.now()
    patients = list(patients)
    if role not in (Guardianship.Role.CO_OWNER, Guardianship.Role.SITTER):
        raise HouseholdError(_("Choose co-owner or pet-sitter."))
    with transaction.atomic():
        Client.objects.select_for_update().filter(pk=inviter.pk).first()
        owned = set(owned_patients(inviter).values_list("pk", flat=True))
        if not patients or any(patient.pk not in owned for patient in patients):
            raise HouseholdError(_("Choose at least one of your animals."))
        errors = check_invitation(inviter=inviter, email=email, patients=patients, now=now)
        if errors:
            raise HouseholdError(next(iter(errors.values())))
        token = HouseholdInvitation.new_token()
        invitation = HouseholdInvitation.objects.create(
            inviter=inviter,
            email=email.strip().lower(),
            role=role,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + HouseholdInvitation.VALIDITY,
        )
        invitation.patients.set(patients)
        HouseholdEvent.objects.bulk_create(
            HouseholdEvent(
                at=now,
                kind=HouseholdEvent.Kind.INVITED,
                actor=inviter,
                by=by,
                patient=patient,
                email=invitation.email,
                role=role,
                invitation=invitation,
            )
            for patient in patients
        )
    return invitation, token


def accept(
    *, invitation: HouseholdInvitation, client: Client, by: User, now: datetime | None = None
) -> list[Guardianship]:
    """Link `client` to each animal of the invitation with its role; a person already linked
    keeps the stronger link. Animals the inviter no longer owns are left out.

    Locks the invitation row: two tabs accepting the same link at once make one set of links
    and one journal entry, the second is told the link was used.
    """
    now = now or timezone.now()
    with transaction.atomic():
        invitation = HouseholdInvitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_usable(now):
            raise HouseholdError(_("This invitation link no longer works."))
        if client.pk == invitation.inviter_id:
            raise HouseholdError(_("You sent this invitation: it is for someone else."))
        if by.email.lower() != invitation.email.lower():
            raise HouseholdError(_("This invitation was sent to another e-mail address."))
        still_owned = owned_patients(invitation.inviter).filter(
            pk__in=invitation.patients.values("pk")
        )
        links = []
        events = []
        for patient in still_owned:
            link, created = Guardianship.objects.get_or_create(
                patient=patient, client=client, defaults={"role": invitation.role}
            )
            if not created and STRENGTH[invitation.role] > STRENGTH[link.role]:
                link.role = invitation.role
                link.save(update_fields=["role"])
            links.append(link)
            events.append(
                HouseholdEvent(
                    at=now,
                    kind=HouseholdEvent.Kind.ACCEPTED,
                    actor=client,
                    by=by,
                    patient=patient,
                    client=client,
                    role=link.role,
                    invitation=invitation,
                )
            )
        HouseholdEvent.objects.bulk_create(events)
        invitation.accepted_at = now
        invitation.accepted_by = client
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return links


def cancel(
    *, invitation: HouseholdInvitation, actor: Client, by: User, now: datetime | None = None
) -> None:
    """The inviter withdraws a waiting invitation: its link stops working at once. Locks the
    invitation row against an accept happening at the same moment."""
    now = now or timezone.now()
    with transaction.atomic():
        invitation = HouseholdInvitation.objects.select_for_update().get(pk=invitation.pk)
        state = invitation.state(now)
        if state == "accepted":
            raise HouseholdError(_("This invitation was already accepted: remove the person."))
        if state == "cancelled":
            raise HouseholdError(_("This invitation was already cancelled."))
        invitation.revoked_at = now
        invitation.save(update_fields=["revoked_at"])
        HouseholdEvent.objects.bulk_create(
            HouseholdEvent(
                at=now,
                kind=HouseholdEvent.Kind.CANCELLED,
                actor=actor,
                by=by,
                patient=patient,
                email=invitation.email,
                role=invitation.role,
                invitation=invitation,
            )
            for patient in invitation.patients.all()
        )


def _remove(
    *, link: Guardianship, actor: Client, by: User, kind: str, now: datetime | None
) -> None:
    """Delete `link` and journal it, unless it is its animal's last owner. Locks the animal's
    links, so two owners removing each other at once cannot leave the animal without one."""
    now = now or timezone.now()
    with transaction.atomic():
        links = list(Guardianship.objects.select_for_update().filter(patient_id=link.patient_id))
        link = next((row for row in links if row.pk == link.pk), None)
        if link is None:
            raise HouseholdError(_("This link was already removed."))
        owners = [row for row in links if row.role == Guardianship.Role.OWNER]
        if owners == [link]:
            raise HouseholdError(
                _("The last owner cannot be removed: call the clinic to change the owner.")
            )
        HouseholdEvent.objects.create(
            at=now,
            kind=kind,
            actor=actor,
            by=by,
            patient_id=link.patient_id,
            client_id=link.client_id,
            role=link.role,
        )
        link.delete()


def revoke(*, link: Guardianship, actor: Client, by: User, now: datetime | None = None) -> None:
    """An owner removes someone's link to their animal (the caller checked `actor` owns it)."""
    if link.client_id == actor.pk:
        raise HouseholdError(_("To remove your own link, use “Stop sharing”."))
    _remove(link=link, actor=actor, by=by, kind=HouseholdEvent.Kind.REVOKED, now=now)


def leave(*, link: Guardianship, actor: Client, by: User, now: datetime | None = None) -> None:
    """A co-owner or pet-sitter removes their own link to an animal."""
    if link.client_id != actor.pk:
        raise HouseholdError(_("This link is not yours."))
    _remove(link=link, actor=actor, by=by, kind=HouseholdEvent.Kind.LEFT, now=now)
