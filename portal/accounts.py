"""allauth glue: sign-up creates or links the client record, invitations set the role."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.lib.mail import absolute_url, base_url, clinic_sender, email_context, html_version
from portal.models import Client, Clinic, Invitation, Role, User

INVITATION_SESSION_KEY = "accueil_invitation"


def pending_invitation(request: HttpRequest) -> Invitation | None:
    token = request.session.get(INVITATION_SESSION_KEY)
    if not token:
        return None
    invitation = Invitation.objects.by_token(token)
    if invitation is None or not invitation.is_usable(timezone.now()):
        return None
    return invitation


@dataclass(frozen=True)
class ClinicSite:
    """What allauth's e-mail templates call `current_site`: the clinic, reached at the base URL.

    Without django.contrib.sites allauth names the site after the request's host, and the
    e-mails said "127.0.0.1:8101" where the clinic's name belongs."""

    name: str
    domain: str

    @classmethod
    def of(cls, clinic: Clinic) -> "ClinicSite":
        return cls(name=clinic.name, domain=urlsplit(base_url()).netloc)


# The pk of a client record without an account that matched a sign-up's e-mail or mobile.
POSSIBLE_RECORD_SESSION_KEY = "possible_record"


def known_record(email: str, phone: str) -> Client | None:
    """A client record the clinic keeps without an account, with this e-mail or mobile."""
    records = Client.objects.filter(user__isnull=True)
    match = records.filter(email__iexact=email).first() if email else None
    if match is None and phone:
        match = records.filter(phone=phone).first()
    return match


class AccountAdapter(DefaultAccountAdapter):
    def get_from_email(self) -> str:
        return clinic_sender(Clinic.current())

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Sign-up, password and account e-mails: signed by the clinic, links on the base URL
        (allauth builds them from the request, which may be an inside address)."""
        clinic = Clinic.current()
        context = {**context, **email_context(clinic), "current_site": ClinicSite.of(clinic)}
        for key, value in list(context.items()):
            if key.endswith("_url") and key != "clinic_logo_url" and isinstance(value, str):
                context[key] = absolute_url(value) if value else value
        super().send_mail(template_prefix, email, context)

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        """allauth's plain text, plus an HTML twin with the clinic's logo and name."""
        message = super().render_mail(template_prefix, email, context, headers)
        if isinstance(message, EmailMultiAlternatives) and not message.alternatives:
            message.attach_alternative(html_version(message.body), "text/html")
        return message

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
                    # A record the clinic keeps with this e-mail or mobile is never linked
                    # silently: the new account gets its own, and its holder is offered to
                    # prove the old one is theirs (onboarding's "link my file").
                    known = known_record(user.email, form.cleaned_data.get("phone") or "")
                    if known is not None:
                        request.session[POSSIBLE_RECORD_SESSION_KEY] = known.pk
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
