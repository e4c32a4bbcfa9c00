"""allauth glue: sign-up creates or links the client record, invitations set the role."""

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.models import Client, Invitation, Role, User

INVITATION_SESSION_KEY = "accueil_invitation"


def pending_invitation(request: HttpRequest) -> Invitation | None:
    token = request.session.get(INVITATION_SESSION_KEY)
    if not token:
        return None
    invitation = Invitation.objects.by_token(token)
    if invitation is None or not invitation.is_usable(timezone.now()):
        return None
    return invitation


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: User, form, commit: bool = True) -> User:
        """Sign-up: the role comes from the invitation, never from the form.

        Without an invitation the account is a client's, with a new client record. With one,
        staff get the invited role; a client is linked to the record the clinic already has.
        """
        invitation = pending_invitation(request)
        user = super().save_user(request, user, form, commit=False)
        user.first_name = form.cleaned_data.get("first_name", "")
        user.last_name = form.cleaned_data.get("last_name", "")
        with transaction.atomic():
            user.role = invitation.role if invitation else Role.CLIENT
            user.save()
            if user.role == Role.CLIENT:
                client = invitation.client if invitation and invitation.client else None
                if client is None or client.user_id is not None:
                    client = Client(email=user.email)
                client.user = user
                client.first_name = user.first_name or client.first_name
                client.last_name = user.last_name or client.last_name
                client.email = user.email
                phone = form.cleaned_data.get("phone")
                if phone:
                    client.phone = phone
                client.save()
            if invitation:
                invitation.accepted_at = timezone.now()
                invitation.save(update_fields=["accepted_at"])
                request.session.pop(INVITATION_SESSION_KEY, None)
        return user
