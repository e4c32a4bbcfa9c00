"""A pet-sitter books, writes to the clinic and sees upcoming care; the reports are not theirs."""

from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from household import services
from records import services as records
from records.models import Guardianship
from tests import factories
from tests.records.factories import make_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def sitter(client_user, filou, invitee):
    invitation, _token = services.invite(
        inviter=client_user.client,
        by=client_user,
        email=invitee.email,
        role=Guardianship.Role.SITTER,
        patients=[filou],
    )
    services.accept(invitation=invitation, client=invitee.client, by=invitee)
    return invitee


@pytest.fixture
def report(filou, vet):
    return make_report(filou, vet, title="Blood test", content=b"%PDF-1.4 household test\n")


@pytest.fixture
def rabies_due(filou, vet):
    today = timezone.localdate()
    records.record_vaccination(
        patient=filou,
        practitioner=vet,
        vaccine="rabies",
        batch="",
        on=today,
        next_due=today + timedelta(days=20),
        title="Rabies",
    )


def test_a_sitter_opening_a_report_gets_a_404(sitter, report, as_client):
    http = factories.http_client(sitter)

    response = http.get(reverse("records:report_download", args=[report.pk]))

    assert response.status_code == 404
    assert "Filou" not in response.content.decode()
    # The owner still gets it: the id is right, the role is not.
    assert as_client.get(reverse("records:report_download", args=[report.pk])).status_code == 200


def test_a_sitter_does_not_see_the_reports_section(sitter, report, filou):
    page = factories.http_client(sitter).get(reverse("records:animal", args=[filou.pk]))

    body = page.content.decode()
    assert page.status_code == 200
    assert "Filou" in body
    assert "Reports and results" not in body
    assert "Blood test" not in body
    assert reverse("records:report_download", args=[report.pk]) not in body


def test_a_sitter_sees_the_animals_upcoming_care(sitter, filou, rabies_due):
    http = factories.http_client(sitter)

    animal = http.get(reverse("records:animal", args=[filou.pk])).content.decode()
    mine = http.get(reverse("records:my_animals")).content.decode()

    assert "Upcoming care" in animal
    assert "Rabies" in animal
    assert "Filou" in mine
    assert "Rabies" in mine


def test_a_sitter_in_french(sitter, filou, report, rabies_due):
    http = HttpClient()
    http.force_login(sitter)

    body = http.get(reverse("records:animal", args=[filou.pk])).content.decode()

    assert "Soins à venir" in body
    assert "Rage" in body
    assert "Comptes rendus" not in body
    assert "Blood test" not in body


def test_once_removed_the_sitter_sees_nothing_of_the_animal(sitter, filou, client_user):
    link = Guardianship.objects.get(client=sitter.client)
    factories.http_client(client_user).post(reverse("household:revoke", args=[link.pk]))

    response = factories.http_client(sitter).get(reverse("records:animal", args=[filou.pk]))

    assert response.status_code == 404
