"""The household page: who shares my animals, Remove, Stop sharing, Cancel, and the journal."""

from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from household import services
from household.models import HouseholdEvent, HouseholdInvitation
from portal.models import AccessLog
from records.models import Guardianship
from tests import factories

pytestmark = pytest.mark.django_db

SITTER = Guardianship.Role.SITTER
CO_OWNER = Guardianship.Role.CO_OWNER
OWNER = Guardianship.Role.OWNER


def _share(owner_user, patient, person_user, role: str = SITTER) -> Guardianship:
    """Through the real services, so the journal holds the invitation and its acceptance."""
    invitation, _token = services.invite(
        inviter=owner_user.client,
        by=owner_user,
        email=person_user.email,
        role=role,
        patients=[patient],
    )
    services.accept(invitation=invitation, client=person_user.client, by=person_user)
    return Guardianship.objects.get(patient=patient, client=person_user.client)


def test_a_sitter_sees_what_is_shared_with_them_and_can_leave(client_user, filou, invitee):
    link = _share(client_user, filou, invitee)
    http = factories.http_client(invitee)

    page = http.get(reverse("household:home")).content.decode()
    assert "Animals shared with me" in page
    assert "Filou" in page
    assert "Pet-sitter" in page
    assert "Invite someone" not in page  # Sam owns no animal

    assert http.post(reverse("household:leave", args=[link.pk])).status_code == 302
    assert not Guardianship.objects.filter(pk=link.pk).exists()
    event = HouseholdEvent.objects.order_by("-pk").first()
    assert (event.kind, event.actor, event.client, event.patient) == (
        "left",
        invitee.client,
        invitee.client,
        filou,
    )
    # The owner reads it in her journal.
    owner_page = factories.http_client(client_user).get(reverse("household:home"))
    assert "left" in owner_page.content.decode()


def test_a_stranger_cannot_revoke_leave_or_cancel_others_rows(
    client_user, filou, invitee, other_client_user, as_other_client
):
    link = _share(client_user, filou, invitee)
    owner_link = Guardianship.objects.get(patient=filou, client=client_user.client)
    invitation, _token = services.invite(
        inviter=client_user.client,
        by=client_user,
        email="later@example.com",
        role=SITTER,
        patients=[filou],
    )

    for url in (
        reverse("household:revoke", args=[link.pk]),
        reverse("household:revoke", args=[owner_link.pk]),
        reverse("household:leave", args=[link.pk]),
        reverse("household:cancel", args=[invitation.pk]),
    ):
        response = as_other_client.post(url)
        assert response.status_code == 404, url
        body = response.content.decode()
        assert "Filou" not in body
        assert "Camille" not in body
        assert "Sam" not in body

    assert Guardianship.objects.filter(patient=filou).count() == 2
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert AccessLog.objects.filter(action="denied", object_type="guardianship").count() == 3
    assert AccessLog.objects.filter(action="denied", object_type="household_invitation").exists()


def test_a_co_owner_or_a_sitter_cannot_remove_anyone(client_user, filou, invitee):
    partner = factories.make_client_user(first_name="Alex", last_name="Partner")
    co_owner_link = _share(client_user, filou, partner, role=CO_OWNER)
    sitter_link = _share(client_user, filou, invitee)

    as_partner = factories.http_client(partner)
    as_sitter = factories.http_client(invitee)

    assert as_partner.post(reverse("household:revoke", args=[sitter_link.pk])).status_code == 404
    assert as_sitter.post(reverse("household:revoke", args=[co_owner_link.pk])).status_code == 404
    assert Guardianship.objects.filter(patient=filou).count() == 3


def test_the_last_owner_cannot_be_removed(client_user, as_client, filou):
    own = Guardianship.objects.get(patient=filou, client=client_user.client)

    revoked = as_client.post(reverse("household:revoke", args=[own.pk]), follow=True)
    left = as_client.post(reverse("household:leave", args=[own.pk]), follow=True)

    assert "use “Stop sharing”" in revoked.content.decode()
    assert "The last owner cannot be removed" in left.content.decode()
    assert Guardianship.objects.filter(pk=own.pk, role=OWNER).exists()
    assert not HouseholdEvent.objects.exists()


def test_one_of_two_owners_may_remove_the_other_but_not_the_last(
    client_user, as_client, filou, other_client_user
):
    other = Guardianship.objects.create(patient=filou, client=other_client_user.client, role=OWNER)
    mine = Guardianship.objects.get(patient=filou, client=client_user.client)

    as_client.post(reverse("household:revoke", args=[other.pk]))
    assert not Guardianship.objects.filter(pk=other.pk).exists()

    as_client.post(reverse("household:leave", args=[mine.pk]))
    assert Guardianship.objects.filter(pk=mine.pk).exists()


def test_revoking_twice_says_it_is_done(client_user, as_client, filou, invitee):
    link = _share(client_user, filou, invitee)
    as_client.post(reverse("household:revoke", args=[link.pk]))

    again = as_client.post(reverse("household:revoke", args=[link.pk]))

    assert again.status_code == 404  # gone: nothing to remove, nothing said about anyone
    assert HouseholdEvent.objects.filter(kind="revoked").count() == 1


def test_cancelling_an_accepted_invitation_is_refused(client_user, as_client, filou, invitee):
    _share(client_user, filou, invitee)
    invitation = HouseholdInvitation.objects.get()

    response = as_client.post(reverse("household:cancel", args=[invitation.pk]), follow=True)

    assert "already accepted" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert Guardianship.objects.filter(client=invitee.client).exists()


def test_the_write_endpoints_refuse_get(client_user, as_client, filou, invitee):
    link = _share(client_user, filou, invitee)
    for url in (
        reverse("household:invite"),
        reverse("household:revoke", args=[link.pk]),
        reverse("household:leave", args=[link.pk]),
        reverse("household:cancel", args=[HouseholdInvitation.objects.get().pk]),
    ):
        assert as_client.get(url).status_code == 405, url
    assert Guardianship.objects.filter(pk=link.pk).exists()


def test_the_page_in_french(client_user, filou, invitee):
    _share(client_user, filou, invitee)
    http = HttpClient()
    http.force_login(client_user)

    page = http.get(reverse("household:home")).content.decode()

    assert "<h1>Foyer</h1>" in page
    assert "Qui partage mes animaux" in page
    assert "Garde (pet-sitter)" in page
    assert "a invité" in page
    assert "a accepté l&#x27;invitation" in page
    assert "Inviter quelqu'un" in page


def test_the_journal_is_append_only(client_user, filou, invitee):
    _share(client_user, filou, invitee)
    event = HouseholdEvent.objects.first()

    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        HouseholdEvent.objects.update(kind="left")
    with pytest.raises(PermissionError):
        HouseholdEvent.objects.all().delete()
    assert HouseholdEvent.objects.count() == 2


def test_the_journal_shows_a_stranger_nothing_of_another_household(
    client_user, filou, invitee, as_other_client
):
    _share(client_user, filou, invitee)

    page = as_other_client.get(reverse("household:home")).content.decode()

    assert "Filou" not in page
    assert "Sam" not in page
    assert "Nothing yet." in page


def test_the_page_reads_in_a_bounded_number_of_queries(
    client_user, django_assert_max_num_queries, clock
):
    for number in range(6):
        clock.shift(timedelta(days=1))  # four invitations a day: under the daily limit
        patient = factories.make_patient(client_user, name=f"Animal {number}")
        for person in range(3):
            user = factories.make_client_user(first_name=f"P{number}", last_name=f"N{person}")
            _share(client_user, patient, user, role=SITTER if person else CO_OWNER)
        services.invite(
            inviter=client_user.client,
            by=client_user,
            email=f"waiting{number}@example.com",
            role=SITTER,
            patients=[patient],
        )
    shared = factories.make_patient(factories.make_client_user(), name="Not mine")
    Guardianship.objects.create(patient=shared, client=client_user.client, role=SITTER)

    as_client = factories.http_client(client_user)
    with django_assert_max_num_queries(12):
        response = as_client.get(reverse("household:home"))

    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("household/links/") == 6 * 3 + 1
    assert "waiting5@example.com" in body
