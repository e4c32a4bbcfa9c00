import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone

from portal.models import Client, Invitation, Role, User
from tests import factories

# Links in e-mails start with the public base URL, not the host of the request that sent them.
BASE = re.escape(settings.ACCUEIL_BASE_URL.rstrip("/"))


def _invitation_path(message) -> str:
    return re.search(BASE + r"(/invitation/\S+/)", message.body).group(1)


def _accept(http, path: str, **overrides) -> object:
    response = http.get(path)
    assert response.status_code == 302, response.content
    email = re.search(r"email=([^&]+)", response.url).group(1)
    data = {
        "first_name": "Iris",
        "last_name": "Perrin",
        "email": email,
        "password1": "Encore-plus-long-26",
        "password2": "Encore-plus-long-26",
    } | overrides
    return http.post("/accounts/signup/", data)


@pytest.mark.django_db
def test_a_manager_invites_a_vet_who_joins_with_that_role(as_manager, client):
    response = as_manager.post("/staff/team/", {"email": "iris.perrin@example.com", "role": "vet"})
    assert response.status_code == 302
    assert mail.outbox[0].to == ["iris.perrin@example.com"]

    signup = _accept(client, _invitation_path(mail.outbox[0]))

    user = User.objects.get(email="iris.perrin@example.com")
    assert user.role == Role.VET
    # The invitation link proved the address: no verification e-mail, straight to 2FA enrolment.
    assert len(mail.outbox) == 1
    assert signup.status_code == 302
    assert client.get("/").url == "/account/2fa/setup/"
    assert not Client.objects.filter(user=user).exists()
    assert Invitation.objects.get().accepted_at is not None


@pytest.mark.django_db
def test_an_invited_client_is_linked_to_the_existing_record(as_reception, client):
    record = factories.make_client(first_name="Iris", last_name="Perrin", email="iris@example.com")
    as_reception.post(f"/staff/clients/{record.pk}/invite/")

    _accept(client, _invitation_path(mail.outbox[0]))

    record.refresh_from_db()
    assert record.user is not None
    assert record.user.email == "iris@example.com"
    assert record.user.role == Role.CLIENT
    assert Client.objects.count() == 1


@pytest.mark.django_db
def test_the_role_comes_from_the_invitation_not_from_the_form(as_manager, client):
    as_manager.post("/staff/team/", {"email": "iris.perrin@example.com", "role": "reception"})

    _accept(client, _invitation_path(mail.outbox[0]), role="manager")

    assert User.objects.get(email="iris.perrin@example.com").role == Role.RECEPTION


@pytest.mark.django_db
def test_an_expired_invitation_explains_what_to_do_and_creates_nothing(as_manager, client):
    as_manager.post("/staff/team/", {"email": "late@example.com", "role": "vet"})
    path = _invitation_path(mail.outbox[0])
    users = User.objects.count()

    with time_machine.travel(timezone.now() + Invitation.VALIDITY + timedelta(minutes=1)):
        response = client.get(path)

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert User.objects.count() == users


@pytest.mark.django_db
def test_a_used_invitation_cannot_be_used_again(as_manager, client):
    as_manager.post("/staff/team/", {"email": "once@example.com", "role": "vet"})
    path = _invitation_path(mail.outbox[0])
    _accept(client, path)
    client.logout()

    response = client.get(path)

    assert response.status_code == 410
    assert "already been used" in response.content.decode()


@pytest.mark.django_db
def test_a_tampered_invitation_token_is_refused(client, clinic):
    response = client.get("/invitation/not-a-real-token/")

    assert response.status_code == 410
    assert "incomplete or wrong" in response.content.decode()


@pytest.mark.django_db
def test_only_a_manager_may_invite_staff(as_reception, as_client):
    for http in (as_reception, as_client):
        response = http.post("/staff/team/", {"email": "x@example.com", "role": "manager"})
        assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_inviting_an_existing_account_is_refused_with_a_message(as_manager, vet):
    response = as_manager.post("/staff/team/", {"email": vet.email, "role": "vet"})

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_a_client_cannot_invite_anyone(as_client):
    record = factories.make_client(email="other@example.com")

    response = as_client.post(f"/staff/clients/{record.pk}/invite/")

    assert response.status_code == 403
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_it_stores_only_a_hash_of_the_token(as_manager):
    as_manager.post("/staff/team/", {"email": "hash@example.com", "role": "vet"})
    token = _invitation_path(mail.outbox[0]).split("/")[2]

    assert token not in Invitation.objects.get().token_hash
