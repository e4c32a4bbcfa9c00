"""Patient photos are stored only encrypted, like reports (patients can be people)."""

import importlib
import io
import os
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from portal.lib.crypto import generate_master_key_entry
from records.models import Patient

pytestmark = pytest.mark.django_db

migration = importlib.import_module("records.migrations.0003_encrypted_photos")


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (16, 16), noise: bool = False) -> bytes:
    if noise:  # incompressible: a PNG as large as its pixels
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, "orange")
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file() and ".partial" not in p.parts)


def edit(http, patient, photo=None, language="en", **fields):
    data = {"name": patient.name, "species": patient.species, "sex": patient.sex, **fields}
    if photo is not None:
        data["photo"] = photo
    url = reverse("records:patient_edit", args=[patient.pk])
    return http.post(url, data, HTTP_ACCEPT_LANGUAGE=language)


def photo_url(patient) -> str:
    return reverse("records:patient_photo", args=[patient.pk])


def test_it_stores_a_photo_only_as_ciphertext_and_shows_it_to_its_owner(
    as_reception, as_client, as_other_client, patient, settings
):
    content = image_bytes()
    response = edit(as_reception, patient, SimpleUploadedFile("filou.png", content, "image/png"))
    assert response.status_code == 302

    patient.refresh_from_db()
    assert patient.photo.name.endswith(".png.enc")
    assert "filou" not in patient.photo.name
    assert patient.photo_key.startswith("v1.test1.")
    [stored] = files(settings)
    on_disk = stored.read_bytes()
    assert on_disk.startswith(b"ACCUEIL1")
    assert content not in on_disk
    assert b"PNG" not in on_disk
    assert content[16:48] not in on_disk  # not even a slice of the image

    served = as_client.get(photo_url(patient))
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == content
    assert as_other_client.get(photo_url(patient)).status_code == 404


def test_it_creates_a_patient_with_an_encrypted_photo(as_reception, client_user, settings):
    content = image_bytes("JPEG")
    response = as_reception.post(
        reverse("records:patient_new") + f"?client={client_user.client.pk}",
        {
            "name": "Moka",
            "species": "cat",
            "sex": "f",
            "photo": SimpleUploadedFile("moka.jpg", content, "image/jpeg"),
        },
    )
    assert response.status_code == 302
    moka = Patient.objects.get(name="Moka")
    assert moka.photo.name.endswith(".jpg.enc")
    [stored] = files(settings)
    assert content[:64] not in stored.read_bytes()
    served = as_reception.get(photo_url(moka))
    assert served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content) == content


def test_a_large_photo_arrives_encrypted_too(as_reception, patient, settings, tmp_path):
    """Over 2.5 MB an upload goes through the encrypting handler (portal/lib/uploads.py)."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    content = image_bytes(size=(1100, 1000), noise=True)
    assert 2.5 * 1024 * 1024 < len(content) < 5 * 1024 * 1024
    assert edit(as_reception, patient, SimpleUploadedFile("big.png", content)).status_code == 302
    patient.refresh_from_db()
    assert content[1000:1100] not in files(settings)[0].read_bytes()
    assert b"".join(as_reception.get(photo_url(patient)).streaming_content) == content
    assert [p for p in tmp_path.iterdir() if p.name.startswith("accueil-upload-")] == []


def test_replacing_or_clearing_a_photo_deletes_the_old_file(
    as_reception, patient, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        edit(as_reception, patient, SimpleUploadedFile("a.png", image_bytes(), "image/png"))
    [first] = files(settings)
    with django_capture_on_commit_callbacks(execute=True):
        edit(as_reception, patient, SimpleUploadedFile("b.gif", image_bytes("GIF"), "image/gif"))
    [second] = files(settings)
    assert second != first
    patient.refresh_from_db()
    assert patient.photo_content_type == "image/gif"

    page = as_reception.get(reverse("records:patient_edit", args=[patient.pk]))
    assert f'href="{photo_url(patient)}"' in page.text  # "currently": the access-checked view

    with django_capture_on_commit_callbacks(execute=True):
        edit(as_reception, patient, **{"photo-clear": "on"})
    patient.refresh_from_db()
    assert (patient.photo.name, patient.photo_key) == ("", "")
    assert files(settings) == []
    assert as_reception.get(photo_url(patient)).status_code == 404


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Send the photo as JPEG, PNG, GIF or WebP."),
        ("fr", "Envoyez la photo en JPEG, PNG, GIF ou WebP."),
    ],
)
def test_it_refuses_an_image_format_browsers_do_not_show(
    as_reception, patient, settings, language, message
):
    tiff = SimpleUploadedFile("scan.tiff", image_bytes("TIFF"), "image/tiff")
    response = as_reception.post(
        reverse("records:patient_edit", args=[patient.pk]),
        {"name": "Renamed", "species": patient.species, "sex": patient.sex, "photo": tiff},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 200
    assert message in response.text
    patient.refresh_from_db()
    assert patient.name != "Renamed"
    assert not patient.photo
    assert files(settings) == []


def test_it_refuses_a_file_that_is_not_an_image(as_reception, patient, settings):
    fake = SimpleUploadedFile("photo.png", b"#!/bin/sh\necho hello\n", "image/png")
    response = edit(as_reception, patient, fake, language="fr")
    assert response.status_code == 200
    assert "Téléversez une image valide" in response.text
    patient.refresh_from_db()
    assert not patient.photo
    assert files(settings) == []


def test_a_tampered_photo_is_not_served(as_reception, as_client, patient, settings):
    edit(as_reception, patient, SimpleUploadedFile("a.png", image_bytes(), "image/png"))
    [stored] = files(settings)
    data = bytearray(stored.read_bytes())
    data[-1] ^= 1
    stored.write_bytes(bytes(data))
    assert as_client.get(photo_url(patient)).status_code == 404


def test_the_migration_encrypts_existing_photos_in_place_and_deletes_the_clear_files(
    as_client, patient, settings, django_capture_on_commit_callbacks
):
    content = image_bytes()
    clear_name = default_storage.save("patients/0123abcd.png", io.BytesIO(content))
    Patient.objects.filter(pk=patient.pk).update(photo=clear_name, photo_key="")
    missing = Patient.objects.create(name="Ghost", species="cat", photo="patients/gone.jpg")

    with django_capture_on_commit_callbacks(execute=True):
        migration.encrypt_photos(apps, None)

    patient.refresh_from_db()
    assert patient.photo.name.endswith(".png.enc")
    assert not default_storage.exists(clear_name)
    [stored] = files(settings)
    assert content not in stored.read_bytes()
    assert b"".join(as_client.get(photo_url(patient)).streaming_content) == content
    missing.refresh_from_db()
    assert not missing.photo  # its file was gone: the row no longer points to nothing

    with django_capture_on_commit_callbacks(execute=True):
        migration.decrypt_photos(apps, None)  # backwards: clear files again for the old code
    patient.refresh_from_db()
    assert patient.photo_key == ""
    assert default_storage.open(patient.photo.name).read() == content
    assert len(files(settings)) == 1


def test_rotate_keys_rewraps_photo_keys_and_skips_patients_without_one(
    as_reception, as_client, patient, client_user, settings
):
    from tests import factories

    factories.make_patient(client_user, name="Sans photo")
    content = image_bytes()
    edit(as_reception, patient, SimpleUploadedFile("a.png", content, "image/png"))
    [stored] = files(settings)
    before = stored.read_bytes()
    settings.ACCUEIL_MASTER_KEYS = (
        f"{generate_master_key_entry('k2')},{settings.ACCUEIL_MASTER_KEYS}"
    )

    out = io.StringIO()
    call_command("rotate_keys", stdout=out, stderr=io.StringIO())

    assert "records.Patient.photo_key: 1 re-wrapped, 0 already current, 0 failed." in out.getvalue()
    patient.refresh_from_db()
    assert patient.photo_key.startswith("v1.k2.")
    assert stored.read_bytes() == before  # only the key was re-wrapped
    settings.ACCUEIL_MASTER_KEYS = settings.ACCUEIL_MASTER_KEYS.split(",")[0]
    assert b"".join(as_client.get(photo_url(patient)).streaming_content) == content
