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


class Patient(models.Model):
    """Who is cared for: an animal, or a person. Linked to one or more clients."""

    name = models.CharField(_("name"), max_length=120)
    species = models.CharField(_("species"), max_length=16, choices=Species.choices)
    breed = models.CharField(_("breed"), max_length=120, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    neutered = models.BooleanField(_("neutered"), default=False)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    microchip = models.CharField(_("identification"), max_length=32, blank=True)
    clients = models.ManyToManyField(
        Client, through="Guardianship", related_name="patients", verbose_name=_("clients")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        verbose_name = _("patient")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Guardianship(models.Model):
    """A client's link to a patient: owner, co-owner, or someone with limited rights."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        CO_OWNER = "co_owner", _("Co-owner")
        SITTER = "sitter", _("Pet-sitter")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="guardianships")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="guardianships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OWNER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "client"], name="records_one_link_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.client} → {self.patient} ({self.role})"
