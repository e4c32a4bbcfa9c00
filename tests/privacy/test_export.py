"""Export: one click, a task builds an encrypted zip, downloadable once, until it expires."""

import io
import json
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from notifications.models import Channel, Kind, Notification, PreferenceChange
from orders import services as orders
from portal.models import AccessLog
from privacy import services
from privacy.models import DataExport
from records import services as records_services
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.messaging.factories import make_conversation
from tests.records.factories import make_entry, make_report, pdf_bytes

pytestmark = pytest.mark.django_db


def _ask(http, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return http.post(reverse("privacy:export_request"), follow=True)


def _ready_export(client_user) -> DataExport:
    export = services.request_export(client=client_user.client, by=client_user)
    assert services.build_export(export.pk) == "ready"
    export.refresh_from_db()
    return export


def _download(http, export) -> bytes:
    response = http.post(reverse("privacy:export", args=[export.pk]))
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"]
    return b"".join(response.streaming_content)


def test_it_prepares_the_export_in_a_task_and_the_page_polls(
    as_client, client_user, queued, django_capture_on_commit_callbacks
):
    response = _ask(as_client, django_capture_on_commit_callbacks)

    assert "Your data is being prepared" in response.content.decode()
    assert queued() == 1
    page = as_client.get(reverse("privacy:home")).content.decode()
    assert 'hx-trigger="every 3s"' in page
    assert "This page updates by itself" in page


def test_asking_twice_while_preparing_gives_a_clear_message_and_no_second_task(
    as_client, client_user, queued, django_capture_on_commit_callbacks
):
    _ask(as_client, django_capture_on_commit_callbacks)
    response = _ask(as_client, django_capture_on_commit_callbacks)

    assert "already being prepared" in response.content.decode()
    assert DataExport.objects.filter(client=client_user.client).count() == 1
    assert queued() == 1


def test_the_polled_fragment_says_when_it_is_ready(as_client, client_user):
    export = services.request_export(client=client_user.client, by=client_user)
    services.build_export(export.pk)
    export.refresh_from_db()

    fragment = as_client.get(reverse("privacy:home"), headers={"hx-request": "true"})

    body = fragment.content.decode()
    assert "<html" not in body
    assert "Ready: download it until" in body
    assert "hx-trigger" not in body
    assert export.expires_at - export.ready_at == timedelta(days=7)


def test_the_zip_holds_what_the_client_sees_and_no_more(
    as_client, client_user, filou, vet, site, other_client_user
):
    client = client_user.client
    client.phone = "+33612345678"
    client.save()
    make_entry(filou, title="Annual visit", summary="All good.", internal_notes="Team only!")
    report_pdf = pdf_bytes(text="Filou blood test")
    make_report(filou, vet, title="Blood test", content=report_pdf)
    make_report(filou, vet, title="Draft note", published=False)
    sitter_cat = factories.make_patient(other_client_user, name="Mistigri", species="cat")
    sitter_cat.guardianships.create(client=client, role="sitter")
    make_report(sitter_cat, vet, title="Not yours")
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    consultation = make_service(site, [dubois])
    make_appointment(
        client=client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=timezone.now() + timedelta(days=3),
        reason="He limps",
    )
    make_conversation(client_user, subject="Limping", body="Filou limps since Sunday")
    treatment = records_services.record_treatment(
        patient=filou,
        practitioner=vet,
        drug="Méloxicam",
        dose="1 dose",
        start=timezone.localdate(),
        end=None,
        antiparasitic=False,
    ).treatment
    orders.request_renewal(
        client=client, treatment=treatment, site=site, note="Before Friday", by=client_user
    )
    Notification.objects.create(
        client=client,
        channel=Channel.EMAIL,
        kind=Kind.APPOINTMENT_CONFIRMED,
        recipient=client.email,
        body="Your appointment is confirmed",
        scheduled_at=timezone.now(),
        idempotency_key="test:1",
    )
    PreferenceChange.objects.create(
        client=client,
        by=client_user,
        how="client_page",
        what="marketing_opt_in",
        old_value="no",
        new_value="yes",
    )
    export = _ready_export(client_user)

    stored = default_storage.open(export.file.name, "rb").read()
    assert not stored.startswith(b"PK")
    assert b"Camille" not in stored

    archive = zipfile.ZipFile(io.BytesIO(_download(as_client, export)))
    data = json.loads(archive.read("data.json"))
    text = json.dumps(data)
    assert data["profile"]["first_name"] == "Camille"
    assert data["profile"]["phone"] == "+33612345678"
    assert [p["name"] for p in data["patients"]] == ["Filou"]
    assert data["patients"][0]["history"][0]["summary"] == "All good."
    assert "Team only!" not in text
    assert "Draft note" not in text
    assert "Not yours" not in text
    assert [r["title"] for r in data["reports"]] == ["Blood test"]
    assert archive.read(data["reports"][0]["file"]) == report_pdf
    assert data["appointments"][0]["reason"] == "He limps"
    assert data["orders"][0]["item"] == "Méloxicam — 1 dose"
    assert data["orders"][0]["note"] == "Before Friday"
    assert [step["status"] for step in data["orders"][0]["steps"]] == ["new"]
    assert data["conversations"][0]["messages"][0]["body"] == "Filou limps since Sunday"
    assert data["notifications"][0]["body"] == "Your appointment is confirmed"
    assert data["consent_journal"][0]["new_value"] == "yes"
    assert [n for n in archive.namelist() if n.endswith(".pdf")] == [data["reports"][0]["file"]]


def test_the_download_is_logged_and_works_once(as_client, client_user):
    export = _ready_export(client_user)

    _download(as_client, export)
    again = as_client.post(reverse("privacy:export", args=[export.pk]))
    page = as_client.get(reverse("privacy:export", args=[export.pk]))

    assert again.status_code == 410
    assert "already downloaded on" in again.content.decode()
    assert "already downloaded on" in page.content.decode()
    export.refresh_from_db()
    assert export.status == DataExport.Status.DOWNLOADED
    assert export.file.name == ""
    log = AccessLog.objects.filter(object_type="data_export", object_id=str(export.pk))
    assert list(log.values_list("action", "user")) == [("download", client_user.pk)]
    home = as_client.get(reverse("privacy:home")).content.decode()
    assert "Downloaded on" in home
    assert "Prepare my data" in home


def test_an_expired_export_explains_what_to_do_and_is_deleted(as_client, client_user):
    export = _ready_export(client_user)
    name = export.file.name

    # Seven days on, as the row sees it (travelling would also end the session).
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = as_client.post(reverse("privacy:export", args=[export.pk]))
    home = as_client.get(reverse("privacy:home")).content.decode()

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert "Prepare a new one" in response.content.decode()
    assert not default_storage.exists(name)
    assert "expired before it was downloaded: ask again" in home
    assert not AccessLog.objects.filter(action="download").exists()


def test_the_stranger_gets_404_and_the_refusal_is_logged(as_other_client, client_user):
    export = _ready_export(client_user)

    for method in ("get", "post"):
        response = getattr(as_other_client, method)(reverse("privacy:export", args=[export.pk]))
        assert response.status_code == 404
        assert "Camille" not in response.content.decode()

    export.refresh_from_db()
    assert export.status == DataExport.Status.READY
    denied = AccessLog.objects.filter(action="denied", object_type="data_export")
    assert denied.count() == 2


def test_staff_and_anonymous_cannot_ask_for_a_client_export(as_reception, client):
    assert as_reception.get(reverse("privacy:home")).status_code == 403
    assert as_reception.post(reverse("privacy:export_request")).status_code == 403
    response = client.get(reverse("privacy:home"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not DataExport.objects.exists()


def test_a_failed_build_says_so_and_allows_asking_again(as_client, client_user, monkeypatch):
    export = services.request_export(client=client_user.client, by=client_user)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("privacy.export.build_zip", broken)
    assert services.build_export(export.pk) == "failed"

    home = as_client.get(reverse("privacy:home")).content.decode()
    assert "could not be prepared" in home
    services.request_export(client=client_user.client, by=client_user)  # no error


def test_the_page_speaks_french(client_user):
    french = factories.http_client(client_user)
    french.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    services.request_export(client=client_user.client, by=client_user)

    page = french.get(reverse("privacy:home"), headers={"accept-language": "fr"})

    assert "Vos données" in page.content.decode()
    assert "en cours de préparation" in page.content.decode()


def test_the_worker_builds_it_and_plans_the_purge_at_expiry(
    as_client, client_user, django_capture_on_commit_callbacks
):
    from tests.notifications.conftest import run_ready_tasks

    _ask(as_client, django_capture_on_commit_callbacks)
    assert run_ready_tasks() == 1  # the build; the purge waits for the expiry

    export = DataExport.objects.get()
    assert export.status == DataExport.Status.READY
    purge = DBTaskResult.objects.get(task_path="privacy.tasks.purge_expired_exports")
    assert purge.run_after == export.expires_at


def test_the_purge_deletes_expired_files_only(client_user, other_client_user):
    expired = _ready_export(client_user)
    fresh = _ready_export(other_client_user)
    DataExport.objects.filter(pk=expired.pk).update(expires_at=timezone.now())

    assert services.purge_expired_exports() == 1

    assert not default_storage.exists(expired.file.name)
    assert default_storage.exists(fresh.file.name)
    assert DataExport.objects.get(pk=expired.pk).state(timezone.now()) == "expired"


def test_a_build_whose_worker_died_does_not_block_the_next_request(
    as_client, client_user, settings
):
    stuck = services.request_export(client=client_user.client, by=client_user)
    DataExport.objects.filter(pk=stuck.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.TASKS_INTERRUPTED_AFTER_SECONDS + 1)
    )
    assert "could not be prepared" in as_client.get(reverse("privacy:home")).content.decode()

    fresh = services.request_export(client=client_user.client, by=client_user)

    assert DataExport.objects.get(pk=stuck.pk).status == DataExport.Status.FAILED
    assert fresh.status == DataExport.Status.PREPARING


def test_a_build_for_an_export_deleted_meanwhile_does_nothing(client_user):
    export = services.request_export(client=client_user.client, by=client_user)
    DataExport.objects.filter(pk=export.pk).delete()

    assert services.build_export(export.pk) == "nothing to do"


def test_the_database_refuses_a_second_export_in_preparation(client_user):
    from django.db import IntegrityError, transaction

    services.request_export(client=client_user.client, by=client_user)

    with pytest.raises(IntegrityError), transaction.atomic():
        DataExport.objects.create(client=client_user.client, file_id=uuid.uuid4())
