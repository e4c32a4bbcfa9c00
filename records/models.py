"""Health records: patients, their history, care that falls due, and encrypted reports.

Reads are QuerySet methods; writes that touch more than one row live in `records.services`.
"""

import uuid
from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.models import Client


class Species(models.TextChoices):
    DOG = "dog", _("Dog")
    CAT = "cat", _("Cat")
    RABBIT = "rabbit", _("Rabbit")
    BIRD = "bird", _("Bird")
    RODENT = "rodent", _("Rodent")
    REPTILE = "reptile", _("Reptile")
    HORSE = "horse", _("Horse")
    HUMAN = "human", _("Person")
    OTHER = "other", _("Other")


class Sex(models.TextChoices):
    FEMALE = "f", _("Female")
    MALE = "m", _("Male")
    UNKNOWN = "u", _("Unknown")


class PatientQuerySet(models.QuerySet["Patient"]):
    def of_client(self, client: Client) -> "PatientQuerySet":
        return self.filter(guardianships__client=client).distinct()

    def of_user(self, user) -> "PatientQuerySet":
        """Patients the logged-in client is linked to, joined through the user in one query
        (no separate fetch of the client record)."""
        return self.filter(guardianships__client__user=user)

    def to_confirm(self) -> "PatientQuerySet":
        """Declared by an owner and not yet confirmed by staff, oldest first."""
        return self.filter(declared_by_owner=True).order_by("created_at", "pk")

    def search(self, text: str) -> "PatientQuerySet":
        """By name (every word) or by identification number (exact digits, spaces ignored)."""
        text = text.strip()
        if not text:
            return self.none()
        chip = text.replace(" ", "")
        query = models.Q()
        for word in text.split():
            query &= models.Q(name__icontains=word)
        if chip.isalnum() and len(chip) >= 4:
            query |= models.Q(microchip__icontains=chip)
        return self.filter(query)


def _photo_path(instance: "Patient", filename: str) -> str:
    # Named by migration 0002, from when photos were stored in clear; kept for it alone.
    suffix = filename.rsplit(".", 1)[-1].lower()[:5] if "." in filename else "jpg"
    return f"patients/{uuid.uuid4().hex}.{suffix}"


# The photo formats a browser shows: (magic bytes, offset) -> (content type, extension).
PHOTO_TYPES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"GIF8", 0, "image/gif", "gif"),
    (b"WEBP", 8, "image/webp", "webp"),
)


def photo_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a photo from its first 12 bytes, else None."""
    for magic, offset, content_type, extension in PHOTO_TYPES:
        if head[offset : offset + len(magic)] == magic:
            if extension == "webp" and head[:4] != b"RIFF":
                continue
            return content_type, extension
    return None


class Patient(models.Model):
    """Who is cared for: an animal, or a person. Linked to one or more clients."""

    name = models.CharField(_("name"), max_length=120)
    species = models.CharField(_("species"), max_length=16, choices=Species.choices)
    breed = models.CharField(_("breed"), max_length=120, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    neutered = models.BooleanField(_("neutered"), default=False)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    microchip = models.CharField(_("identification"), max_length=32, blank=True)
    # Patients can be people: the photo is stored only encrypted, like a report (one data key,
    # wrapped in `photo_key`, bound to the file's name), and served by an access-checked view.
    photo = models.FileField(_("photo"), max_length=200, blank=True, editable=False)
    photo_key = models.CharField(max_length=200, blank=True, editable=False)
    clients = models.ManyToManyField(
        Client, through="Guardianship", related_name="patients", verbose_name=_("clients")
    )
    # The owner gave an approximate age, turned into a birth date: staff check it at the visit.
    birth_date_estimated = models.BooleanField(_("birth date estimated"), default=False)
    # Added by a client from their phone (issue 12): shown as "declared by the owner" until staff
    # confirm the details at the first visit. Rows staff create are never "declared".
    declared_by_owner = models.BooleanField(_("declared by the owner"), default=False)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    # When the species' first vaccination was proposed on confirmation: it is proposed once.
    protocol_suggested_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        verbose_name = _("patient")
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["microchip"], name="records_patient_chip"),
            models.Index(
                fields=["created_at"],
                condition=models.Q(declared_by_owner=True),
                name="records_patient_declared",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_person(self) -> bool:
        return self.species == Species.HUMAN

    @property
    def photo_aad(self) -> bytes:
        return photo_aad(self.photo.name)

    @property
    def photo_content_type(self) -> str:
        extension = self.photo.name.removesuffix(".enc").rpartition(".")[2]
        types = {ext: content_type for _magic, _offset, content_type, ext in PHOTO_TYPES}
        return types.get(extension, "application/octet-stream")


def photo_aad(name: str) -> bytes:
    """What a photo's ciphertext is bound to: its stored name, so files cannot be swapped."""
    return f"patient-photo:{name}".encode()


class Guardianship(models.Model):
    """A client's link to a patient: owner, co-owner, or someone with limited rights."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        CO_OWNER = "co_owner", _("Co-owner")
        SITTER = "sitter", _("Pet-sitter")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="guardianships")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="guardianships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.OWNER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "client"], name="records_one_link_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.client} → {self.patient} ({self.role})"

    @property
    def sees_documents(self) -> bool:
        # A pet-sitter looks after the animal (care due, history summaries) but the reports
        # belong to its owners.
        return self.role != self.Role.SITTER


class EntryKind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    VACCINATION = "vaccination", _("Vaccination")
    TREATMENT = "treatment", _("Treatment")
    SURGERY = "surgery", _("Surgery")
    LAB = "lab", _("Lab result")
    NOTE = "note", _("Note")


class HistoryEntryQuerySet(models.QuerySet["HistoryEntry"]):
    def timeline(self, patient: Patient, kind: str = "") -> "HistoryEntryQuerySet":
        entries = self.filter(patient=patient).select_related(
            "practitioner", "vaccination", "treatment"
        )
        if kind:
            entries = entries.filter(kind=kind)
        return entries.order_by("-date", "-pk")


class HistoryEntry(models.Model):
    """One line of a patient's history.

    `summary` is written for the owner and shown to them; `internal_notes` are for the clinic's
    team only and never leave staff pages.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    date = models.DateField(_("date"))
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("practitioner"),
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(
        _("summary for the owner"),
        blank=True,
        help_text=_("Shown to the owner in plain words."),
    )
    internal_notes = models.TextField(
        _("internal notes"), blank=True, help_text=_("Seen by the clinic's team only.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = HistoryEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history entries")
        ordering = ["-date", "-pk"]
        indexes = [models.Index(fields=["patient", "-date"], name="records_entry_timeline")]

    def __str__(self) -> str:
        return f"{self.date} {self.title}"


class Vaccination(models.Model):
    """The vaccination details of a history entry of kind vaccination."""

    entry = models.OneToOneField(
        HistoryEntry, on_delete=models.CASCADE, primary_key=True, related_name="vaccination"
    )
    vaccine = models.CharField(_("vaccine"), max_length=60)
    batch = models.CharField(_("batch"), max_length=40, blank=True)
    next_due = models.DateField(_("next due"), null=True, blank=True)

    def __str__(self) -> str:
        return self.vaccine

    def label(self, species: str) -> str:
        from records.protocols import vaccine_label

        return vaccine_label(species, self.vaccine)


class Treatment(models.Model):
    """A course of treatment: a renewal (or the next antiparasitic dose) falls due at its end."""

    entry = models.OneToOneField(
        HistoryEntry, on_delete=models.CASCADE, primary_key=True, related_name="treatment"
    )
    drug = models.CharField(_("drug"), max_length=120)
    dose = models.CharField(_("dose"), max_length=120)
    start = models.DateField(_("start"))
    end = models.DateField(_("end"), null=True, blank=True)
    antiparasitic = models.BooleanField(_("antiparasitic"), default=False)

    def __str__(self) -> str:
        return self.drug


class Weight(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="weights")
    date = models.DateField(_("date"))
    kg = models.DecimalField(_("weight (kg)"), max_digits=6, decimal_places=2)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["date", "pk"]
        indexes = [models.Index(fields=["patient", "date"], name="records_weight_patient")]

    def __str__(self) -> str:
        return f"{self.date} {self.kg} kg"


class CareKind(models.TextChoices):
    VACCINATION = "vaccination", _("Vaccination")
    ANTIPARASITIC = "antiparasitic", _("Antiparasitic treatment")
    CHECKUP = "checkup", _("Check-up")
    RENEWAL = "renewal", _("Treatment renewal")


# What the client books for each kind of care (booking's service slugs).
BOOKING_SERVICE = {
    CareKind.VACCINATION: "vaccination",
    CareKind.ANTIPARASITIC: "consultation",
    CareKind.CHECKUP: "checkup",
    CareKind.RENEWAL: "renewal",
}


class CareDueQuerySet(models.QuerySet["CareDue"]):
    def pending(self) -> "CareDueQuerySet":
        return self.filter(superseded_at=None)

    def upcoming_for_user(self, user) -> "CareDueQuerySet":
        return (
            self.pending()
            .filter(patient__guardianships__client__user=user)
            .select_related("patient")
            .order_by("due_date", "pk")
        )


class CareDue(models.Model):
    """Care that falls due: made when a vet records a vaccination, treatment or check-up date.

    A newer record of the same care (same patient, kind and subject) supersedes it; its reminder
    is then cancelled. The reminder itself is notifications' business (`key` names it).
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_due")
    kind = models.CharField(_("kind"), max_length=16, choices=CareKind.choices)
    # The vaccine's protocol code or the drug's name: what a newer record must match to
    # supersede this one.
    subject = models.CharField(_("what"), max_length=120)
    due_date = models.DateField(_("due"))
    source = models.ForeignKey(
        HistoryEntry, on_delete=models.CASCADE, null=True, blank=True, related_name="care_due"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = CareDueQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [
            models.Index(
                fields=["patient", "due_date"],
                condition=models.Q(superseded_at=None),
                name="records_care_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.due_date}"

    @property
    def title(self) -> str:
        """What is due, in the reader's language (vaccines are stored by protocol code)."""
        if self.kind == CareKind.VACCINATION:
            from records.protocols import vaccine_label

            return vaccine_label(self.patient.species, self.subject)
        if self.kind == CareKind.CHECKUP:
            return ""  # the kind ("Check-up") says it all
        return self.subject

    @property
    def reminder_key(self) -> str:
        return f"care:{self.kind}:{self.pk}"

    @property
    def booking_service(self) -> str:
        return BOOKING_SERVICE[CareKind(self.kind)]

    def is_overdue(self, today: date) -> bool:
        return self.due_date < today


class CorrectionRequest(models.Model):
    """A client asks the clinic to correct a patient's details (staff edit the record)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="corrections")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    message = models.TextField(_("what should be corrected"), max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.patient}: {self.message[:40]}"


class ReportQuerySet(models.QuerySet["Report"]):
    def published(self) -> "ReportQuerySet":
        return self.filter(status=Report.Status.PUBLISHED)

    def visible_to_user(self, user) -> "ReportQuerySet":
        """Published reports of patients this client owns or co-owns (not as a pet-sitter)."""
        return self.published().filter(
            patient__guardianships__client__user=user,
            patient__guardianships__role__in=[
                Guardianship.Role.OWNER,
                Guardianship.Role.CO_OWNER,
            ],
        )


class Report(models.Model):
    """A PDF report or result, stored only encrypted (portal.lib.crypto, one data key per file).

    The stored file is bound to `file_id` (authenticated data b"report:<file_id>"), so a file
    swapped onto another row fails to decrypt. Nothing of the content is kept in clear: the
    text a vet writes is rendered to PDF, encrypted, and dropped.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class Source(models.TextChoices):
        UPLOAD = "upload", _("Uploaded PDF")
        WRITTEN = "written", _("Written report")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="reports")
    title = models.CharField(_("title"), max_length=200)
    date = models.DateField(_("date"))
    source = models.CharField(max_length=8, choices=Source.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file_id = models.UUIDField(unique=True, editable=False)
    file = models.FileField(max_length=200)
    wrapped_key = models.CharField(max_length=200)
    plaintext_size = models.PositiveBigIntegerField()
    ciphertext_size = models.PositiveBigIntegerField()
    plaintext_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("report")
        ordering = ["-date", "-pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def aad(self) -> bytes:
        return f"report:{self.file_id}".encode()

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED
