import logging

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orders import figures, services
from orders.access import order_for, treatment_for
from orders.forms import ProductForm, ProductOrderForm, RenewalForm, StepForm
from orders.models import FINAL, Order, Product, Status
from portal.access import (
    client_of,
    client_required,
    duty_denied,
    has_duty,
    log_access,
    manager_required,
    staff_required,
)
from portal.lib import sealed
from portal.models import AccessLog
from records.models import Guardianship, Patient

logger = logging.getLogger(__name__)


# --- Clients -------------------------------------------------------------------------------------


def _orderable_patients(client):
    return Patient.objects.filter(
        guardianships__client=client,
        guardianships__role__in=[Guardianship.Role.OWNER, Guardianship.Role.CO_OWNER],
    ).order_by("name", "pk")


@client_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    orders = list(Order.objects.filter(client=client).select_related("patient")[:50])
    patients = list(_orderable_patients(client))
    today = services.clinic_today()
    renewable = [(patient, services.current_treatments(patient, today)) for patient in patients]
    return render(
        request,
        "orders/mine.html",
        {
            "open": [o for o in orders if not o.is_final],
            "closed": [o for o in orders if o.is_final],
            "renewable": [(p, t) for p, t in renewable if t],
            "patients": patients,
            "has_catalogue": Product.objects.filter(active=True).exists(),
        },
    )


@client_required
@require_http_methods(["GET", "POST"])
def renew(request: HttpRequest, pk: int) -> HttpResponse:
    """One tap from the renewal reminder: the request is filled in, the client sends it."""
    client = client_of(request.user)
    treatment = treatment_for(request, pk)
    patient = treatment.entry.patient
    form = RenewalForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        order = services.request_renewal(
            client=client,
            treatment=treatment,
            site=data["site"],
            quantity=data["quantity"],
            note=data["note"],
            prescription=data["prescription"],
            by=request.user,
        )
        if order.status == Status.CONSULTATION:
            messages.warning(
                request, _("The vet needs to see %(name)s first.") % {"name": patient.name}
            )
        else:
            messages.success(request, _("Your request is sent. We will tell you when it is ready."))
        return redirect("orders:detail", order.pk)
    expired = services.prescription_valid_until(treatment) < services.clinic_today()
    return render(
        request,
        "orders/renew.html",
        {
            "form": form,
            "treatment": treatment,
            "patient": patient,
            "label": services.renewal_label(treatment),
            "expired": expired,
        },
    )


@client_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    patients = _orderable_patients(client)
    initial = {}
    raw = request.GET.get("patient", "")
    if raw.isdigit():
        initial["patient"] = patients.filter(pk=int(raw)).first()
    form = ProductOrderForm(
        request.POST or None, request.FILES or None, patients=patients, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = services.request_product(
                client=client,
                patient=data["patient"],
                product=data["product"],
                site=data["site"],
                quantity=data["quantity"],
                note=data["note"],
                prescription=data["prescription"],
                by=request.user,
            )
        except services.StepRefused as refused:
            form.add_error("prescription", str(refused))
        else:
            messages.success(request, _("Your order is sent. We will tell you when it is ready."))
            return redirect("orders:detail", order.pk)
    products = list(Product.objects.filter(active=True))
    return render(request, "orders/new.html", {"form": form, "products": products})


@client_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = order_for(request, pk)
    if request.htmx and not request.htmx.history_restore_request:
        # The page asking for news (every ORDERS_LIVE_POLL_SECONDS while not final).
        return render(request, "orders/_status.html", _status_context(order))
    log_access(request, action=AccessLog.Action.VIEW, object_type="order", object_id=order.pk)
    return render(request, "orders/detail.html", _status_context(order))


def _status_context(order: Order) -> dict:
    return {
        "order": order,
        "steps": list(order.steps.all()),
        "poll": settings.ORDERS_LIVE_POLL_SECONDS,
        "booking_url": services.consultation_url(order)
        if order.status == Status.CONSULTATION
        else "",
    }


@client_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = order_for(request, pk)
    try:
        services.move(
            order=order,
            version=_version(request),
            to=Status.CANCELLED,
            by=request.user,
        )
    except services.StepRefused:
        messages.error(request, _("The clinic has started on this request: call us to stop it."))
    except services.Conflict as conflict:
        messages.error(request, _conflict_text(conflict.order))
    else:
        messages.success(request, _("Your request is cancelled."))
    return redirect("orders:detail", order.pk)


def _version(request: HttpRequest) -> int:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


@require_GET
def prescription(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The client's prescription file: to the client who sent it, and to staff."""
    order = order_for(request, pk, what="order_prescription")
    if not order.prescription:
        raise Http404
    log_access(
        request, action=AccessLog.Action.DOWNLOAD, object_type="order_prescription", object_id=pk
    )
    try:
        handle, chunks = sealed.open_verified(
            order.prescription.name, order.prescription_key, order.prescription_aad
        )
    except sealed.Unreadable as error:
        logger.error("Prescription of order %s could not be read: %s", order.pk, error)
        raise Http404 from None
    response = StreamingHttpResponse(
        sealed.stream(request, chunks, handle), content_type=order.prescription_type
    )
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Staff ---------------------------------------------------------------------------------------

SHOWS = {
    "todo": (Status.NEW,),
    "approved": (Status.APPROVED,),
    "preparing": (Status.PREPARING,),
    "ready": (Status.READY,),
    "closed": tuple(FINAL),
}


@staff_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "todo")
    if show not in SHOWS and show != "late":
        show = "todo"
    now = timezone.now()
    orders = Order.objects.with_related()
    if show == "late":
        orders = orders.filter(status=Status.READY, ready_until__lt=now).order_by("ready_until")
    elif show == "closed":
        orders = orders.filter(status__in=FINAL).order_by("-updated_at", "-pk")
    else:
        orders = orders.filter(status__in=SHOWS[show]).order_by("created_at", "pk")
    counts = Order.objects.aggregate(
        todo=Count("pk", filter=Q(status=Status.NEW)),
        approved=Count("pk", filter=Q(status=Status.APPROVED)),
        preparing=Count("pk", filter=Q(status=Status.PREPARING)),
        ready=Count("pk", filter=Q(status=Status.READY)),
        late=Count("pk", filter=Q(status=Status.READY, ready_until__lt=now)),
    )
    return render(
        request,
        "orders/queue.html",
        {"orders": list(orders[:100]), "show": show, "counts": counts, "now": now},
    )


@staff_required
@require_GET
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = order_for(request, pk)
    log_access(request, action=AccessLog.Action.VIEW, object_type="order", object_id=order.pk)
    return render(request, "orders/staff_detail.html", _staff_context(request, order))


def _staff_context(request: HttpRequest, order: Order, form: StepForm | None = None) -> dict:
    actions = [
        {
            "to": to,
            "label": Status(to).label,
            "allowed": has_duty(request.user, services.duty_for(order, to)),
        }
        for to in services.next_steps(order)
    ]
    return {
        "order": order,
        "steps": list(order.steps.select_related("by")),
        "actions": actions,
        "form": form or StepForm(initial={"version": order.version}),
        "now": timezone.now(),
        "treatment": order.treatment,
    }


@staff_required
@require_POST
def step(request: HttpRequest, pk: int) -> HttpResponse:
    order = order_for(request, pk)
    form = StepForm(request.POST)
    template = "orders/staff_detail.html#card" if request.htmx else "orders/staff_detail.html"
    if not form.is_valid():
        return render(request, template, _staff_context(request, order, form), status=400)
    to = form.cleaned_data["to"]
    duty = services.duty_for(order, to)
    if duty is None or not has_duty(request.user, duty):
        return duty_denied(request, duty or "orders")
    try:
        order = services.move(
            order=order,
            version=form.cleaned_data["version"],
            to=to,
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
    except services.StepRefused as refused:
        form.add_error(None, str(refused))
        return render(request, template, _staff_context(request, order, form), status=400)
    except services.Conflict as conflict:
        messages.error(request, _conflict_text(conflict.order))
        order = conflict.order
        if request.htmx:
            return render(request, template, _staff_context(request, order), status=409)
        return redirect("orders:staff_detail", order.pk)
    messages.success(
        request,
        _("Request #%(pk)s: %(status)s.") % {"pk": order.pk, "status": order.get_status_display()},
    )
    if request.htmx:
        return render(request, template, _staff_context(request, order))
    return redirect("orders:staff_detail", order.pk)


def _conflict_text(order: Order) -> str:
    return _(
        "Someone else moved this request first: it is now “%(status)s”. Check it before going on."
    ) % {"status": order.get_status_display()}


@manager_required
@require_http_methods(["GET", "POST"])
def catalogue(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    product = get_object_or_404(Product, pk=pk) if pk is not None else None
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, _("“%(name)s” is saved.") % {"name": saved})
        return redirect("orders:catalogue")
    products = list(Product.objects.annotate(asked=Count("orders")))
    return render(
        request,
        "orders/catalogue.html",
        {"form": form, "product": product, "products": products},
        status=400 if request.method == "POST" else 200,
    )


@staff_required
@require_GET
def figures_page(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/figures.html", {"figures": figures.summary(weeks=8)})
