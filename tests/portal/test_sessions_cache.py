"""No cache keeps a page that shows health data: `Cache-Control: private, no-store` on every
answer of the application, signed in or not (one-tap links and offers carry tokens); static
files, served before the application, stay cacheable."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.messaging.factories import make_conversation
from tests.records.factories import make_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def filou(client_user):
    return factories.make_patient(client_user, name="Filou")


def _no_store(response) -> None:
    assert response.status_code == 200
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives
    assert not any(part.startswith("max-age") and part != "max-age=0" for part in directives)


def test_a_record_page_is_not_stored(as_client, filou):
    response = as_client.get(reverse("records:animal", args=[filou.pk]))
    assert "Filou" in response.content.decode()
    _no_store(response)


def test_a_staff_record_page_is_not_stored(as_vet, filou):
    response = as_vet.get(reverse("records:staff_patient", args=[filou.pk]))
    assert "Filou" in response.content.decode()
    _no_store(response)


def test_a_report_download_is_not_stored(as_client, filou, vet):
    report = make_report(filou, vet, title="Bilan")
    response = as_client.get(reverse("records:report_download", args=[report.pk]))
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    _no_store(response)


def test_an_appointment_page_is_not_stored(as_client, client_user, filou, site, vet):
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    service = make_service(site, [dubois], slug="consultation", duration=30)
    appointment = make_appointment(
        client=client_user.client,
        patient=filou,
        service=service,
        practitioner=dubois,
        starts_at=timezone.now() + timedelta(days=3),
    )
    response = as_client.get(reverse("booking:detail", args=[appointment.pk]))
    assert "Filou" in response.content.decode()
    _no_store(response)


def test_a_conversation_page_is_not_stored(as_client, client_user):
    conversation = make_conversation(client_user, subject="Filou tousse", body="Depuis hier.")
    response = as_client.get(reverse("messaging:conversation", args=[conversation.pk]))
    assert "Filou tousse" in response.content.decode()
    _no_store(response)


def test_the_sign_in_page_is_not_stored_either(client):
    _no_store(client.get("/accounts/login/"))


def test_an_error_page_for_the_stranger_is_not_stored(as_other_client, filou):
    response = as_other_client.get(reverse("records:animal", args=[filou.pk]))
    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"]


def test_static_files_stay_cacheable(client):
    response = client.get("/static/portal/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
