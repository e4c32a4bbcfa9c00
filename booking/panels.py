"""The dashboard panels booking contributes: the client's next appointments, today's agenda and
its waiting room."""

from datetime import datetime, time, timedelta

from django.http import HttpRequest
from django.utils import timezone

from booking import services
from booking.models import Appointment
from portal.dashboard import Panel
from portal.models import Client, Clinic


def client_panel(request: HttpRequest) -> Panel:
    try:
        client = request.user.client
    except Client.DoesNotExist:
        client = None
    upcoming = list(Appointment.objects.upcoming_for(client, timezone.now())[:3]) if client else []
    return Panel("booking/panels/client_next.html", order=10, context={"upcoming": upcoming})


def staff_panel(request: HttpRequest) -> Panel:
    tz = Clinic.current().tz
    today = timezone.now().astimezone(tz).date()
    lo = datetime.combine(today, time(0), tzinfo=tz)
    hi = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
    appointments = list(
        Appointment.objects.active().with_related().filter(starts_at__gte=lo, starts_at__lt=hi)
    )
    return Panel(
        "booking/panels/staff_agenda.html", order=10, context={"appointments": appointments}
    )


def waiting_panel(request: HttpRequest) -> Panel:
    """Who is in the waiting room now, and since when (one query)."""
    tz = Clinic.current().tz
    now = timezone.now()
    waiting = services.waiting_room(now.astimezone(tz).date(), tz, now=now)
    return Panel("booking/panels/staff_waiting.html", order=9, context={"waiting": waiting})
