"""What every e-mail the portal sends has in common: the clinic as sender, links that work.

A person reads an e-mail away from the portal, so nothing in it may depend on the request that
happened to send it: links start with ACCUEIL_BASE_URL (what `make run` serves, or the public
address in production), the sender is the clinic by name, and the HTML part shows the clinic's
logo from its public URL. Sign-up e-mails (allauth), invitations and notifications all use these.

    from portal.lib.mail import absolute_url, clinic_sender, email_context

    EmailMultiAlternatives(subject, text, clinic_sender(clinic), [to])
    message.attach_alternative(html_version(text, clinic), "text/html")

or simply `send_clinic_email(subject=..., text=..., to=[...])`.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

if TYPE_CHECKING:
    from portal.models import Clinic

# Characters that make a display name need quotes in an address header (RFC 5322 "specials").
_SPECIALS = set('()<>[]:;@\\,."')


def masked_address(email: str) -> str:
    """An address shown to someone who may not own it: "c•••@example.com"."""
    name, _at, domain = email.partition("@")
    return f"{name[:1]}•••@{domain}"


def base_url() -> str:
    """Where the portal is reached from outside, without a trailing slash."""
    return settings.ACCUEIL_BASE_URL.rstrip("/")


def absolute_url(path_or_url: str) -> str:
    """`path_or_url` on the public base URL.

    A full URL (as allauth builds from the request that sent the e-mail) keeps its path, query
    and fragment but takes the base URL's scheme and host: the request may have come from a
    test client, a worker or a reverse proxy's inside address.
    """
    parts = urlsplit(path_or_url)
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    tail = path
    if parts.query:
        tail += "?" + parts.query
    if parts.fragment:
        tail += "#" + parts.fragment
    return base_url() + tail


def _display_name(name: str) -> str:
    name = " ".join(name.split())  # no line breaks in a header
    if any(char in _SPECIALS for char in name):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name


def sender_address(clinic: Clinic) -> str:
    """The clinic's own e-mail if it has one, else the address part of DEFAULT_FROM_EMAIL."""
    if clinic.email:
        return clinic.email
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL


def clinic_sender(clinic: Clinic | None = None) -> str:
    """The From header: "<clinic name> <address>", so the inbox shows who writes."""
    if clinic is None:
        from portal.models import Clinic

        clinic = Clinic.current()
    address = sender_address(clinic)
    name = clinic.name.strip()
    return f"{_display_name(name)} <{address}>" if name else address


def logo_url(clinic: Clinic) -> str:
    """The absolute URL of the clinic's logo ("" when it has none), versioned by its last change
    so a mail client's cache does not keep an old logo."""
    if not clinic.logo:
        return ""
    url = absolute_url(reverse("portal:clinic_logo"))
    if clinic.updated_at:
        url += f"?v={int(clinic.updated_at.timestamp())}"
    return url


def email_context(clinic: Clinic | None = None) -> dict[str, object]:
    """What the e-mail layout (portal/email/layout.html, layout.txt) needs about the clinic."""
    if clinic is None:
        from portal.models import Clinic

        clinic = Clinic.current()
    return {
        "clinic": clinic,
        "clinic_logo_url": logo_url(clinic),
        "portal_url": base_url() + "/",
    }


def html_version(text: str, clinic: Clinic | None = None, *, signed: bool = True) -> str:
    """The HTML part of a plain-text e-mail: the clinic's logo and name above the same text,
    links made clickable. `signed`: the text already ends with the clinic's signature, so the
    layout adds no footer of its own."""
    context = {**email_context(clinic), "body": text, "body_signed": signed}
    return render_to_string("portal/email/layout.html", context)


def send_clinic_email(
    *,
    subject: str,
    text: str,
    to: list[str],
    clinic: Clinic | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Send a plain-text e-mail from the clinic, with its HTML twin (logo and name)."""
    if clinic is None:
        from portal.models import Clinic

        clinic = Clinic.current()
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=clinic_sender(clinic), to=to, headers=headers
    )
    message.attach_alternative(html_version(text, clinic), "text/html")
    message.send()
