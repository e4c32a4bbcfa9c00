"""The team's side: search, patient records, quick-add forms, corrections."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import AccessLog
from records.models import (
    CareDue,
    CorrectionRequest,
    EntryKind,
    Guardianship,
    HistoryEntry,
    Patient,
    Vaccination,
    Weight,
)
from tests import factories
from tests.records.factories import make_entry, prefixed

pytestmark = pytest.mark.django_db


def test_it_finds_clients_and_patients_by_name_phone_or_identification(
    as_reception, client_user, django_assert_max_num_queries
):
    factories.make_patient(client_user, name="Pistache", microchip="250269606012345")
    for index in range(15):
        factories.make_patient(factories.make_client(last_name=f"Pist{index}"), name=f"Pi{index}")
    url = reverse("records:search")
    page = as_reception.get(url, {"q": "pistache"}).content.decode()
    assert "Pistache" in page
    chip = as_reception.get(url, {"q": "250269606012345"}, HTTP_HX_REQUEST="true")
    assert "Pistache" in chip.content.decode()
    assert "<html" not in chip.content.decode()
    owner = as_reception.get(url, {"q": "Martin"}).content.decode()
    assert "Camille" in owner
    assert "Pistache" in owner  # the client's animals are listed with them
    with django_assert_max_num_queries(8):
        as_reception.get(url, {"q": "pist"})


def test_it_creates_a_patient_for_a_client(as_reception, client_user):
    client = client_user.client
    response = as_reception.post(
        f"{reverse('records:patient_new')}?client={client.pk}",
        {"name": "Noisette", "species": "rabbit", "sex": "f", "birth_date": "2025-04-01"},
    )
    patient = Patient.objects.get(name="Noisette")
    assert response.url == reverse("records:staff_patient", args=[patient.pk])
    assert patient.guardianships.get().client == client


def test_it_creates_a_person_patient_without_an_owner(as_reception):
    as_reception.post(
        reverse("records:patient_new"), {"name": "Léon Vidal", "species": "human", "sex": "m"}
    )
    assert Patient.objects.get(name="Léon Vidal").is_person


def test_it_refuses_a_birth_date_in_the_future(as_reception, patient):
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = as_reception.post(
        reverse("records:patient_edit", args=[patient.pk]),
        {"name": "Filou", "species": "dog", "sex": "m", "birth_date": tomorrow.isoformat()},
    )
    assert "This date is in the future." in response.content.decode()
    patient.refresh_from_db()
    assert patient.birth_date == date(2020, 5, 17)


def test_it_links_a_co_owner(as_reception, patient):
    other = factories.make_client()
    as_reception.post(
        reverse("records:patient_link", args=[patient.pk]),
        prefixed("link", client=other.pk, role="co_owner"),
    )
    assert patient.guardianships.get(client=other).role == Guardianship.Role.CO_OWNER


def test_it_shows_staff_the_internal_notes_and_logs_the_view(as_vet, vet, patient):
    make_entry(patient, internal_notes="SECRET-NOTE owner declined scaling")
    page = as_vet.get(reverse("records:staff_patient", args=[patient.pk])).content.decode()
    assert "SECRET-NOTE" in page
    log = AccessLog.objects.get()
    assert (log.user, log.action, log.object_id) == (vet, "view", str(patient.pk))


def test_it_proposes_the_next_due_date_from_the_protocol(as_vet, patient):
    url = reverse("records:add_vaccination", args=[patient.pk])
    today = timezone.localdate()
    page = as_vet.get(reverse("records:staff_patient", args=[patient.pk])).content.decode()
    # The page opens on the species' first vaccine, given today, with its booster proposed.
    assert f'value="{(today + timedelta(weeks=4)).isoformat()}"' in page
    response = as_vet.get(
        url, prefixed("vaccination", vaccine="chpl", date="2026-03-01"), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'value="2026-03-29"' in response  # primo-vaccination: booster 4 weeks later
    make_entry(patient, kind=EntryKind.VACCINATION, date=date(2026, 3, 1))
    Vaccination.objects.create(entry=HistoryEntry.objects.get(), vaccine="chpl")
    booster = as_vet.get(
        url, prefixed("vaccination", vaccine="chpl", date="2026-03-29"), HTTP_HX_REQUEST="true"
    )
    assert 'value="2027-03-29"' in booster.content.decode()  # then yearly


def test_it_records_a_vaccination_in_a_few_taps(as_vet, vet, patient):
    today = timezone.localdate()
    response = as_vet.post(
        reverse("records:add_vaccination", args=[patient.pk]),
        prefixed("vaccination", vaccine="rabies", date=today.isoformat()),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("records:staff_patient", args=[patient.pk])
    entry = HistoryEntry.objects.get()
    assert (entry.kind, entry.practitioner, entry.title) == (
        "vaccination",
        vet,
        "Vaccination: Rabies",
    )
    # Left blank, the next due date comes from the protocol (rabies: yearly).
    assert entry.vaccination.next_due == today + timedelta(days=365)
    assert CareDue.objects.get().due_date == today + timedelta(days=365)


def test_it_records_a_hand_typed_vaccine(as_vet, patient):
    as_vet.post(
        reverse("records:add_vaccination", args=[patient.pk]),
        prefixed("vaccination", vaccine="other", other_vaccine="Leishmaniosis", date="2026-11-01"),
    )
    assert Vaccination.objects.get().vaccine == "Leishmaniosis"


def test_it_refuses_a_history_entry_dated_in_the_future(as_vet, patient):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    url = reverse("records:add_entry", args=[patient.pk])
    response = as_vet.post(
        url, prefixed("entry", kind="note", date=tomorrow, title="Later"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "This date is in the future." in response.content.decode()
    assert 'id="entry-box"' not in response.content.decode()  # only the form comes back
    plain = as_vet.post(url, prefixed("entry", kind="note", date=tomorrow, title="Later"))
    assert plain.status_code == 400
    for name, data in (
        ("records:add_vaccination", prefixed("vaccination", vaccine="rabies", date=tomorrow)),
        ("records:add_treatment", prefixed("treatment", drug="X", dose="1", start=tomorrow)),
        ("records:add_weight", prefixed("weight", date=tomorrow, kg="12")),
    ):
        assert as_vet.post(reverse(name, args=[patient.pk]), data).status_code == 400
    assert not HistoryEntry.objects.exists()
    assert not Weight.objects.exists()


def test_it_records_an_entry_a_treatment_and_a_weight(as_vet, patient):
    today = timezone.localdate().isoformat()
    as_vet.post(
        reverse("records:add_entry", args=[patient.pk]),
        prefixed("entry", kind="surgery", date=today, title="Neutering", summary="All went well."),
    )
    as_vet.post(
        reverse("records:add_treatment", args=[patient.pk]),
        prefixed("treatment", drug="Meloxicam", dose="1 ml", start=today, end="2099-01-01"),
    )
    as_vet.post(
        reverse("records:add_weight", args=[patient.pk]), prefixed("weight", date=today, kg="12.5")
    )
    assert list(HistoryEntry.objects.values_list("title", flat=True).order_by("pk")) == [
        "Neutering",
        "Meloxicam",
    ]
    assert CareDue.objects.get().kind == "renewal"
    assert str(Weight.objects.get().kg) == "12.50"


def test_it_lets_staff_handle_a_correction_request(as_reception, reception, client_user, patient):
    request = CorrectionRequest.objects.create(
        patient=patient, client=client_user.client, message="Wrong birth date"
    )
    page = as_reception.get(reverse("records:staff_patient", args=[patient.pk])).content.decode()
    assert "Wrong birth date" in page
    as_reception.post(reverse("records:resolve_correction", args=[request.pk]))
    request.refresh_from_db()
    assert request.resolved_by == reception
    assert request.resolved_at is not None


def test_it_keeps_the_staff_patient_page_at_a_fixed_number_of_queries(
    as_vet, patient, vet, django_assert_max_num_queries
):
    for index in range(200):
        make_entry(patient, date=date(2026, 1, 1) - timedelta(days=index), practitioner=vet)
    url = reverse("records:staff_patient", args=[patient.pk])
    as_vet.get(url)
    with django_assert_max_num_queries(14):
        response = as_vet.get(url)
    assert response.content.decode().count('class="entry ') == 200


def test_it_returns_404_for_unknown_patients_and_reports(as_vet):
    for name in ("records:staff_patient", "records:patient_edit"):
        assert as_vet.get(reverse(name, args=[999])).status_code == 404
    assert as_vet.post(reverse("records:publish_report", args=[999])).status_code == 404


def test_it_refuses_every_staff_endpoint_to_a_client(as_other_client, patient):
    posts = [
        "records:add_entry",
        "records:add_vaccination",
        "records:add_treatment",
        "records:add_weight",
        "records:upload_report",
        "records:write_report",
        "records:patient_link",
    ]
    for name in posts:
        assert as_other_client.post(reverse(name, args=[patient.pk]), {}).status_code == 403
    assert not HistoryEntry.objects.exists()


def test_it_keeps_a_photo_behind_the_access_check(
    as_reception, as_client, as_other_client, patient, settings, tmp_path
):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "orange").save(image, format="PNG")
    as_reception.post(
        reverse("records:patient_edit", args=[patient.pk]),
        {
            "name": "Filou",
            "species": "dog",
            "sex": "m",
            "photo": SimpleUploadedFile("filou.png", image.getvalue(), content_type="image/png"),
        },
    )
    patient.refresh_from_db()
    assert patient.photo.name.startswith("patients/")
    assert "filou" not in patient.photo.name  # a random name: the path reveals nothing
    url = reverse("records:patient_photo", args=[patient.pk])
    assert b"".join(as_client.get(url).streaming_content) == image.getvalue()
    assert as_other_client.get(url).status_code == 404


def test_it_lists_corrections_and_drafts_on_the_staff_dashboard(vet, client_user, patient):
    from django.apps import apps
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from tests.records.factories import make_report

    CorrectionRequest.objects.create(patient=patient, client=client_user.client, message="x")
    make_report(patient, vet, published=False, title="Radio du thorax")
    request = RequestFactory().get("/")
    request.user = vet
    [panel] = apps.get_app_config("records").dashboard_panels(request, staff=True)
    html = render_to_string(panel.template, {"panel": panel}, request)
    assert html.count(reverse("records:staff_patient", args=[patient.pk])) == 2
    assert "Radio du thorax" in html


def test_it_finds_a_client_to_link_without_typing_a_number(
    as_reception, patient, other_client_user
):
    url = reverse("records:staff_patient", args=[patient.pk])
    fragment = as_reception.get(
        url, {"link_q": "Lambert", "part": "link"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Bruno Lambert" in fragment
    assert f'name="link-client" value="{other_client_user.client.pk}"' in fragment
    assert "<html" not in fragment
    owner = as_reception.get(url, {"link_q": "Martin"}).content.decode()
    assert 'name="link-client"' not in owner  # Camille is linked already
    assert "No client matches." in owner
