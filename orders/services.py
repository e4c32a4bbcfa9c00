"""Writes of the orders app: a client's request, and every step staff take on it.

A step is one conditional UPDATE on (status, version) inside a transaction that also writes its
journal line and, for news the client needs, the outbox rows (notifications.services.order_notice
writes them in this transaction and enqueues on commit): a step that rolls back tells nobody.
Of two staff moving the same request at once, the second UPDATE matches no row and `Conflict`
says what the request became. Nothing is locked while a prescription is encrypted: that happens
before the transaction.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging import attachments as files
from notifications import services as notifications
from orders.models import FINAL, Order, OrderStep, Product, Status, prescription_aad
from portal.models import Client, Clinic, Duty, Site, User
from records.models import BOOKING_SERVICE, CareKind, Guardianship, Patient, Treatment

log = logging.getLogger(__name__)

# From each status, where a request may go next. Anything else is a skipped or undone step.
NEXT: dict[str, tuple[str, ...]] = {
    Status.NEW: (
        Status.APPROVED,
        Status.PREPARING,
        Status.CONSULTATION,
        Status.REFUSED,
        Status.CANCELLED,
    ),
    Status.APPROVED: (Status.PREPARING, Status.REFUSED),
    Status.PREPARING: (Status.READY,),
    Status.READY: (Status.COLLECTED, Status.NOT_COLLECTED),
}


class StepRefused(Exception):
    """A step that the rules forbid (skipped, undone, or missing a reason): says why."""


class Conflict(Exception):
    """Someone else moved the request first; `order` is what it is now."""

    def __init__(self, order: Order) -> None:
        super().__init__(order.status)
        self.order = order


# --- What a client may ask for -------------------------------------------------------------------


def clinic_today() -> date:
    return timezone.now().astimezone(Clinic.current().tz).date()


def current_treatments(patient: Patient, today: date | None = None) -> list[Treatment]:
    """The animal's treatments still running, or ended within ORDERS_CURRENT_TREATMENT_DAYS:
    the ones a client may ask to renew. The newest course of each drug only."""
    today = today or clinic_today()
    since = today - timedelta(days=settings.ORDERS_CURRENT_TREATMENT_DAYS)
    treatments = (
        Treatment.objects.filter(entry__patient=patient)
        .filter(Q(end__isnull=True) | Q(end__gte=since))
        .select_related("entry")
        .order_by("-start", "-entry_id")
    )
    newest: dict[str, Treatment] = {}
    for treatment in treatments:
        newest.setdefault(treatment.drug.casefold(), treatment)
    return list(newest.values())


def prescription_valid_until(treatment: Treatment) -> date:
    """The last day a vet's prescription may be renewed without seeing the animal again."""
    return treatment.start + timedelta(days=settings.ORDERS_PRESCRIPTION_VALID_DAYS)


def renewal_label(treatment: Treatment) -> str:
    return f"{treatment.drug} — {treatment.dose}" if treatment.dose else treatment.drug


def catalogue_for(patient: Patient) -> list[Product]:
    return [p for p in Product.objects.filter(active=True) if p.suits(patient.species)]


def orderable_link(client: Client, patient_id: int) -> Guardianship | None:
    """The client's link to the animal if they may order for it: owners and co-owners; a
    pet-sitter books and messages, but medicines stay with the owners."""
    return (
        Guardianship.objects.select_related("patient")
        .filter(client=client, patient_id=patient_id)
        .exclude(role=Guardianship.Role.SITTER)
        .first()
    )


@dataclass
class Prescription:
    """A prescription file checked and encrypted, ready to be stored with the request."""

    name: str
    content: object
    wrapped_key: str
    content_type: str
    original_name: str


def prepare_prescription(upload: UploadedFile | None) -> Prescription | None:
    """Check the file by its bytes (photo or PDF; ValidationError otherwise) and encrypt it."""
    if upload is None:
        return None
    content_type, extension = files.check_upload(upload)
    name = f"orders/{files.stored_name(extension)}"
    content, wrapped_key, _digest = files.encrypt_upload(upload, aad=prescription_aad(name))
    return Prescription(name, content, wrapped_key, content_type, (upload.name or name)[-200:])


def request_renewal(
    *,
    client: Client,
    treatment: Treatment,
    site: Site,
    quantity: int = 1,
    note: str = "",
    prescription: Prescription | None = None,
    by: User,
) -> Order:
    """Ask to renew `treatment`. A prescription written more than ORDERS_PRESCRIPTION_VALID_DAYS
    ago cannot be renewed without a visit: the request goes straight to "needs a consultation",
    with the booking link, and the client sees it at once."""
    expired = prescription_valid_until(treatment) < clinic_today()
    order = _create(
        client=client,
        patient=treatment.entry.patient,
        kind=Order.Kind.RENEWAL,
        treatment=treatment,
        product=None,
        label=renewal_label(treatment),
        needs_prescription=True,
        quantity=quantity,
        note=note,
        site=site,
        prescription=prescription,
        by=by,
    )
    if expired:
        with transaction.atomic():
            move(
                order=order,
                version=order.version,
                to=Status.CONSULTATION,
                by=None,
                reason=_(
                    "The prescription is more than a year old: the vet needs to see the animal."
                ),
            )
        order.refresh_from_db()
    return order


def request_product(
    *,
    client: Client,
    patient: Patient,
    product: Product,
    site: Site,
    quantity: int = 1,
    note: str = "",
    prescription: Prescription | None = None,
    by: User,
) -> Order:
    """Order an item of the catalogue. One that needs a prescription needs a valid one: the
    client's file, or a current treatment of that name in the animal's record (the form says
    so before this is called; this refuses too)."""
    if (
        product.needs_prescription
        and prescription is None
        and not has_prescription_for(patient, product)
    ):
        raise StepRefused(_("This item needs a prescription: attach it (photo or PDF)."))
    return _create(
        client=client,
        patient=patient,
        kind=Order.Kind.PRODUCT,
        treatment=None,
        product=product,
        label=str(product),
        needs_prescription=product.needs_prescription,
        quantity=quantity,
        note=note,
        site=site,
        prescription=prescription,
        by=by,
    )


def has_prescription_for(patient: Patient, product: Product) -> bool:
    """A treatment of that name in the animal's record whose prescription is still valid."""
    today = clinic_today()
    return any(
        t.drug.casefold() == product.name.casefold() and prescription_valid_until(t) >= today
        for t in current_treatments(patient, today)
    )


def _create(*, prescription: Prescription | None, by: User, **fields) -> Order:
    stored = ""
    if prescription is not None:
        stored = default_storage.save(prescription.name, prescription.content)
    now = timezone.now()
    try:
        with transaction.atomic():
            order = Order.objects.create(
                status=Status.NEW,
                created_at=now,
                updated_at=now,
                prescription=stored,
                prescription_key=prescription.wrapped_key if prescription else "",
                prescription_type=prescription.content_type if prescription else "",
                prescription_name=prescription.original_name if prescription else "",
                **fields,
            )
            OrderStep.objects.create(order=order, status=Status.NEW, at=now, by=by)
    except BaseException:
        if stored:
            default_storage.delete(stored)
        raise
    return order


# --- Steps ---------------------------------------------------------------------------------------


def duty_for(order: Order, to: str) -> str | None:
    """The staff duty a step needs; None for the client's own cancellation.

    A vet (the medical duty) approves, refuses or asks to see the animal for anything that needs
    a prescription; the rest of the work is the orders duty's (reception by default)."""
    if to == Status.CANCELLED:
        return None
    if to in (Status.APPROVED, Status.CONSULTATION):
        return Duty.MEDICAL
    if to == Status.REFUSED and order.needs_prescription:
        return Duty.MEDICAL
    return Duty.ORDERS


def check_step(order: Order, to: str, *, reason: str = "") -> None:
    """StepRefused, with a sentence a person can act on, when `to` may not follow now."""
    refusal = _refusal(order, to)
    if refusal:
        raise StepRefused(refusal)
    if to == Status.REFUSED and not reason.strip():
        raise StepRefused(_("Say why the request is refused: the client will read it."))


def next_steps(order: Order) -> list[str]:
    """The steps staff may take now, in order (the card's buttons; the client's own
    cancellation is not one of them)."""
    return [
        to
        for to in NEXT.get(order.status, ())
        if to != Status.CANCELLED and _refusal(order, to) is None
    ]


def _refusal(order: Order, to: str) -> str | None:
    """Why `to` may not follow the request's status (the reason a refusal needs aside)."""
    if to not in NEXT.get(order.status, ()):
        if to == Status.COLLECTED:
            return _("A request can be marked collected only once it is ready.")
        if to == Status.READY:
            return _("A request is marked ready once it is being prepared.")
        return _("This request is “%(status)s”: it cannot become “%(to)s”.") % {
            "status": order.get_status_display(),
            "to": Status(to).label,
        }
    if to == Status.APPROVED and not order.needs_prescription:
        return _("This item needs no prescription: prepare it directly.")
    if to == Status.PREPARING and order.status == Status.NEW and order.needs_prescription:
        return _("A vet must approve this request before it is prepared.")
    return None


def move(*, order: Order, version: int, to: str, by: User | None, reason: str = "") -> Order:
    """Take one step from the status and version the caller saw. Raises StepRefused (the rules),
    Conflict (someone else moved it first). Returns the request as it now is.

    `order` as read now and `version` as the person saw it: when they differ, the person is
    told what happened (Conflict) rather than judged on a step they did not see."""
    if order.version != version:
        raise Conflict(order)
    check_step(order, to, reason=reason)
    now = timezone.now()
    fields: dict[str, object] = {"status": to, "version": F("version") + 1, "updated_at": now}
    if reason.strip():
        fields["reason"] = reason.strip()[:300]
    if to == Status.READY:
        fields["ready_at"] = now
        fields["ready_until"] = pickup_deadline(now)
    if to in FINAL:
        fields["closed_at"] = now
    with transaction.atomic():
        changed = Order.objects.filter(pk=order.pk, status=order.status, version=version).update(
            **fields
        )
        if not changed:
            raise Conflict(Order.objects.with_related().get(pk=order.pk))
        OrderStep.objects.create(order=order, status=to, at=now, by=by, note=reason.strip()[:300])
        moved = Order.objects.with_related().get(pk=order.pk)
        _tell_client(moved, now)
    return moved


def pickup_deadline(now: datetime) -> datetime:
    """When the clinic closes on the ORDERS_PICKUP_OPEN_DAYS-th day it opens after today; with
    no opening hours set, that many days later at 18:00."""
    from booking.services import pickup_deadline as closing

    days = settings.ORDERS_PICKUP_OPEN_DAYS
    deadline = closing(now, open_days=days)
    if deadline is None:
        tz = Clinic.current().tz
        day = now.astimezone(tz).date() + timedelta(days=days)
        deadline = datetime.combine(day, time(18), tzinfo=tz)
    return deadline


def _tell_client(order: Order, now: datetime) -> None:
    stage = {
        Status.READY: "ready",
        Status.REFUSED: "refused",
        Status.CONSULTATION: "consultation",
    }.get(order.status)
    if stage is None:
        return
    context = _notice_context(order)
    notifications.order_notice(
        client_id=order.client_id,
        order_id=order.pk,
        version=order.version,
        stage=stage,
        context=context,
    )
    if stage == "ready":
        tz = Clinic.current().tz
        day = now.astimezone(tz).date() + timedelta(days=settings.ORDERS_REMINDER_AFTER_DAYS)
        at = datetime.combine(day, time(10), tzinfo=tz)
        if order.ready_until is None or at < order.ready_until:
            notifications.order_notice(
                client_id=order.client_id,
                order_id=order.pk,
                version=order.version,
                stage="waiting",
                at=at,
                context=context,
            )


def _notice_context(order: Order) -> dict[str, object]:
    return {
        "patient_name": order.patient.name,
        "item": order.label,
        "site_name": order.site.name,
        "site_address": order.site.address_line,
        "until_at": order.ready_until,
        "order_url": reverse("orders:detail", args=[order.pk]),
        "reason": order.reason,
        "booking_url": consultation_url(order),
    }


def consultation_url(order: Order) -> str:
    """Booking's form for this animal with the renewal consultation chosen."""
    service = BOOKING_SERVICE[CareKind.RENEWAL]
    return f"{reverse('booking:new')}?patient={order.patient_id}&service={service}"


def still_ready(order_id: int, version: int) -> bool:
    """notifications' subject checker: a notice about a request holds while the request is
    still at the version it was planned for (collected meanwhile: the reminder is dropped)."""
    return Order.objects.filter(pk=order_id, version=version).exists()
