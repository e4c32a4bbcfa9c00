"""The manager's pages: endpoints, an endpoint's deliveries, a delivery's attempts, replay."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.access import duty_required, manager_required
from portal.models import Duty
from webhooks import services
from webhooks.access import delivery_of, endpoint_for_manager
from webhooks.forms import EndpointForm
from webhooks.models import Endpoint, Status

# Writes need the manager role *and* the "settings" duty (which stays with the manager).
settings_required = duty_required(Duty.SETTINGS)


@manager_required
@require_GET
def endpoints(request: HttpRequest) -> HttpResponse:
    rows = Endpoint.objects.annotate(
        waiting=Count("deliveries", filter=Q(deliveries__status__in=["pending", "retrying"])),
        failed=Count("deliveries", filter=Q(deliveries__status=Status.FAILED)),
    )
    return render(request, "webhooks/endpoints.html", {"endpoints": rows})


@manager_required
@settings_required
@require_http_methods(["GET", "POST"])
def endpoint_new(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint, secret = services.create_endpoint(
            name=form.cleaned_data["name"],
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            by=request.user,
        )
        # Shown in this answer only: it is never shown again (a new endpoint for a new secret).
        return render(
            request, "webhooks/created.html", {"endpoint": endpoint, "secret": secret}, status=201
        )
    return render(request, "webhooks/endpoint_new.html", {"form": form})


@manager_required
@require_GET
def endpoint(request: HttpRequest, pk: int) -> HttpResponse:
    target = endpoint_for_manager(pk)
    status = request.GET.get("status", "")
    rows = target.deliveries.all()
    if status in Status.values:
        rows = rows.filter(status=status)
    page = Paginator(rows.defer("body"), 50).get_page(request.GET.get("page"))
    context = {
        "endpoint": target,
        "page": page,
        "status": status,
        "statuses": Status.choices,
    }
    return render(request, "webhooks/endpoint.html", context)


@manager_required
@settings_required
@require_POST
def endpoint_active(request: HttpRequest, pk: int) -> HttpResponse:
    target = endpoint_for_manager(pk)
    active = request.POST.get("active") == "1"
    services.set_active(endpoint=target, active=active)
    if active:
        messages.success(request, _("The endpoint is active again."))
    else:
        messages.success(request, _("The endpoint is disabled: nothing more is sent to it."))
    return redirect("webhooks:endpoint", pk=target.pk)


@manager_required
@require_GET
def delivery(request: HttpRequest, pk: int, delivery: int) -> HttpResponse:
    target = endpoint_for_manager(pk)
    row = delivery_of(target, delivery)
    context = {"endpoint": target, "row": row, "attempts": row.attempt_rows.all()}
    return render(request, "webhooks/delivery.html", context)


@manager_required
@settings_required
@require_POST
def replay(request: HttpRequest, pk: int, delivery: int) -> HttpResponse:
    target = endpoint_for_manager(pk)
    row = delivery_of(target, delivery)
    if not target.is_active:
        messages.error(request, _("This endpoint is disabled: enable it before replaying."))
        return redirect("webhooks:delivery", pk=target.pk, delivery=row.pk)
    copy = services.replay(delivery=row)
    messages.success(request, _("Sent again, with the same webhook-id."))
    return redirect("webhooks:delivery", pk=target.pk, delivery=copy.pk)
