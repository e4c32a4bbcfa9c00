"""Between visits: treatment renewals and orders from the clinic's catalogue, picked up on site.

A request (`Order`) moves through one path, each step journaled (`OrderStep`: who, when):

    new ─┬─ approved (by a vet) ─ being prepared ─ ready for pick-up ─┬─ collected
         ├─ being prepared (an item that needs no prescription)       └─ not collected
         ├─ needs a consultation (the client is offered a booking)
         ├─ refused (with a reason)
         └─ cancelled (by the client, while still new)

`version` grows on every step: a step is one conditional UPDATE on (status, version), so of two
staff moving the same request at once one wins and the other is told (services.move).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.models import Client, Site
from records.models import Patient, Species, Treatment


class Product(models.Model):
    """An item of the clinic's catalogue, maintained by the manager. No stock is kept here."""

    name = models.CharField(_("name"), max_length=120)
    pack = models.CharField(_("pack size"), max_length=80, blank=True)
    price = models.DecimalField(
        _("price (€)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    needs_prescription = models.BooleanField(_("needs a prescription"), default=False)
    # Species it is for; empty: every species.
    species = models.JSONField(_("species"), default=list, blank=True)
    active = models.BooleanField(
        _("offered"), default=True, help_text=_("Unticked: no longer offered to clients.")
    )

    class Meta:
        verbose_name = _("product")
        ordering = ["name", "pack", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.pack})" if self.pack else self.name

    def suits(self, species: str) -> bool:
        return not self.species or species in self.species

    @property
    def species_labels(self) -> list[str]:
        labels = dict(Species.choices)
        return [str(labels.get(value, value)) for value in self.species]


class Status(models.TextChoices):
    NEW = "new", pgettext_lazy("order status", "Received")
    APPROVED = "approved", pgettext_lazy("order status", "Approved by a vet")
    PREPARING = "preparing", pgettext_lazy("order status", "Being prepared")
    READY = "ready", pgettext_lazy("order status", "Ready for pick-up")
    COLLECTED = "collected", pgettext_lazy("order status", "Collected")
    NOT_COLLECTED = "not_collected", pgettext_lazy("order status", "Not collected")
    CONSULTATION = "consultation", pgettext_lazy("order status", "Needs a consultation")
    REFUSED = "refused", pgettext_lazy("order status", "Refused")
    CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")


# Where nothing moves any more: the client's page stops asking for news.
FINAL = frozenset(
    {
        Status.COLLECTED,
        Status.NOT_COLLECTED,
        Status.CONSULTATION,
        Status.REFUSED,
        Status.CANCELLED,
    }
)
# The staff queue's work in progress, in the order it is worked.
OPEN = (Status.NEW, Status.APPROVED, Status.PREPARING, Status.READY)


class OrderQuerySet(models.QuerySet["Order"]):
    def of_user(self, user) -> "OrderQuerySet":
        return self.filter(client__user=user)

    def open(self) -> "OrderQuerySet":
        return self.filter(status__in=OPEN)

    def with_related(self) -> "OrderQuerySet":
        return self.select_related("client__user", "patient", "site", "product")


class Order(models.Model):
    """One request from a client: renew a treatment, or an item of the catalogue."""

    class Kind(models.TextChoices):
        RENEWAL = "renewal", _("Treatment renewal")
        PRODUCT = "product", _("Order")

    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="orders", verbose_name=_("client")
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="orders", verbose_name=_("patient")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    treatment = models.ForeignKey(
        Treatment, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    # What was asked for, in words, as it read on the day (the product may be renamed later).
    label = models.CharField(_("item"), max_length=250)
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    needs_prescription = models.BooleanField(default=True)
    note = models.TextField(_("note for the clinic"), max_length=500, blank=True)
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("pick-up at")
    )
    # The client's prescription (photo or PDF), encrypted like a message attachment.
    prescription = models.FileField(max_length=200, blank=True, editable=False)
    prescription_key = models.CharField(max_length=160, blank=True, editable=False)
    prescription_type = models.CharField(max_length=64, blank=True, editable=False)
    prescription_name = models.CharField(max_length=200, blank=True, editable=False)

    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    version = models.PositiveIntegerField(default=1)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    ready_at = models.DateTimeField(null=True, blank=True)
    ready_until = models.DateTimeField(_("to collect before"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("request")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="orders_status_created"),
            models.Index(fields=["client", "created_at"], name="orders_client_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1, quantity__lte=20), name="orders_quantity"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="renewal", product__isnull=True)
                    | models.Q(kind="product", product__isnull=False)
                ),
                name="orders_kind_matches_item",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.label}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @property
    def prescription_aad(self) -> bytes:
        return prescription_aad(self.prescription.name)


def prescription_aad(name: str) -> bytes:
    """What a prescription's ciphertext is bound to: its stored name (no swapping files)."""
    return f"order-prescription:{name}".encode()


class OrderStep(models.Model):
    """The journal of a request: every status it took, who moved it and when. Append-only."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="steps")
    status = models.CharField(max_length=16, choices=Status.choices)
    at = models.DateTimeField()
    # None: the system (a renewal whose prescription had expired is routed on its own).
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.status}"
