"""What owners see: their animals, one animal's page, upcoming care, and nothing of others'."""

import re
from datetime import date, timedelta
from unittest import mock

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from portal.models import AccessLog
from records import services
from records.models import CorrectionRequest, EntryKind, Guardianship
from tests import factories
from tests.records.factories import make_entry, make_report, make_weight

pytestmark = pytest.mark.django_db


def test_it_lists_my_animals_and_their_upcoming_care(as_client, client_user, patient, vet):
    factories.make_patient(client_user, name="Moka", species="cat", breed="Chartreux")
    services.record_vaccination(
        patient=patient,
        practitioner=vet,
        vaccine="rabies",
        batch="",
        on=timezone.localdate(),
        next_due=timezone.localdate() + timedelta(days=20),
        title="Rabies",
    )
    response = as_client.get(reverse("records:my_animals"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Filou" in page
    assert "Moka" in page
    assert "Rabies" in page
    assert reverse("records:animal", args=[patient.pk]) in page


def test_it_shows_the_owner_summary_but_never_the_internal_notes(as_client, patient):
    make_entry(
        patient,
        title="Dental check",
        summary="Teeth are clean.",
        internal_notes="SECRET-NOTE owner declined scaling",
    )
    response = as_client.get(reverse("records:animal", args=[patient.pk]))
    page = response.content.decode()
    assert "Teeth are clean." in page
    assert "SECRET-NOTE" not in page
    htmx = as_client.get(
        reverse("records:animal", args=[patient.pk]),
        {"kind": "consultation"},
        HTTP_HX_REQUEST="true",
    )
    assert "SECRET-NOTE" not in htmx.content.decode()


def test_it_logs_every_view_of_an_animal_page(as_client, client_user, patient):
    as_client.get(reverse("records:animal", args=[patient.pk]), {"kind": "vaccination"})
    log = AccessLog.objects.get()
    assert (log.user, log.action, log.object_type, log.object_id) == (
        client_user,
        AccessLog.Action.VIEW,
        "patient",
        str(patient.pk),
    )
    assert log.detail == "history:vaccination"
    assert log.ip == "127.0.0.1"


def test_it_filters_the_timeline_by_kind_with_htmx_or_a_plain_link(as_client, patient):
    make_entry(patient, title="Annual visit")
    make_entry(patient, kind=EntryKind.SURGERY, title="Neutering")
    url = reverse("records:animal", args=[patient.pk])
    partial = as_client.get(url, {"kind": "surgery"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Neutering" in partial
    assert "Annual visit" not in partial
    assert "<html" not in partial
    full = as_client.get(url, {"kind": "surgery"}).content.decode()
    assert "<html" in full
    assert "Neutering" in full
    assert "Annual visit" not in full
    unknown = as_client.get(url, {"kind": "nonsense"}).content.decode()
    assert "Annual visit" in unknown


def test_it_gives_a_stranger_a_404_and_logs_the_attempt(
    as_other_client, other_client_user, patient
):
    for name in ("records:animal", "records:patient_photo"):
        response = as_other_client.get(reverse(name, args=[patient.pk]))
        assert response.status_code == 404
    response = as_other_client.post(
        reverse("records:correction", args=[patient.pk]), {"message": "Not my dog"}
    )
    assert response.status_code == 404
    assert not CorrectionRequest.objects.exists()
    denied = AccessLog.objects.filter(user=other_client_user, action=AccessLog.Action.DENIED)
    assert denied.count() == 3
    assert set(denied.values_list("object_id", flat=True)) == {str(patient.pk)}


def test_it_keeps_staff_pages_from_clients(as_client, patient):
    assert as_client.get(reverse("records:staff_patient", args=[patient.pk])).status_code == 403
    assert as_client.get(reverse("records:search")).status_code == 403


def test_it_lets_an_owner_ask_for_a_correction(as_client, client_user, patient):
    response = as_client.post(
        reverse("records:correction", args=[patient.pk]),
        {"message": "Filou was born in 2019, not 2020."},
        follow=True,
    )
    assert "the clinic will check" in response.content.decode()
    request = CorrectionRequest.objects.get()
    assert (request.patient, request.client) == (patient, client_user.client)


def test_it_refuses_an_empty_correction(as_client, patient):
    as_client.post(reverse("records:correction", args=[patient.pk]), {"message": "  "})
    assert not CorrectionRequest.objects.exists()


def test_it_hides_reports_from_a_pet_sitter(clinic, patient, vet):
    sitter_user = factories.make_client_user(first_name="Sam", last_name="Sitter")
    services.link_client(patient=patient, client=sitter_user.client, role=Guardianship.Role.SITTER)
    report = make_report(patient, vet, title="Blood test")
    http = factories.http_client(sitter_user)
    page = http.get(reverse("records:animal", args=[patient.pk])).content.decode()
    assert "Filou" in page
    assert "Blood test" not in page
    assert http.get(reverse("records:report_download", args=[report.pk])).status_code == 404


def _render_client_panels(user) -> str:
    """The dashboard panels records contributes, rendered as portal's home page renders them
    (through the app config, so other apps' panels do not get in the way)."""
    from django.apps import apps
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    panels = apps.get_app_config("records").dashboard_panels(request, staff=False)
    return "".join(
        render_to_string(panel.template, {"panel": panel, "clinic": clinic_row()}, request)
        for panel in panels
    )


def clinic_row():
    from portal.models import Clinic

    return Clinic.current()


def test_it_shows_upcoming_care_on_the_dashboard_with_a_way_to_book(
    client_user, patient, vet, clinic
):
    services.record_treatment(
        patient=patient,
        practitioner=vet,
        drug="Milbemax",
        dose="1 tablet",
        start=timezone.localdate() - timedelta(days=80),
        end=timezone.localdate() + timedelta(days=10),
        antiparasitic=True,
    )
    page = _render_client_panels(client_user)
    assert "Upcoming care" in page
    assert "Milbemax" in page
    assert f"/booking/new/?patient={patient.pk}&amp;service=consultation" in page
    with mock.patch("records.services.reverse", side_effect=NoReverseMatch):
        page = _render_client_panels(client_user)
    assert "Call to book" in page
    assert "tel:+33478000000" in page


def test_it_links_the_book_button_to_booking_with_the_service_preselected(patient, vet, notify):
    entry = services.record_entry(
        patient=patient,
        practitioner=vet,
        kind=EntryKind.CONSULTATION,
        on=date(2026, 11, 1),
        title="Limping",
        next_checkup=date(2026, 11, 15),
    )
    care = entry.care_due.get()
    assert services.booking_url(care) == f"/booking/new/?patient={patient.pk}&service=checkup"
    assert services.booking_url(care, absolute=True).startswith("http")
    with mock.patch("records.services.reverse", side_effect=NoReverseMatch):
        assert services.booking_url(care) == ""  # before booking existed: the phone instead


def test_it_draws_the_weight_chart_with_a_text_alternative(as_client, patient):
    make_weight(patient, date(2026, 1, 10), "30.2")
    make_weight(patient, date(2026, 6, 10), "31.4")
    page = as_client.get(reverse("records:animal", args=[patient.pk])).content.decode()
    assert "<svg" in page
    assert '<title id="weight-title">Weight of Filou</title>' in page
    assert "2 weighings, from 30.2 kg" in page  # as people write it: no trailing zero
    assert "<polyline" in page
    assert "<td>31.4</td>" in page


def test_it_loads_an_animal_page_with_200_entries_in_a_fixed_number_of_queries(
    as_client, patient, vet, django_assert_max_num_queries
):
    for index in range(200):
        kind = [EntryKind.CONSULTATION, EntryKind.NOTE, EntryKind.LAB][index % 3]
        make_entry(
            patient, kind=kind, date=date(2026, 1, 1) - timedelta(days=index), practitioner=vet
        )
    for index in range(12):
        make_weight(patient, date(2025, 1, 1) + timedelta(days=30 * index), f"{30 + index / 10}")
    for index in range(5):
        services.record_vaccination(
            patient=patient,
            practitioner=vet,
            vaccine=f"v{index}",
            batch="",
            on=date(2026, 1, 1),
            next_due=date(2027, 1, 1),
            title="Vaccine",
        )
    make_report(patient, vet)
    make_report(patient, vet, title="X-ray")
    url = reverse("records:animal", args=[patient.pk])
    as_client.get(url)  # the clinic row is cached after the first page, as in production
    # 9: the access log's line takes the hash chain's lock first on PostgreSQL (#11); 3 more
    # for the orders panel (current treatments, requests in progress, is there a catalogue).
    with django_assert_max_num_queries(12):
        response = as_client.get(url)
    assert response.content.decode().count('class="entry ') == 205
    with django_assert_max_num_queries(8):
        as_client.get(reverse("records:my_animals"))


def test_it_speaks_french_by_default(client_user, patient, vet):
    services.record_vaccination(
        patient=patient,
        practitioner=vet,
        vaccine="rabies",
        batch="",
        on=timezone.localdate(),
        next_due=timezone.localdate() + timedelta(days=30),
        title="Rage",
    )
    http = factories.http_client(client_user)
    page = http.get(
        reverse("records:animal", args=[patient.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "Soins à venir" in page
    assert "Historique" in page
    assert "Prochaine injection prévue le" in page


def test_it_returns_the_whole_page_when_htmx_restores_history(as_client, patient):
    response = as_client.get(
        reverse("records:animal", args=[patient.pk]),
        {"kind": "surgery"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in response.content.decode()


def test_the_weight_chart_keeps_svg_numbers_unlocalised_in_french(client_user, patient):
    # French writes decimals with a comma; SVG attributes must keep the dot or the browser
    # drops the shapes (found by walking the demo in French).
    make_weight(patient, date(2026, 1, 10), "30.2")
    make_weight(patient, date(2026, 6, 10), "31.4")
    http = Client(headers={"accept-language": "fr"})
    http.force_login(client_user)

    page = http.get(reverse("records:animal", args=[patient.pk])).content.decode()

    svg = page[page.index("<svg") : page.index("</svg>")]
    numbers = re.findall(r'\s(?:x1|x2|y1|y2|x|y|cx|cy|points)="([^"]*)"', svg)
    assert numbers
    assert not [value for value in numbers if "," in value.replace(" ", "") and "." not in value]
    assert "Poids de Filou" in page  # the page really was French
