"""Writes to health records. Each function is one transaction and says what it locks.

Side effects (reminders, "a new document is available") go to notifications after commit, with
`robust=True`: a notification failure is logged and never undoes a saved record. Rendering and
encryption of report files happen before the transaction opens, so no lock is held during
slow work.
"""

import contextlib
import logging
import tempfile
import time
import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from portal.lib.crypto import EncryptedInfo, encrypt_stream, keyring_from_settings
from portal.models import Client, Clinic, User
from records.models import (
    CareDue,
    CareKind,
    CorrectionRequest,
    EntryKind,
    Guardianship,
    HistoryEntry,
    Patient,
    Report,
    Species,
    Treatment,
    Vaccination,
    Weight,
    photo_aad,
    photo_type,
)
from records.protocols import first_vaccinations

logger = logging.getLogger(__name__)

REPORTS_DIR = "reports"


# --- Patients ------------------------------------------------------------------------------------


def link_client(*, patient: Patient, client: Client, role: str) -> Guardianship:
    """Link (or re-link with another role) a client to a patient. Locks nothing: the unique
    constraint on (patient, client) settles two staff linking the same pair at once."""
    with transaction.atomic():
        link, created = Guardianship.objects.get_or_create(
            patient=patient, client=client, defaults={"role": role}
        )
        if not created and link.role != role:
            link.role = role
            link.save(update_fields=["role"])
    return link


def create_patient(
    *, patient: Patient, client: Client | None, role: str, photo: UploadedFile | None = None
) -> Patient:
    """Save a new patient and, when a client is given, link it in the same transaction.

    A photo is encrypted into storage first, outside the transaction; if the row cannot be
    saved, its file is deleted.
    """
    return _save_new(patient, client, role, photo)


def _save_new(
    patient: Patient,
    client: Client | None,
    role: str,
    photo: UploadedFile | None,
    *,
    identification_free: bool = False,
) -> Patient:
    """The new patient and its link in one transaction, the photo encrypted first (deleted if
    the row is not saved); `identification_free`: refuse an identification number another
    patient has (IdentificationTaken), checked inside the transaction."""
    stored = _store_photo(photo) if photo else None
    try:
        with transaction.atomic():
            if identification_free:
                _check_identification_free(patient.microchip)
            if stored:
                patient.photo, patient.photo_key = stored
            patient.save()
            if client is not None:
                Guardianship.objects.create(patient=patient, client=client, role=role)
    except BaseException:
        if stored:
            _delete_quietly(stored[0])
        raise
    return patient


def update_patient(
    *, patient: Patient, photo: UploadedFile | None = None, clear_photo: bool = False
) -> Patient:
    """Save a patient's edited details, with a new photo (encrypted first, outside the
    transaction) or without one. The file replaced or cleared is deleted after commit, so a
    rollback keeps the row and its file together. Locks nothing: the last edit wins."""
    stored = _store_photo(photo) if photo else None
    replaced = patient.photo.name if (stored or clear_photo) else ""
    try:
        with transaction.atomic():
            if stored:
                patient.photo, patient.photo_key = stored
            elif clear_photo:
                patient.photo, patient.photo_key = "", ""
            patient.save()
            if replaced:
                transaction.on_commit(lambda: _delete_quietly(replaced), robust=True)
    except BaseException:
        if stored:
            _delete_quietly(stored[0])
        raise
    return patient


# --- Patients their owners declare (issue 12) -----------------------------------------------------

# What an owner may declare, by the keys of OwnerPatientForm's cleaned_data.
DECLARED_FIELDS = (
    "name",
    "species",
    "breed",
    "sex",
    "neutered",
    "birth_date",
    "birth_date_estimated",
    "microchip",
)
# What a person has not (Species.HUMAN): left at their defaults whatever `data` says.
ANIMAL_ONLY = {"breed": "", "neutered": False, "microchip": ""}


class IdentificationTaken(ValueError):
    """The identification number is already another patient's (found inside the transaction,
    after the form's own check: two declarations of one chip at the same time)."""


class AlreadyConfirmed(Exception):
    """The clinic confirmed the patient after the owner opened the form: only a correction
    request changes its details now."""


def _declared_values(data: dict) -> dict:
    values = {name: data[name] for name in DECLARED_FIELDS if name in data}
    values["microchip"] = (values.get("microchip") or "").replace(" ", "").upper()
    if values.get("species") == Species.HUMAN:
        values.update(ANIMAL_ONLY)
    return values


def _check_identification_free(microchip: str, *, patient_pk: int | None = None) -> None:
    if not microchip:
        return
    others = Patient.objects.filter(microchip=microchip)
    if patient_pk is not None:
        others = others.exclude(pk=patient_pk)
    if others.exists():
        raise IdentificationTaken(microchip)


def declare_patient(
    *, client: Client, data: dict, photo: UploadedFile | None = None, by: User
) -> Patient:
    """A client adds an animal (or a person) themselves: the patient is saved "declared by the
    owner", with `client` as its OWNER, in one transaction.

    `data` is `records.forms.OwnerPatientForm`'s cleaned_data (keys it does not know are ignored;
    "name" and "species" are required, the others default): name, species, breed, sex, neutered,
    birth_date, birth_date_estimated, microchip. `photo` is the form's `new_photo`; it is
    encrypted into storage before the transaction and deleted if the row cannot be saved. `by` is
    the account that declares it (the client's own, or the one just created by a newcomer's
    booking), named in the log line.

    Raises IdentificationTaken when the identification number belongs to another patient (the
    form says so first; this re-check inside the transaction catches two declarations at once).
    Locks nothing else: a new row conflicts with no one.
    """
    patient = Patient(**_declared_values(data), declared_by_owner=True)
    _save_new(patient, client, Guardianship.Role.OWNER, photo, identification_free=True)
    logger.info("Patient %s declared for client %s by user %s", patient.pk, client.pk, by.pk)
    return patient


def edit_declared_patient(
    *,
    patient: Patient,
    data: dict | None,
    photo: UploadedFile | None = None,
    clear_photo: bool = False,
    by: User,
) -> Patient:
    """An owner edits a patient they declared: its details (`data`, as for `declare_patient`)
    while the clinic has not confirmed it, and its photo at any time (`data=None`).

    Locks the patient row: a receptionist confirming it meanwhile either comes first (then
    AlreadyConfirmed is raised and nothing is saved) or sees the owner's edit. Only the fields
    written are saved, so an edit never undoes what staff wrote. A new photo is encrypted before
    the transaction; the replaced one is deleted after commit.
    """
    stored = _store_photo(photo) if photo else None
    try:
        with transaction.atomic():
            locked = _lock_patient(patient)
            fields: list[str] = []
            if data is not None:
                if not locked.declared_by_owner:
                    raise AlreadyConfirmed
                values = _declared_values(data)
                values.pop("species", None)  # an animal does not become a person, nor a cat a dog
                if locked.is_person:
                    values.update(ANIMAL_ONLY)
                _check_identification_free(values.get("microchip", ""), patient_pk=locked.pk)
                for name, value in values.items():
                    setattr(locked, name, value)
                fields += list(values)
            replaced = locked.photo.name if (stored or clear_photo) else ""
            if stored:
                locked.photo, locked.photo_key = stored
            elif clear_photo:
                locked.photo, locked.photo_key = "", ""
            if stored or clear_photo:
                fields += ["photo", "photo_key"]
            if fields:
                locked.save(update_fields=fields)
            if replaced:
                transaction.on_commit(lambda: _delete_quietly(replaced), robust=True)
    except BaseException:
        if stored:
            _delete_quietly(stored[0])
        raise
    logger.info("Patient %s edited by its owner (user %s)", locked.pk, by.pk)
    return locked


def confirm_patient(*, patient: Patient, by: User, birth_date: date | None = None) -> Patient:
    """Staff confirm a patient its owner declared, at the first visit, correcting its birth date
    if `birth_date` is given (it is then no longer "estimated").

    A young dog, cat or rabbit gets its species' first vaccination proposed
    (`records.protocols.first_vaccinations`): care due rows, with their reminders, like the ones
    a recorded vaccination makes. Proposed once: an animal that has vaccinations or pending
    vaccination care already gets nothing more.

    Locks the patient row, so two receptionists confirming at once (or a double click) stamp it
    once and propose the protocol once; confirming a confirmed patient changes nothing.
    """
    now = timezone.now()
    today = now.astimezone(Clinic.current().tz).date()
    with transaction.atomic():
        locked = _lock_patient(patient)
        if not locked.declared_by_owner:
            return locked
        fields = ["declared_by_owner", "confirmed_at", "confirmed_by"]
        locked.declared_by_owner, locked.confirmed_at, locked.confirmed_by = False, now, by
        if birth_date is not None:
            locked.birth_date, locked.birth_date_estimated = birth_date, False
            fields += ["birth_date", "birth_date_estimated"]
        if _suggest_first_vaccination(locked, today):
            locked.protocol_suggested_at = now
            fields.append("protocol_suggested_at")
        locked.save(update_fields=fields)
    return locked


def _suggest_first_vaccination(patient: Patient, today: date) -> list[CareDue]:
    """The first injections of the species' protocol as care due, when the animal is young and
    nothing about its vaccinations is known yet. Call inside the patient's lock."""
    if patient.protocol_suggested_at is not None:
        return []
    plan = first_vaccinations(patient.species, patient.birth_date, today)
    if not plan:
        return []
    known = (
        Vaccination.objects.filter(entry__patient=patient).exists()
        or CareDue.objects.pending().filter(patient=patient, kind=CareKind.VACCINATION).exists()
    )
    if known:
        return []
    return [
        _care_falls_due(patient, kind=CareKind.VACCINATION, subject=code, due=due, source=None)
        for code, due in plan
    ]


PHOTOS_DIR = "patients"


def _store_photo(photo: UploadedFile) -> tuple[str, str]:
    """Encrypt a photo into storage under a random name; (name, wrapped key).

    The form has checked it is a JPEG, PNG, GIF or WebP image; its extension stays in the name
    (before ".enc") so the photo view can say its content type without decrypting first.
    """
    photo.seek(0)
    found = photo_type(photo.read(12))
    if found is None:
        raise ValueError("Not a photo format the portal stores (JPEG, PNG, GIF, WebP).")
    name = f"{PHOTOS_DIR}/{uuid.uuid4().hex}.{found[1]}.enc"
    stored, info = _encrypt_to_storage(photo.chunks(), name=name, aad=photo_aad(name))
    if stored != name:  # the storage renamed it: the ciphertext is bound to the name asked for
        _delete_quietly(stored)
        raise RuntimeError(f"The storage saved {name} as {stored}.")
    return stored, info.wrapped_key


def request_correction(*, patient: Patient, client: Client, message: str) -> CorrectionRequest:
    return CorrectionRequest.objects.create(patient=patient, client=client, message=message)


def resolve_correction(*, correction: CorrectionRequest, by: User) -> None:
    """Mark a correction request handled. Locks the request so two staff do not both stamp it."""
    with transaction.atomic():
        locked = CorrectionRequest.objects.select_for_update().get(pk=correction.pk)
        if locked.resolved_at is None:
            locked.resolved_at = timezone.now()
            locked.resolved_by = by
            locked.save(update_fields=["resolved_at", "resolved_by"])


# --- History and care due ------------------------------------------------------------------------


def _lock_patient(patient: Patient) -> Patient:
    # Two vets recording the same care for one animal at once must supersede each other in
    # order, or both care items would stay pending: every write that creates care due locks
    # the patient row first.
    return Patient.objects.select_for_update().get(pk=patient.pk)


def record_entry(
    *,
    patient: Patient,
    practitioner: User | None,
    kind: str,
    on: date,
    title: str,
    summary: str = "",
    internal_notes: str = "",
    next_checkup: date | None = None,
) -> HistoryEntry:
    """A consultation, surgery, lab result or note; with `next_checkup`, a check-up falls due.

    Locks the patient row (see `_lock_patient`).
    """
    with transaction.atomic():
        _lock_patient(patient)
        entry = HistoryEntry.objects.create(
            patient=patient,
            kind=kind,
            date=on,
            practitioner=practitioner,
            title=title,
            summary=summary,
            internal_notes=internal_notes,
        )
        if next_checkup is not None:
            _supersede(patient, kind=CareKind.CHECKUP, subject="checkup")
            _care_falls_due(
                patient, kind=CareKind.CHECKUP, subject="checkup", due=next_checkup, source=entry
            )
    return entry


def record_vaccination(
    *,
    patient: Patient,
    practitioner: User | None,
    vaccine: str,
    batch: str,
    on: date,
    next_due: date | None,
    title: str,
    summary: str = "",
    internal_notes: str = "",
) -> HistoryEntry:
    """A vaccination; its next injection becomes care due, superseding the previous one for
    the same vaccine. Locks the patient row (see `_lock_patient`)."""
    with transaction.atomic():
        _lock_patient(patient)
        entry = HistoryEntry.objects.create(
            patient=patient,
            kind=EntryKind.VACCINATION,
            date=on,
            practitioner=practitioner,
            title=title,
            summary=summary,
            internal_notes=internal_notes,
        )
        Vaccination.objects.create(entry=entry, vaccine=vaccine, batch=batch, next_due=next_due)
        _supersede(patient, kind=CareKind.VACCINATION, subject=vaccine)
        if next_due is not None:
            _care_falls_due(
                patient, kind=CareKind.VACCINATION, subject=vaccine, due=next_due, source=entry
            )
    return entry


def record_treatment(
    *,
    patient: Patient,
    practitioner: User | None,
    drug: str,
    dose: str,
    start: date,
    end: date | None,
    antiparasitic: bool,
    title: str = "",
    summary: str = "",
    internal_notes: str = "",
) -> HistoryEntry:
    """A course of treatment. An antiparasitic's next dose is due at its end; any other long
    treatment needs renewing RECORDS_RENEWAL_LEAD_DAYS before its end. Locks the patient row."""
    with transaction.atomic():
        _lock_patient(patient)
        entry = HistoryEntry.objects.create(
            patient=patient,
            kind=EntryKind.TREATMENT,
            date=start,
            practitioner=practitioner,
            title=title or drug,
            summary=summary,
            internal_notes=internal_notes,
        )
        Treatment.objects.create(
            entry=entry, drug=drug, dose=dose, start=start, end=end, antiparasitic=antiparasitic
        )
        kind = CareKind.ANTIPARASITIC if antiparasitic else CareKind.RENEWAL
        _supersede(patient, kind=kind, subject=drug)
        if end is not None:
            due = end if antiparasitic else end - timedelta(days=settings.RECORDS_RENEWAL_LEAD_DAYS)
            _care_falls_due(patient, kind=kind, subject=drug, due=max(due, start), source=entry)
    return entry


def record_weight(*, patient: Patient, by: User | None, on: date, kg: Decimal) -> Weight:
    return Weight.objects.create(patient=patient, date=on, kg=kg, recorded_by=by)


def _supersede(patient: Patient, *, kind: str, subject: str) -> None:
    """Retire the pending care of the same kind and subject; its reminder is cancelled."""
    now = timezone.now()
    for care in CareDue.objects.pending().filter(patient=patient, kind=kind, subject=subject):
        care.superseded_at = now
        care.save(update_fields=["superseded_at"])
        transaction.on_commit(
            lambda key=care.reminder_key: _notify("cancel_care_reminder", key=key), robust=True
        )


def _care_falls_due(
    patient: Patient, *, kind: str, subject: str, due: date, source: HistoryEntry | None
) -> CareDue:
    care = CareDue.objects.create(
        patient=patient, kind=kind, subject=subject, due_date=due, source=source
    )
    care.patient = patient
    client_ids = list(
        patient.guardianships.exclude(role=Guardianship.Role.SITTER).values_list(
            "client_id", flat=True
        )
    )
    transaction.on_commit(
        lambda: _notify(
            "care_reminder",
            client_ids=client_ids,
            key=care.reminder_key,
            kind=care.kind,
            patient_name=patient.name,
            due_date=care.due_date,
            booking_url=booking_url(care, absolute=True),
            renew_url=renew_url(care, absolute=True),
        ),
        robust=True,
    )
    return care


def booking_url(care: CareDue, *, absolute: bool = False) -> str:
    """Booking's form with the right service preselected, or "" when booking is not installed.

    Resolved at call time, so the link appears as soon as booking ships its `start` view.
    """
    path = ""
    # The contract named it "booking:start"; booking shipped it as "booking:new" (/booking/new/).
    for name in ("booking:start", "booking:new"):
        try:
            path = reverse(name)
            break
        except NoReverseMatch:
            continue
    if not path:
        return ""
    url = f"{path}?patient={care.patient_id}&service={care.booking_service}"
    return f"{settings.ACCUEIL_BASE_URL.rstrip('/')}{url}" if absolute else url


def renew_url(care: CareDue, *, absolute: bool = False) -> str:
    """For a treatment's renewal, the orders app's request already filled in (its view
    "orders:renew", resolved at call time like booking's), else "" (book a visit instead)."""
    if care.kind != CareKind.RENEWAL or care.source_id is None:
        return ""
    try:
        path = reverse("orders:renew", args=[care.source_id])
    except NoReverseMatch:
        return ""
    return f"{settings.ACCUEIL_BASE_URL.rstrip('/')}{path}" if absolute else path


def _notify(name: str, **kwargs) -> None:
    """Call notifications' service `name`; imported late so records loads before it exists."""
    from notifications import services as notifications

    getattr(notifications, name)(**kwargs)


# --- Reports -------------------------------------------------------------------------------------


# Where ciphertext is written before it moves into place. On the storage's own disk, so the move
# is a rename rather than a second 20 MB write; a file left by a killed process is swept later.
PARTIAL_DIR = f"{REPORTS_DIR}/.partial"
PARTIAL_MAX_AGE = timedelta(hours=1)


class _StagedFile(File):
    def temporary_file_path(self) -> str:
        # FileSystemStorage moves a file that has a path (os.rename) instead of copying it.
        return self.file.name


def _staging_dir() -> Path | None:
    if not isinstance(default_storage, FileSystemStorage):
        return None  # a remote storage uploads from an anonymous temporary file
    directory = Path(default_storage.path(PARTIAL_DIR))
    directory.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - PARTIAL_MAX_AGE.total_seconds()
    for leftover in directory.glob("*.part"):
        with contextlib.suppress(OSError):  # another process may be sweeping too
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
    return directory


def _temporary_file(staging: Path | None):
    if staging is None:
        return tempfile.TemporaryFile()
    return tempfile.NamedTemporaryFile(dir=staging, suffix=".part", delete=False)


def _encrypt_to_storage(
    chunks: Iterable[bytes], *, name: str, aad: bytes
) -> tuple[str, EncryptedInfo]:
    """Encrypt into a temporary file, then hand the ciphertext to the storage as `name`.

    Plaintext never touches the disk. A failure while encrypting deletes the temporary file; a
    failure while saving deletes whatever the storage had written.
    """
    staging = _staging_dir()
    with _temporary_file(staging) as ciphertext:
        try:
            info = encrypt_stream(keyring_from_settings(), chunks, ciphertext, aad=aad)
            ciphertext.flush()
            ciphertext.seek(0)
            content = File(ciphertext, name=name) if staging is None else _StagedFile(ciphertext)
            try:
                name = default_storage.save(name, content)
            except BaseException:
                _delete_quietly(name)
                raise
        finally:
            if staging is not None:
                Path(ciphertext.name).unlink(missing_ok=True)  # gone already once moved
    return name, info


def _delete_quietly(name: str) -> None:
    try:
        default_storage.delete(name)
    except OSError:
        logger.exception("Could not delete %s", name)


def store_report(
    *,
    patient: Patient,
    author: User,
    title: str,
    on: date,
    source: str,
    chunks: Iterable[bytes],
) -> Report:
    """Encrypt a PDF (outside any transaction), then save its draft row.

    If the row cannot be saved the encrypted file is deleted, so no orphan stays on disk.
    Locks nothing: a new row conflicts with no one.
    """
    file_id = uuid.uuid4()
    name, info = _encrypt_to_storage(
        chunks, name=f"{REPORTS_DIR}/{file_id.hex}.enc", aad=f"report:{file_id}".encode()
    )
    try:
        with transaction.atomic():
            report = Report.objects.create(
                patient=patient,
                title=title,
                date=on,
                source=source,
                author=author,
                file_id=file_id,
                file=name,
                wrapped_key=info.wrapped_key,
                plaintext_size=info.plaintext_size,
                ciphertext_size=info.ciphertext_size,
                plaintext_sha256=info.plaintext_sha256,
            )
    except BaseException:
        _delete_quietly(name)
        raise
    return report


def write_report(*, patient: Patient, author: User, title: str, on: date, summary: str) -> Report:
    """Render the vet's text to the clinic's branded PDF, encrypt it, keep only the ciphertext."""
    from records.pdf import render_report

    pdf = render_report(patient=patient, practitioner=author, title=title, on=on, summary=summary)
    return store_report(
        patient=patient,
        author=author,
        title=title,
        on=on,
        source=Report.Source.WRITTEN,
        chunks=[pdf],
    )


def publish_report(*, report: Report, by: User) -> bool:
    """Release a draft to the patient's owners; they are told "a new document is available".

    Locks the report row, so a double click or two vets publishing at once notify only once.
    Returns False when it was already published.
    """
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.is_published:
            return False
        locked.status = Report.Status.PUBLISHED
        locked.published_at = timezone.now()
        locked.published_by = by
        locked.save(update_fields=["status", "published_at", "published_by"])
        client_ids = list(
            Guardianship.objects.filter(patient_id=locked.patient_id)
            .exclude(role=Guardianship.Role.SITTER)
            .values_list("client_id", flat=True)
        )
        transaction.on_commit(
            lambda: _notify("document_available", client_ids=client_ids, document_id=locked.pk),
            robust=True,
        )
    report.status, report.published_at = locked.status, locked.published_at
    return True


def delete_draft(*, report: Report) -> bool:
    """Delete a draft and its file (a published report is part of the record and stays).

    Locks the report row so it cannot be published while being deleted. The file goes after
    commit: a rollback keeps the row and its file together.
    """
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.is_published:
            return False
        name = locked.file.name
        locked.delete()
        transaction.on_commit(lambda: _delete_quietly(name), robust=True)
    return True
