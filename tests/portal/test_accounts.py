import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone

from portal.models import Client, Role, User
from tests import factories

# Links in e-mails start with the public base URL, not the host of the request that sent them.
BASE = re.escape(settings.ACCUEIL_BASE_URL.rstrip("/"))

SIGNUP = {
    "first_name": "Margaux",
    "last_name": "Vidal",
    "email": "margaux.vidal@example.com",
    "phone": "06 12 34 56 78",
    "password1": "Vraiment-long-2026",
    "password2": "Vraiment-long-2026",
}


def _confirmation_link(message) -> str:
    return re.search(BASE + r"(/accounts/confirm-email/\S+)", message.body).group(1)


# A page that needs a session: "/" is the clinic's public page for anyone signed out.
SIGNED_IN_PAGE = "/account/2fa/"


@pytest.mark.django_db
def test_it_signs_up_a_client_who_must_verify_the_email_first(client, clinic):
    response = client.post("/accounts/signup/", SIGNUP)

    assert response.status_code == 302
    assert response.url == "/accounts/confirm-email/"
    user = User.objects.get(email="margaux.vidal@example.com")
    assert user.role == Role.CLIENT
    assert user.client.phone == "+33612345678"
    assert user.client.first_name == "Margaux"
    assert len(mail.outbox) == 1
    # Not logged in until the e-mail is verified ("/" is public: a page that needs a session).
    assert client.get(SIGNED_IN_PAGE).status_code == 302


@pytest.mark.django_db
def test_it_logs_the_client_in_once_the_email_is_verified(client, clinic):
    client.post("/accounts/signup/", SIGNUP)
    link = _confirmation_link(mail.outbox[0])

    response = client.post(link)

    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "Margaux" in home.content.decode()


@pytest.mark.django_db
def test_it_refuses_to_log_in_with_an_unverified_email(client, clinic):
    client.post("/accounts/signup/", SIGNUP)
    client.logout()
    mail.outbox.clear()

    login = {"login": SIGNUP["email"], "password": SIGNUP["password1"]}
    response = client.post("/accounts/login/", login)

    assert response.status_code == 302
    assert response.url == "/accounts/confirm-email/"
    assert client.get(SIGNED_IN_PAGE).status_code == 302
    assert mail.outbox == []  # at most one link every 3 minutes (allauth's rate limit)
    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        client.post("/accounts/login/", login)
    assert len(mail.outbox) == 1  # then a fresh verification link is sent


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("password2", "something-else-2026", "You must type the same password each time."),
        ("password1", "12345678", "This password is too common."),
        ("email", "not-an-email", "Enter a valid email address."),
        ("phone", "12", "Enter a valid phone number"),
        ("first_name", "", "This field is required."),
    ],
)
def test_it_explains_bad_signup_input_and_creates_nothing(client, clinic, field, value, message):
    data = SIGNUP | {field: value}
    if field == "password1":
        data["password2"] = value

    response = client.post("/accounts/signup/", data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()
    assert not Client.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_second_signup_with_a_taken_email_tells_the_owner_not_the_visitor(client, client_user):
    # allauth's enumeration protection: the visitor sees the usual "check your e-mail" page,
    # and the address's owner is told someone tried to sign up with it.
    response = client.post("/accounts/signup/", SIGNUP | {"email": client_user.email.upper()})

    assert response.status_code == 302
    assert User.objects.count() == 1
    assert mail.outbox[0].to == [client_user.email]
    assert "already" in mail.outbox[0].body


@pytest.mark.django_db
def test_it_rejects_a_wrong_password_with_a_message(client, client_user):
    response = client.post(
        "/accounts/login/", {"login": client_user.email, "password": "wrong-password"}
    )

    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert client.get(SIGNED_IN_PAGE).status_code == 302


@pytest.mark.django_db
def test_it_rate_limits_repeated_failed_logins(client, client_user):
    for _ in range(5):
        client.post("/accounts/login/", {"login": client_user.email, "password": "nope"})

    response = client.post(
        "/accounts/login/", {"login": client_user.email, "password": factories.PASSWORD}
    )

    assert "Too many failed sign-in attempts" in response.content.decode()
    assert client.get(SIGNED_IN_PAGE).status_code == 302


@pytest.mark.django_db
def test_it_resets_a_forgotten_password_by_email(client, client_user):
    client.post("/accounts/password/reset/", {"email": client_user.email})
    link = re.search(BASE + r"(/accounts/password/reset/key/\S+)", mail.outbox[0].body)

    form = client.get(link.group(1), follow=True)
    response = client.post(
        form.redirect_chain[-1][0],
        {"password1": "Nouveau-mot-2026", "password2": "Nouveau-mot-2026"},
    )

    assert response.status_code == 302
    client_user.refresh_from_db()
    assert client_user.check_password("Nouveau-mot-2026")


@pytest.mark.django_db
def test_it_lets_a_client_correct_their_contact_details(as_client, client_user):
    response = as_client.post(
        "/account/profile/",
        {
            "first_name": "Camille",
            "last_name": "Martin-Roy",
            "phone": "07 81 22 33 44",
            "address": "",
            "preferred_language": "en",
        },
    )

    assert response.status_code == 302
    client_user.client.refresh_from_db()
    assert client_user.client.last_name == "Martin-Roy"
    assert client_user.client.phone == "+33781223344"


@pytest.mark.django_db
def test_it_keeps_contact_details_when_the_phone_is_invalid(as_client, client_user):
    response = as_client.post(
        "/account/profile/",
        {"first_name": "Camille", "last_name": "X", "phone": "abc", "preferred_language": "fr"},
    )

    assert response.status_code == 200
    assert "Enter a valid phone number" in response.content.decode()
    client_user.client.refresh_from_db()
    assert client_user.client.last_name == "Martin"
