"""Reports: encrypted before they touch the disk, released by publishing, downloaded as a stream."""

import os
import time
from contextlib import nullcontext
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from portal.models import AccessLog
from records import services
from records.models import Report
from records.views import content_disposition
from tests.records.factories import make_report, pdf_bytes, prefixed

pytestmark = pytest.mark.django_db


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def upload(as_vet, patient, content: bytes, name: str = "result.pdf", **extra):
    data = prefixed(
        "upload",
        title=extra.pop("title", "Blood test"),
        date=extra.pop("date", "2026-11-02"),
        file=SimpleUploadedFile(name, content, content_type="application/pdf"),
    )
    return as_vet.post(reverse("records:upload_report", args=[patient.pk]), data, **extra)


def test_it_stores_an_uploaded_pdf_encrypted_as_a_draft(as_vet, vet, patient, settings):
    content = pdf_bytes(text="Creatinine 1.2")
    response = upload(as_vet, patient, content)
    assert response.status_code == 302
    report = Report.objects.get()
    assert (report.status, report.source, report.author) == ("draft", "upload", vet)
    assert report.plaintext_size == len(content)
    [path] = stored_files(settings)
    on_disk = path.read_bytes()
    assert on_disk.startswith(b"ACCUEIL1")
    assert b"%PDF" not in on_disk
    assert b"Creatinine" not in on_disk
    assert report.wrapped_key.startswith("v1.test1.")


def test_it_refuses_a_file_that_is_not_a_pdf_whatever_its_name(as_vet, patient, settings):
    response = upload(as_vet, patient, b"MZ\x90\x00 not a pdf at all", name="result.pdf")
    assert "This file is not a PDF." in response.content.decode()
    assert not Report.objects.exists()
    assert stored_files(settings) == []


def test_it_refuses_an_empty_file(as_vet, patient, settings):
    response = upload(as_vet, patient, b"")
    assert "The submitted file is empty." in response.content.decode()
    assert not Report.objects.exists()
    assert stored_files(settings) == []


def test_it_refuses_a_file_over_the_size_limit(as_vet, patient, settings):
    settings.RECORDS_MAX_UPLOAD_BYTES = 1024
    response = upload(as_vet, patient, b"%PDF-1.7\n" + b"0" * 2000)
    assert "The file is too large: 1.0\xa0KB at most." in response.content.decode()
    assert not Report.objects.exists()
    assert stored_files(settings) == []


def test_it_refuses_a_report_dated_in_the_future(as_vet, patient):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = upload(as_vet, patient, pdf_bytes(), date=tomorrow, HTTP_HX_REQUEST="true")
    assert "This date is in the future." in response.content.decode()
    assert not Report.objects.exists()


def test_it_leaves_no_file_behind_when_the_row_cannot_be_saved(vet, patient, settings):
    with (
        mock.patch.object(Report.objects, "create", side_effect=IntegrityError("boom")),
        pytest.raises(IntegrityError),
    ):
        make_report(patient, vet, published=False)
    assert stored_files(settings) == []


def test_it_leaves_no_file_behind_when_the_storage_fails_half_way(vet, patient, settings):
    from django.core.files.storage import default_storage

    def half_write(name, content):
        path = Path(settings.MEDIA_ROOT) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.read(100))
        raise OSError("disk full")

    with (
        mock.patch.object(default_storage, "_save", side_effect=half_write),
        pytest.raises(OSError, match="disk full"),
    ):
        make_report(patient, vet, published=False)
    assert stored_files(settings) == []
    assert not Report.objects.exists()


def test_it_writes_a_branded_pdf_report(as_vet, vet, patient, settings, clinic):
    response = as_vet.post(
        reverse("records:write_report", args=[patient.pk]),
        prefixed("write", title="Post-op check", date="2026-11-02", summary="Healing.\n\nSee you."),
    )
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.source == "written"
    download = as_vet.get(reverse("records:report_download", args=[report.pk]))
    content = b"".join(download.streaming_content)
    assert content.startswith(b"%PDF-")
    assert len(content) == report.plaintext_size


def test_it_publishes_once_and_tells_the_owners_after_commit(
    as_vet, vet, patient, notify, django_capture_on_commit_callbacks
):
    report = make_report(patient, vet, published=False)
    with django_capture_on_commit_callbacks(execute=True):
        as_vet.post(reverse("records:publish_report", args=[report.pk]))
        as_vet.post(reverse("records:publish_report", args=[report.pk]))
    report.refresh_from_db()
    assert report.status == "published"
    assert report.published_by == vet
    notify.document_available.assert_called_once_with(
        client_ids=[patient.clients.get().pk], document_id=report.pk
    )


def test_it_keeps_a_draft_from_the_owner(as_client, client_user, vet, patient):
    report = make_report(patient, vet, published=False)
    page = as_client.get(reverse("records:animal", args=[patient.pk])).content.decode()
    assert "Blood test" not in page
    assert as_client.get(reverse("records:report_download", args=[report.pk])).status_code == 404
    assert AccessLog.objects.filter(user=client_user, action="denied").count() == 1


def test_it_streams_a_published_report_to_its_owner_with_safe_headers(
    as_client, client_user, vet, patient
):
    content = pdf_bytes(pages=2)
    report = make_report(patient, vet, title="Bilan sanguin: Filou / été", content=content)
    response = as_client.get(reverse("records:report_download", args=[report.pk]))
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store, private"
    assert response["Content-Length"] == str(len(content))
    assert response["Content-Disposition"] == (
        'attachment; filename="2026-10-02-Bilan-sanguin-Filou-ete.pdf"; '
        "filename*=UTF-8''2026-10-02%20Bilan%20sanguin%3A%20Filou%20-%20%C3%A9t%C3%A9.pdf"
    )
    log = AccessLog.objects.get(action="download")
    assert (log.user, log.object_type, log.object_id) == (client_user, "report", str(report.pk))


def test_it_cleans_header_breaking_characters_from_file_names():
    header = content_disposition('evil"\r\nSet-Cookie: x', date(2026, 1, 2))
    assert "\r" not in header
    assert "\n" not in header
    assert header.startswith('attachment; filename="2026-01-02-evil-Set-Cookie-x.pdf"')


def test_it_gives_a_stranger_a_404_and_logs_it(as_other_client, other_client_user, vet, patient):
    report = make_report(patient, vet)
    response = as_other_client.get(reverse("records:report_download", args=[report.pk]))
    assert response.status_code == 404
    assert b"%PDF" not in response.content
    denied = AccessLog.objects.get(user=other_client_user)
    assert (denied.action, denied.object_type, denied.object_id) == (
        "denied",
        "report",
        str(report.pk),
    )


def test_it_refuses_a_tampered_file_with_a_clear_page_and_an_alert(
    as_client, client_user, vet, patient, settings
):
    report = make_report(patient, vet)
    [path] = stored_files(settings)
    data = bytearray(path.read_bytes())
    data[-40] ^= 0x01  # one bit in the last chunk
    path.write_bytes(bytes(data))
    response = as_client.get(reverse("records:report_download", args=[report.pk]))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "This document cannot be opened" in response.content.decode()
    alert = AccessLog.objects.get(action="alert")
    assert (alert.user, alert.object_id) == (client_user, str(report.pk))
    assert "chunk" in alert.detail
    assert not AccessLog.objects.filter(action="download").exists()


def test_it_refuses_a_file_swapped_from_another_report(as_vet, vet, patient, settings):
    first = make_report(patient, vet, title="First")
    second = make_report(patient, vet, title="Second")
    # Copy the second's file and key onto the first: the aad names the first's file id.
    Path(settings.MEDIA_ROOT, first.file.name).write_bytes(
        Path(settings.MEDIA_ROOT, second.file.name).read_bytes()
    )
    Report.objects.filter(pk=first.pk).update(wrapped_key=second.wrapped_key)
    response = as_vet.get(reverse("records:report_download", args=[first.pk]))
    assert response.status_code == 500
    assert AccessLog.objects.filter(action="alert", object_id=str(first.pk)).exists()


def test_it_says_so_when_the_file_is_missing(as_vet, vet, patient, settings):
    report = make_report(patient, vet)
    Path(settings.MEDIA_ROOT, report.file.name).unlink()
    response = as_vet.get(reverse("records:report_download", args=[report.pk]))
    assert response.status_code == 500
    assert AccessLog.objects.get(action="alert").detail == "undecryptable: file missing"


def test_it_deletes_a_draft_and_its_file_but_never_a_published_report(
    as_vet, vet, patient, settings, django_capture_on_commit_callbacks
):
    draft = make_report(patient, vet, published=False, title="Draft")
    kept = make_report(patient, vet, title="Kept")
    with django_capture_on_commit_callbacks(execute=True):
        as_vet.post(reverse("records:delete_report", args=[draft.pk]))
        as_vet.post(reverse("records:delete_report", args=[kept.pk]))
    assert list(Report.objects.values_list("title", flat=True)) == ["Kept"]
    assert [path.name for path in stored_files(settings)] == [Path(kept.file.name).name]


def test_it_encrypts_from_an_iterable_of_chunks_without_joining_them(vet, patient):
    chunks = [b"%PDF-1.7\n", b"x" * 70_000, b"y" * 10]
    report = services.store_report(
        patient=patient,
        author=vet,
        title="Big",
        on=date(2026, 1, 1),
        source="upload",
        chunks=iter(chunks),
    )
    assert report.plaintext_size == sum(map(len, chunks))
    assert report.ciphertext_size > report.plaintext_size


@pytest.mark.parametrize("storage", ["local", "remote"])
def test_it_streams_chunk_by_chunk_under_asgi_too(client_user, vet, patient, storage):
    """daphne serves the portal: given a plain iterator, Django's ASGI handler would read the
    whole decrypted file into a list first. The view hands it an async iterator instead."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    content = pdf_bytes(pages=2)
    report = make_report(patient, vet, content=content)

    async def download() -> tuple[bool, list[bytes]]:
        http = AsyncClient()
        await http.aforce_login(client_user)
        response = await http.get(reverse("records:report_download", args=[report.pk]))
        pieces = [piece async for piece in response.streaming_content]
        return response.is_async, pieces

    # A storage that is not a local disk reads each chunk in a worker thread.
    local = "portal.lib.sealed.FileSystemStorage"
    with mock.patch(local, type("Remote", (), {})) if storage == "remote" else nullcontext():
        is_async, pieces = async_to_sync(download)()
    assert is_async
    assert b"".join(pieces) == content
    assert len(pieces) == -(-len(content) // (64 * 1024))  # one piece per encrypted chunk


def test_it_leaves_nothing_when_encryption_fails_half_way(vet, patient, settings):
    def broken_upload():
        yield b"%PDF-1.7\n" + b"x" * 100_000
        raise OSError("client went away")

    with pytest.raises(OSError, match="client went away"):
        services.store_report(
            patient=patient,
            author=vet,
            title="Cut",
            on=date(2026, 1, 1),
            source="upload",
            chunks=broken_upload(),
        )
    assert stored_files(settings) == []
    assert not Report.objects.exists()


def test_it_moves_the_finished_file_into_place_private(vet, patient, settings):
    report = make_report(patient, vet)
    [path] = stored_files(settings)
    assert path == Path(settings.MEDIA_ROOT, report.file.name)
    assert path.stat().st_mode & 0o777 == 0o600


def test_it_sweeps_partial_files_a_killed_process_left(vet, patient, settings):
    partial = Path(settings.MEDIA_ROOT, services.PARTIAL_DIR)
    partial.mkdir(parents=True)
    stale, fresh = partial / "old.part", partial / "busy.part"
    stale.write_bytes(b"ACCUEIL1...")
    fresh.write_bytes(b"ACCUEIL1...")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    make_report(patient, vet)
    assert not stale.exists()
    assert fresh.exists()  # maybe another upload in progress
