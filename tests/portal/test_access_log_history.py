"""A client sees who at the clinic opened their animals' files: staff reads only, never another
client's lines nor their own."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from portal.models import AccessLog
from records.models import Guardianship
from tests import factories
from tests.records.factories import make_report

pytestmark = pytest.mark.django_db

URL = reverse("records:access_history")
FR = {"accept-language": "fr"}


def read(user, object_type: str, object_id, *, action="view", day: int = 10) -> AccessLog:
    entry = AccessLog(
        user=user,
        at=datetime(2026, 3, day, 9, 0, tzinfo=UTC),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
    )
    entry.save()
    return entry


@pytest.fixture
def filou(client_user):
    return factories.make_patient(client_user, name="Filou")


@pytest.fixture
def mistigri(other_client_user):
    return factories.make_patient(other_client_user, name="Mistigri", species="cat")


@pytest.fixture
def reads(filou, mistigri, vet, reception, client_user, other_client_user):
    report = make_report(filou, vet, title="Radio")
    return {
        "vet on filou": read(vet, "patient", filou.pk, day=10),
        "reception photo": read(reception, "patient_photo", filou.pk, day=11),
        "vet report": read(vet, "report", report.pk, action="download", day=12),
        "owner own": read(client_user, "patient", filou.pk, day=13),
        "stranger try": read(other_client_user, "patient", filou.pk, action="denied", day=14),
        "vet on mistigri": read(vet, "patient", mistigri.pk, day=15),
    }


def test_the_owner_sees_the_clinics_reads_of_their_animal(as_client, reads, vet, reception):
    response = as_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<tr>") == 1 + 3  # the header, then three staff reads
    assert vet.get_full_name() in page
    assert "Veterinarian" in page
    assert reception.get_full_name() in page
    assert "Patient photo" in page
    assert "Report · downloaded" in page
    assert "Filou" in page


def test_never_another_clients_lines_nor_the_clients_own(
    as_client, reads, client_user, other_client_user
):
    page = as_client.get(URL).content.decode()
    assert other_client_user.get_full_name() not in page
    assert client_user.get_full_name() not in page.split("<main", 1)[-1].split("</table>")[0]
    assert "Mistigri" not in page
    assert "was refused" not in page


def test_the_stranger_sees_only_their_own_animals_reads(as_other_client, reads, vet):
    page = as_other_client.get(URL).content.decode()
    assert "Mistigri" in page
    assert "Filou" not in page
    assert page.count("<tr>") == 1 + 1


def test_one_animal_from_its_page(as_client, reads, filou):
    animal = as_client.get(reverse("records:animal", args=[filou.pk])).content.decode()
    assert f"{URL}?patient={filou.pk}" in animal
    page = as_client.get(URL, {"patient": filou.pk}).content.decode()
    assert "Who at the clinic opened Filou's file" in page


def test_a_stranger_asking_for_someone_elses_animal_gets_404_and_a_log_line(
    as_other_client, other_client_user, reads, filou
):
    response = as_other_client.get(URL, {"patient": filou.pk})
    assert response.status_code == 404
    assert "Filou" not in response.content.decode()
    line = AccessLog.objects.order_by("-pk").first()
    assert (line.user, line.action, line.object_type, line.object_id) == (
        other_client_user,
        "denied",
        "patient",
        str(filou.pk),
    )


@pytest.mark.parametrize("bad", ["abc", "-1", "99999999"])
def test_nonsense_is_a_404(as_client, reads, bad):
    assert as_client.get(URL, {"patient": bad}).status_code == 404


def test_a_pet_sitter_does_not_see_who_read_the_reports(reads, filou, clinic):
    sitter = factories.make_client_user(first_name="Sam", last_name="Sitter")
    Guardianship.objects.create(patient=filou, client=sitter.client, role="sitter")
    http = factories.http_client(sitter)
    assert http.get(URL, {"patient": filou.pk}).status_code == 404
    page = http.get(URL).content.decode()
    assert "Nobody at the clinic has opened these files yet." in page


def test_staff_are_refused(as_vet, as_manager):
    for http in (as_vet, as_manager):
        assert http.get(URL).status_code == 403


def test_it_speaks_french(as_client, reads):
    page = as_client.get(URL, headers=FR).content.decode()
    assert "Qui a ouvert les dossiers de mes animaux" in page
    assert "Photo de l'animal" in page or "Photo de l&#x27;animal" in page


def test_the_page_has_a_bounded_number_of_queries(
    as_client, filou, vet, django_assert_max_num_queries
):
    for day in range(1, 28):
        for _ in range(3):
            read(vet, "patient", filou.pk, day=day)
    as_client.get(URL)
    with django_assert_max_num_queries(10):
        page = as_client.get(URL).content.decode()
    assert "Page 1 of 2" in page
