"""What orders shows on the dashboards and on an animal's page."""

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone

from orders import services
from orders.models import FINAL, Order, Product, Status
from portal.dashboard import Panel
from records.models import Guardianship


def client_panel(request: HttpRequest) -> Panel:
    open_orders = list(
        Order.objects.of_user(request.user)
        .exclude(status__in=FINAL)
        .select_related("patient")
        .order_by("created_at", "pk")[:5]
    )
    return Panel("orders/panels/client_orders.html", order=25, context={"orders": open_orders})


def staff_panel(request: HttpRequest) -> Panel:
    now = timezone.now()
    counts = Order.objects.aggregate(
        todo=Count("pk", filter=Q(status__in=[Status.NEW, Status.APPROVED, Status.PREPARING])),
        ready=Count("pk", filter=Q(status=Status.READY)),
        late=Count("pk", filter=Q(status=Status.READY, ready_until__lt=now)),
    )
    return Panel("orders/panels/staff_orders.html", order=35, context={"counts": counts})


def patient_panel(request: HttpRequest, link: Guardianship) -> Panel:
    """Owners and co-owners see the animal's current treatments with "renew", and its requests;
    a pet-sitter sees nothing of it (medicines stay with the owners)."""
    if link.role == Guardianship.Role.SITTER:
        return Panel("orders/panels/patient_orders.html", order=15, context={"allowed": False})
    patient = link.patient
    treatments = services.current_treatments(patient)
    orders = list(
        Order.objects.filter(patient=patient, client=link.client_id)
        .exclude(status__in=FINAL)
        .order_by("created_at", "pk")[:5]
    )
    return Panel(
        "orders/panels/patient_orders.html",
        order=15,
        context={
            "allowed": True,
            "patient": patient,
            "treatments": treatments,
            "orders": orders,
            "has_catalogue": Product.objects.filter(active=True).exists(),
        },
    )
