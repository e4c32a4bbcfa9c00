"""Which household rows a signed-in client may act on. A stranger gets a 404 (never learning
whether the row exists), and the refusal goes to the access log like any other."""

from django.http import Http404, HttpRequest

from household.models import HouseholdInvitation
from portal.access import log_access
from portal.models import AccessLog
from records.models import Guardianship


def _refuse(request: HttpRequest, object_type: str, pk: object) -> Http404:
    log_access(request, action=AccessLog.Action.DENIED, object_type=object_type, object_id=pk)
    return Http404()


def link_to_revoke(request: HttpRequest, pk: int) -> Guardianship:
    """Someone's link to an animal the signed-in client owns (role owner)."""
    link = (
        Guardianship.objects.select_related("patient", "client")
        .filter(
            pk=pk,
            patient__guardianships__client__user=request.user,
            patient__guardianships__role=Guardianship.Role.OWNER,
        )
        .first()
    )
    if link is None:
        raise _refuse(request, "guardianship", pk)
    return link


def own_link(request: HttpRequest, pk: int) -> Guardianship:
    """The signed-in client's own link to an animal."""
    link = (
        Guardianship.objects.select_related("patient", "client")
        .filter(pk=pk, client__user=request.user)
        .first()
    )
    if link is None:
        raise _refuse(request, "guardianship", pk)
    return link


def invitation_sent(request: HttpRequest, pk: int) -> HouseholdInvitation:
    """An invitation the signed-in client sent."""
    invitation = (
        HouseholdInvitation.objects.select_related("inviter")
        .filter(pk=pk, inviter__user=request.user)
        .first()
    )
    if invitation is None:
        raise _refuse(request, "household_invitation", pk)
    return invitation
