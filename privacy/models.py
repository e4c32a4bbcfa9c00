"""The client's data rights: exports of their data, corrections, erasure, the privacy notice.

Writes live in `privacy.services`; reads are QuerySet methods scoped to one client.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Client


class DataExportQuerySet(models.QuerySet["DataExport"]):
    def of_client(self, client: Client) -> "DataExportQuerySet":
        return self.filter(client=client)


class DataExport(models.Model):
    """One zip of a client's data, built by a task, stored encrypted, downloadable once.

    The file is bound to its row (authenticated data b"data_export:<file_id>"), like a report.
    """

    class Status(models.TextChoices):
        PREPARING = "preparing", _("Being prepared")
        READY = "ready", _("Ready")
        DOWNLOADED = "downloaded", _("Downloaded")
        FAILED = "failed", _("Failed")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PREPARING)
    created_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    file_id = models.UUIDField(unique=True, editable=False)
    file = models.FileField(max_length=200, blank=True)
    wrapped_key = models.CharField(max_length=200, blank=True)
    plaintext_size = models.PositiveBigIntegerField(default=0)

    objects = DataExportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Asking twice while one is being prepared finds the first: the database says so
            # even when two requests race.
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(status="preparing"),
                name="privacy_one_export_preparing",
            )
        ]

    def __str__(self) -> str:
        return f"export {self.pk} of client {self.client_id} ({self.status})"

    @property
    def aad(self) -> bytes:
        return f"data_export:{self.file_id}".encode()

    def state(self, now: datetime) -> str:
        """What the client is told: preparing, ready, downloaded, expired or failed."""
        if self.status == self.Status.READY and self.expires_at and now >= self.expires_at:
            return "expired"
        if self.status == self.Status.PREPARING and now - self.created_at > timedelta(
            seconds=settings.TASKS_INTERRUPTED_AFTER_SECONDS
        ):
            return self.Status.FAILED  # its worker died; asking again is allowed
        return self.status


class ProfileCorrection(models.Model):
    """A client asks the clinic to correct their own details (staff edit the client record)."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    message = models.TextField(_("what should be corrected"), max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    note = models.CharField(_("note for the client"), max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"correction {self.pk} of client {self.client_id}"


class ErasureRequest(models.Model):
    """A client asks to close their account and have their personal data erased."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the clinic")
        DONE = "done", _("Done")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(status="pending"),
                name="privacy_one_erasure_pending",
            )
        ]

    def __str__(self) -> str:
        return f"erasure {self.pk} of client {self.client_id} ({self.status})"


class PrivacyNotice(models.Model):
    """The clinic's privacy notice, one row, edited by a manager (plain text, paragraphs)."""

    text_fr = models.TextField(_("notice in French"), blank=True)
    text_en = models.TextField(_("notice in English"), blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("privacy notice")

    def __str__(self) -> str:
        return "privacy notice"

    @classmethod
    def current(cls) -> "PrivacyNotice":
        """The row if the clinic wrote one, else an unsaved empty one (the default applies)."""
        return cls.objects.order_by("pk").first() or cls()

    def text_for(self, language: str) -> str:
        """The clinic's text in `language`, the other language's if only that one exists, or ""
        (the caller shows the default text)."""
        own = self.text_en if language == "en" else self.text_fr
        return own or self.text_fr or self.text_en
