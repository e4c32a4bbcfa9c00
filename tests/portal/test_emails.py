"""The e-mails a person reads: from the clinic by name, with its logo, links that open the portal.

Sign-up e-mails once came from `accueil@localhost` and said the portal was "127.0.0.1:8101"
(the host of the request that sent them), with links on that host.
"""

import re

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.test import override_settings

from portal.lib.mail import clinic_sender
from portal.models import Clinic, Role

BASE = "https://portail.clinique-tests.fr"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)
SIGNUP = {
    "first_name": "Margaux",
    "last_name": "Vidal",
    "email": "margaux.vidal@example.com",
    "phone": "",
    "password1": "Vraiment-long-2026",
    "password2": "Vraiment-long-2026",
}


@pytest.fixture
def french(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    return client


@pytest.fixture
def clinic_with_logo(clinic, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    clinic.email = "contact@clinique-tests.fr"
    clinic.logo.save("logo.png", ContentFile(PNG), save=False)
    clinic.save()
    return clinic


def _html(message) -> str:
    return next(body for body, kind in message.alternatives if kind == "text/html")


def _link(text: str, path: str) -> str:
    return re.search(re.escape(BASE) + "(" + re.escape(path) + r"\S*)", text).group(1)


@pytest.mark.django_db
@override_settings(ACCUEIL_BASE_URL=BASE)
def test_the_sign_up_e_mail_comes_from_the_clinic_and_links_to_the_portal(french, clinic_with_logo):
    french.post("/accounts/signup/", SIGNUP)

    (message,) = mail.outbox
    assert message.from_email == "Clinique des Tests <contact@clinique-tests.fr>"
    assert "Clinique des Tests" in message.subject
    assert "Clinique des Tests" in message.body
    assert "testserver" not in message.body
    assert "127.0.0.1" not in message.body
    assert "Bonjour" in message.body
    assert "04 78 00 00 00" in message.body
    link = _link(message.body, "/accounts/confirm-email/")
    assert french.get(link).status_code == 200
    html = _html(message)
    assert f'<img src="{BASE}/clinic/logo/?v=' in html
    assert "Clinique des Tests" in html
    assert f'href="{BASE}/accounts/confirm-email/' in html


@pytest.mark.django_db
@override_settings(ACCUEIL_BASE_URL=BASE, DEFAULT_FROM_EMAIL="Accueil <accueil@clinique.example>")
def test_without_its_own_address_the_clinic_signs_with_the_default_address(client, clinic):
    client.post("/accounts/signup/", SIGNUP)

    (message,) = mail.outbox
    assert message.from_email == "Clinique des Tests <accueil@clinique.example>"
    assert "<img" not in _html(message)  # no logo uploaded: the name alone


@pytest.mark.django_db
@override_settings(ACCUEIL_BASE_URL=BASE)
def test_the_password_reset_e_mail_links_to_the_portal(french, client_user, clinic_with_logo):
    french.post("/accounts/password/reset/", {"email": client_user.email})

    (message,) = mail.outbox
    assert message.from_email == "Clinique des Tests <contact@clinique-tests.fr>"
    assert "Clinique des Tests" in message.subject
    assert "mot de passe" in message.body
    link = _link(message.body, "/accounts/password/reset/key/")
    assert french.get(link, follow=True).status_code == 200


@pytest.mark.django_db
@override_settings(ACCUEIL_BASE_URL=BASE)
def test_the_invitation_comes_from_the_clinic_with_a_link_on_the_base_url(
    as_manager, clinic_with_logo
):
    as_manager.post("/staff/team/", {"email": "nouvelle@example.com", "role": Role.VET})

    (message,) = mail.outbox
    assert message.from_email == "Clinique des Tests <contact@clinique-tests.fr>"
    assert re.search(re.escape(BASE) + r"/invitation/\S+/", message.body)
    assert "testserver" not in message.body
    assert "<img" in _html(message)


@pytest.mark.django_db
def test_a_clinic_name_with_a_comma_is_quoted_in_the_sender(clinic):
    clinic.name = "Clinique Vétérinaire, Lyon"
    clinic.email = "contact@example.fr"
    clinic.save()

    assert clinic_sender(Clinic.current()) == '"Clinique Vétérinaire, Lyon" <contact@example.fr>'
