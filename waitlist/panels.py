"""Dashboard panels: the client's waiting entries; the staff's refill figures for the month."""

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone

from portal.dashboard import Panel
from portal.models import Client
from waitlist import services
from waitlist.models import Entry


def client_panel(request: HttpRequest) -> Panel | None:
    try:
        client = request.user.client
    except Client.DoesNotExist:
        return None
    entries = list(Entry.objects.of_client(client).filter(status=Entry.Status.WAITING)[:3])
    if not entries:
        return None
    return Panel("waitlist/panels/client.html", order=15, context={"wait_entries": entries})


def staff_panel(request: HttpRequest) -> Panel:
    figures = services.figures(since=timezone.now() - timedelta(days=30))
    return Panel("waitlist/panels/staff.html", order=15, context={"wait_figures": figures})
