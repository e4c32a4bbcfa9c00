"""The household: invitations to share animals, and the journal of who shared what with whom.

The links themselves are records' `Guardianship` rows (owner, co-owner, pet-sitter); this app
only makes and removes them at the owners' request, and writes down every change.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.models import Client
from records.models import Guardianship, Patient

# The roles an owner may give: sharing ownership itself is the clinic's business.
SHARED_ROLES = [
    (Guardianship.Role.CO_OWNER.value, Guardianship.Role.CO_OWNER.label),
    (Guardianship.Role.SITTER.value, Guardianship.Role.SITTER.label),
]

# A person already linked keeps the stronger of two links.
STRENGTH = {
    Guardianship.Role.OWNER: 3,
    Guardianship.Role.CO_OWNER: 2,
    Guardianship.Role.SITTER: 1,
}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class HouseholdInvitationQuerySet(models.QuerySet["HouseholdInvitation"]):
    def by_token(self, token: str) -> "HouseholdInvitation | None":
        return self.select_related("inviter").filter(token_hash=hash_token(token)).first()

    def pending(self, now: datetime) -> "HouseholdInvitationQuerySet":
        return self.filter(accepted_at=None, revoked_at=None, expires_at__gt=now)


class HouseholdInvitation(models.Model):
    """An owner asks someone, by e-mail, to co-own or look after some of their animals.

    Only the token's hash is stored (a database leak gives no usable link). The link works
    once, for 7 days, unless the owner cancels it first.
    """

    VALIDITY = timedelta(days=7)

    inviter = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(_("e-mail"))
    role = models.CharField(_("role"), max_length=16, choices=SHARED_ROLES)
    patients = models.ManyToManyField(Patient, related_name="+", verbose_name=_("animals"))
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        Client, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = HouseholdInvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["inviter", "-created_at"], name="household_inv_inviter")]

    def __str__(self) -> str:
        return f"{self.email} ({self.role})"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def state(self, now: datetime) -> str:
        """ "accepted", "cancelled", "expired" or "pending"."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "cancelled"
        if now >= self.expires_at:
            return "expired"
        return "pending"

    def is_usable(self, now: datetime) -> bool:
        return self.state(now) == "pending"


class HouseholdEventQuerySet(models.QuerySet["HouseholdEvent"]):
    def update(self, **kwargs):
        raise PermissionError("The household journal is append-only.")

    def delete(self):
        raise PermissionError("The household journal is append-only.")

    def seen_by(self, client: Client) -> "HouseholdEventQuerySet":
        """What a client's household page shows: every change to the animals they own, and the
        changes that concern them (their own links, what they did)."""
        owned = Guardianship.objects.filter(client=client, role=Guardianship.Role.OWNER)
        return (
            self.filter(
                models.Q(patient__in=owned.values("patient"))
                | models.Q(client=client)
                | models.Q(actor=client)
            )
            .select_related("actor", "client", "patient")
            .order_by("-at", "-pk")
        )


class HouseholdEvent(models.Model):
    """The household journal: who did what, when, to which animal and whom. Append-only.

    One line per animal: an invitation for two animals writes two lines. People and animals
    are kept by reference (an erased client reads as their anonymised record).
    """

    class Kind(models.TextChoices):
        INVITED = "invited", pgettext_lazy("household journal", "invited")
        ACCEPTED = "accepted", pgettext_lazy("household journal", "accepted the invitation")
        REVOKED = "revoked", pgettext_lazy("household journal", "removed")
        LEFT = "left", pgettext_lazy("household journal", "left")
        CANCELLED = "cancelled", pgettext_lazy("household journal", "cancelled the invitation")

    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Who did it (their client record) and the account they used.
    actor = models.ForeignKey(
        Client, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The person the change is about: whose link was made or removed ...
    client = models.ForeignKey(
        Client, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # ... or, for an invitation, the address it went to (they may have no account yet).
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=16, choices=Guardianship.Role.choices, blank=True)
    invitation = models.ForeignKey(
        HouseholdInvitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = HouseholdEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "-at"], name="household_event_patient"),
            models.Index(fields=["client", "-at"], name="household_event_client"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.patient_id} {self.client_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("The household journal is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The household journal is append-only.")

    @property
    def whom(self) -> str:
        """The person concerned, as the page names them."""
        return str(self.client) if self.client_id else self.email
