"""Patient photos are stored encrypted, like reports: existing ones are encrypted in place.

Each clear photo is encrypted (portal.lib.crypto, a data key of its own wrapped by the current
master key, bound to its new name) into `patients/<random>.<ext>.enc`; the row then points to
it, and the clear file is deleted once the migration has committed, so a failed migration leaves
every photo where it was (at worst beside an unused ciphertext). A photo whose file is missing is
dropped from its row, with a line saying so.

Backwards, the photos are decrypted back to clear files, so the previous code can show them.
"""

import tempfile
import uuid

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import migrations, models, transaction

from portal.lib.crypto import decrypt_stream, encrypt_stream, keyring_from_settings
from records.models import photo_aad, photo_type


def _delete_after_commit(names: list[str]) -> None:
    def delete() -> None:
        for name in names:
            try:
                default_storage.delete(name)
            except OSError as error:
                print(f"  Could not delete {name}: {error}")

    transaction.on_commit(delete)


def encrypt_photos(apps, schema_editor) -> None:
    Patient = apps.get_model("records", "Patient")
    keyring = keyring_from_settings()
    clear_files = []
    for patient in Patient.objects.exclude(photo="").filter(photo_key="").iterator():
        old = patient.photo.name
        try:
            source = default_storage.open(old, "rb")
        except OSError:
            print(f"  The photo of patient {patient.pk} ({old}) is missing: dropped.")
            patient.photo = ""
            patient.save(update_fields=["photo"])
            continue
        with source, tempfile.TemporaryFile() as ciphertext:
            found = photo_type(source.read(12))
            source.seek(0)
            extension = found[1] if found else old.rpartition(".")[2].lower()[:5] or "jpg"
            name = f"patients/{uuid.uuid4().hex}.{extension}.enc"
            info = encrypt_stream(keyring, source, ciphertext, aad=photo_aad(name))
            ciphertext.seek(0)
            stored = default_storage.save(name, File(ciphertext, name=name))
        if stored != name:
            raise RuntimeError(f"The storage saved {name} as {stored}: the photo is bound to it.")
        patient.photo = stored
        patient.photo_key = info.wrapped_key
        patient.save(update_fields=["photo", "photo_key"])
        clear_files.append(old)
    _delete_after_commit(clear_files)


def decrypt_photos(apps, schema_editor) -> None:
    Patient = apps.get_model("records", "Patient")
    keyring = keyring_from_settings()
    encrypted_files = []
    for patient in Patient.objects.exclude(photo="").exclude(photo_key="").iterator():
        old = patient.photo.name
        with default_storage.open(old, "rb") as source, tempfile.TemporaryFile() as clear:
            for chunk in decrypt_stream(keyring, patient.photo_key, source, aad=photo_aad(old)):
                clear.write(chunk)
            clear.seek(0)
            name = default_storage.save(
                f"patients/{uuid.uuid4().hex}.{old.removesuffix('.enc').rpartition('.')[2]}",
                File(clear),
            )
        patient.photo = name
        patient.photo_key = ""
        patient.save(update_fields=["photo", "photo_key"])
        encrypted_files.append(old)
    _delete_after_commit(encrypted_files)


class Migration(migrations.Migration):
    dependencies = [("records", "0002_history_care_reports")]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="photo_key",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.AlterField(
            model_name="patient",
            name="photo",
            field=models.FileField(
                blank=True, editable=False, max_length=200, upload_to="", verbose_name="photo"
            ),
        ),
        migrations.RunPython(encrypt_photos, decrypt_photos),
    ]
