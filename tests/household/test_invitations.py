"""An owner invites a co-owner or a pet-sitter by e-mail; they accept with their own account."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse

from household import services
from household.models import HouseholdEvent, HouseholdInvitation, hash_token
from records.models import Guardianship
from tests import factories

pytestmark = pytest.mark.django_db

SITTER = Guardianship.Role.SITTER
CO_OWNER = Guardianship.Role.CO_OWNER


def _invite(http, email: str, patients, role: str = SITTER):
    return http.post(
        reverse("household:invite"),
        {"email": email, "role": role, "patients": [patient.pk for patient in patients]},
    )


def client_user_of(patient):
    return patient.guardianships.get(role=Guardianship.Role.OWNER).client.user


def _token_from_mail() -> str:
    (message,) = mail.outbox
    return re.search(r"/household/join/([^/\s]+)/", message.body).group(1)


def test_the_whole_cycle_invite_accept_revoke(as_client, client_user, filou, moka, invitee):
    response = _invite(as_client, invitee.email, [filou])
    assert response.status_code == 302

    (message,) = mail.outbox
    assert message.to == [invitee.email]
    assert "Camille Martin" in message.subject
    assert "Filou" in message.body
    assert "Moka" not in message.body
    assert "not the reports" in message.body
    token = _token_from_mail()
    invitation = HouseholdInvitation.objects.get()
    # Only the hash is stored: the database alone gives no usable link.
    assert invitation.token_hash == hash_token(token)
    assert token not in invitation.token_hash
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)

    http = factories.http_client(invitee)
    page = http.get(reverse("household:join", args=[token])).content.decode()
    assert "Camille Martin shares animals with you" in page
    assert "Filou" in page
    assert "Moka" not in page
    assert "The reports stay with the owners" in page

    accepted = http.post(reverse("household:join", args=[token]))
    assert accepted.status_code == 302
    link = Guardianship.objects.get(client=invitee.client)
    assert (link.patient, link.role) == (filou, SITTER)
    invitation.refresh_from_db()
    assert invitation.accepted_by == invitee.client
    assert invitation.accepted_at is not None

    # The owner sees who shares Filou, since when, and can take it back.
    household = as_client.get(reverse("household:home")).content.decode()
    assert "Sam Gardien" in household
    assert "Pet-sitter" in household
    assert "since 06/10/2026" in household
    assert as_client.post(reverse("household:revoke", args=[link.pk])).status_code == 302
    assert not Guardianship.objects.filter(client=invitee.client).exists()

    kinds = list(HouseholdEvent.objects.order_by("pk").values_list("kind", "patient", "client"))
    assert kinds == [
        ("invited", filou.pk, None),
        ("accepted", filou.pk, invitee.client.pk),
        ("revoked", filou.pk, invitee.client.pk),
    ]


def test_a_co_owner_gets_the_reports_role(as_client, filou, moka, invitee):
    _invite(as_client, invitee.email, [filou, moka], role=CO_OWNER)
    http = factories.http_client(invitee)
    http.post(reverse("household:join", args=[_token_from_mail()]))
    roles = set(Guardianship.objects.filter(client=invitee.client).values_list("patient", "role"))
    assert roles == {(filou.pk, CO_OWNER), (moka.pk, CO_OWNER)}


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(as_client, filou, invitee, client):
    _invite(as_client, invitee.email, [filou])
    token = _token_from_mail()

    response = client.get(reverse("household:join", args=[token]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert f"next=/household/join/{token}/" in response["Location"]
    assert not Guardianship.objects.filter(client=invitee.client).exists()


def test_a_tampered_token_says_so_and_names_nobody(as_client, filou, invitee, as_invitee):
    _invite(as_client, invitee.email, [filou])
    token = _token_from_mail()
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")

    seen = as_invitee.get(reverse("household:join", args=[tampered]))
    posted = as_invitee.post(reverse("household:join", args=[tampered]))

    for response in (seen, posted):
        assert response.status_code == 410
        body = response.content.decode()
        assert "The link is incomplete or wrong" in body
        assert "Camille" not in body
        assert "Filou" not in body
    assert not Guardianship.objects.filter(client=invitee.client).exists()


def test_an_expired_invitation_says_so_and_links_nothing(as_client, filou, invitee, clock):
    _invite(as_client, invitee.email, [filou])
    token = _token_from_mail()

    clock.shift(timedelta(days=7, seconds=1))
    as_client = factories.http_client(client_user_of(filou))  # a week later: a new sign-in
    response = factories.http_client(invitee).post(reverse("household:join", args=[token]))

    assert response.status_code == 410
    body = response.content.decode()
    assert "It has expired" in body
    assert "Camille" not in body
    assert "Filou" not in body
    assert not Guardianship.objects.filter(client=invitee.client).exists()
    # No longer listed as waiting on the owner's page.
    assert "No invitation waiting." in as_client.get(reverse("household:home")).content.decode()


def test_a_used_link_works_once(as_client, filou, invitee, as_invitee, as_other_client):
    _invite(as_client, invitee.email, [filou])
    token = _token_from_mail()
    as_invitee.post(reverse("household:join", args=[token]))

    again = as_other_client.post(reverse("household:join", args=[token]))

    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert "Filou" not in again.content.decode()
    assert Guardianship.objects.filter(patient=filou).count() == 2


def test_a_cancelled_invitation_stops_working(as_client, filou, invitee, as_invitee):
    _invite(as_client, invitee.email, [filou])
    token = _token_from_mail()
    invitation = HouseholdInvitation.objects.get()

    as_client.post(reverse("household:cancel", args=[invitation.pk]))
    response = as_invitee.post(reverse("household:join", args=[token]))

    assert response.status_code == 410
    assert "cancelled by the person who sent it" in response.content.decode()
    assert not Guardianship.objects.filter(client=invitee.client).exists()
    assert list(HouseholdEvent.objects.order_by("pk").values_list("kind", flat=True)) == [
        "invited",
        "cancelled",
    ]


def test_the_inviter_cannot_accept_their_own_link(as_client, client_user, filou, invitee):
    _invite(as_client, invitee.email, [filou])
    token = _token_from_mail()

    response = as_client.post(reverse("household:join", args=[token]))

    assert response.status_code == 400
    assert HouseholdInvitation.objects.get().accepted_at is None


def test_the_inviter_cannot_invite_themselves(as_client, client_user, filou):
    response = _invite(as_client, client_user.email.upper(), [filou])

    assert response.status_code == 400
    assert "This is your own address" in response.content.decode()
    assert not HouseholdInvitation.objects.exists()
    assert mail.outbox == []


def test_an_address_already_linked_is_told(as_client, filou, moka, invitee):
    Guardianship.objects.create(patient=filou, client=invitee.client, role=SITTER)

    response = _invite(as_client, invitee.email, [filou, moka])

    assert response.status_code == 400
    assert "This person already shares Filou" in response.content.decode()
    assert not HouseholdInvitation.objects.exists()
    assert mail.outbox == []


def test_a_second_invitation_to_a_waiting_address_is_refused(as_client, filou, moka, invitee):
    _invite(as_client, invitee.email, [filou])

    response = _invite(as_client, invitee.email, [moka])

    assert response.status_code == 400
    assert "already waiting" in response.content.decode()
    assert HouseholdInvitation.objects.count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "data",
    [
        {"email": "not-an-address", "role": SITTER},
        {"email": "sam@example.com", "role": Guardianship.Role.OWNER},
        {"email": "sam@example.com", "role": SITTER, "patients": []},
    ],
    ids=["bad e-mail", "owner role", "no animal"],
)
def test_bad_input_gives_a_field_error_and_changes_nothing(as_client, filou, data):
    data = {"patients": [filou.pk], **data}
    response = as_client.post(reverse("household:invite"), data)

    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert not HouseholdInvitation.objects.exists()
    assert not HouseholdEvent.objects.exists()


def test_only_an_owner_may_share_an_animal(
    as_client, filou, other_client_user, as_other_client, invitee
):
    """A stranger's animal id, or one they only co-own, is not one of the choices."""
    stranger_dog = factories.make_patient(other_client_user, name="Rex")
    Guardianship.objects.create(patient=filou, client=other_client_user.client, role=CO_OWNER)

    mine = _invite(as_client, invitee.email, [stranger_dog])
    co_owned = _invite(as_other_client, invitee.email, [filou])

    assert mine.status_code == co_owned.status_code == 400
    assert not HouseholdInvitation.objects.exists()
    assert mail.outbox == []


def test_a_person_already_linked_keeps_the_stronger_link(client_user, filou, moka, invitee):
    camille = client_user.client
    _invitation, token = services.invite(
        inviter=camille, by=client_user, email=invitee.email, role=SITTER, patients=[filou, moka]
    )
    # Meanwhile the clinic made Sam a co-owner of Filou.
    Guardianship.objects.create(patient=filou, client=invitee.client, role=CO_OWNER)

    factories.http_client(invitee).post(reverse("household:join", args=[token]))

    roles = dict(Guardianship.objects.filter(client=invitee.client).values_list("patient", "role"))
    assert roles == {filou.pk: CO_OWNER, moka.pk: SITTER}


def test_accepting_upgrades_a_weaker_link(client_user, filou, invitee):
    _invitation, token = services.invite(
        inviter=client_user.client,
        by=client_user,
        email=invitee.email,
        role=CO_OWNER,
        patients=[filou],
    )
    Guardianship.objects.create(patient=filou, client=invitee.client, role=SITTER)

    factories.http_client(invitee).post(reverse("household:join", args=[token]))

    assert Guardianship.objects.get(client=invitee.client).role == CO_OWNER


def test_an_animal_the_inviter_no_longer_owns_is_left_out(client_user, filou, moka, invitee):
    _invitation, token = services.invite(
        inviter=client_user.client,
        by=client_user,
        email=invitee.email,
        role=SITTER,
        patients=[filou, moka],
    )
    Guardianship.objects.filter(patient=moka, client=client_user.client).update(role=CO_OWNER)

    factories.http_client(invitee).post(reverse("household:join", args=[token]))

    assert list(
        Guardianship.objects.filter(client=invitee.client).values_list("patient", flat=True)
    ) == [filou.pk]


def test_an_owner_sends_at_most_ten_invitations_a_day(as_client, filou, clock):
    for number in range(services.DAILY_INVITATIONS):
        assert _invite(as_client, f"friend{number}@example.com", [filou]).status_code == 302

    refused = _invite(as_client, "one-more@example.com", [filou])
    assert refused.status_code == 400
    assert "try again tomorrow" in refused.content.decode()

    clock.shift(timedelta(days=1, seconds=1))
    as_client = factories.http_client(client_user_of(filou))  # the next day: a new sign-in
    assert _invite(as_client, "one-more@example.com", [filou]).status_code == 302


def test_the_invitation_and_the_accept_page_in_french(client_user, filou, invitee):
    http = HttpClient()  # no language asked: French, the default
    http.force_login(client_user)
    http.post(
        reverse("household:invite"),
        {"email": invitee.email, "role": SITTER, "patients": [filou.pk]},
    )
    (message,) = mail.outbox
    assert message.subject.startswith("Camille Martin partage ses animaux avec vous")
    assert "pet-sitter" in message.body
    assert "pas les comptes rendus" in message.body
    assert "Le lien fonctionne une seule fois, pendant 7 jours." in message.body

    sam = HttpClient()
    sam.force_login(invitee)
    page = sam.get(reverse("household:join", args=[_token_from_mail()])).content.decode()
    assert "Camille Martin partage des animaux avec vous" in page
    assert "Accepter" in page
    wrong = sam.get(reverse("household:join", args=["nope"])).content.decode()
    assert "Ce lien d'invitation ne fonctionne pas" in wrong


def test_staff_cannot_accept_a_household_invitation(as_client, filou, invitee, as_reception):
    _invite(as_client, invitee.email, [filou])

    response = as_reception.post(reverse("household:join", args=[_token_from_mail()]))

    assert response.status_code == 403
    assert HouseholdInvitation.objects.get().accepted_at is None


def test_a_forwarded_link_opens_nothing_for_another_address(as_client, filou, invitee):
    _invite(as_client, invitee.email, [filou])
    token = _token_from_mail()
    someone = factories.make_client_user(first_name="Quelqu'un", email="autre@example.com")
    http = factories.http_client(someone)
    url = reverse("household:join", args=[token])
    page = http.get(url)
    assert page.status_code == 403
    assert "Filou" not in page.content.decode()
    assert f"{invitee.email[0]}•••@" in page.content.decode()
    assert http.post(url).status_code == 403
    assert not Guardianship.objects.filter(client=someone.client).exists()
    invitation = HouseholdInvitation.objects.get()
    with pytest.raises(services.HouseholdError):
        services.accept(invitation=invitation, client=someone.client, by=someone)
    assert factories.http_client(invitee).get(url).status_code == 200
