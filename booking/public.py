"""What booking shows on the clinic's public page: the week's hours and what can be booked."""

from datetime import time, timedelta

from django.http import HttpRequest
from django.utils import timezone

from booking.models import Closure, Service, Weekday, WeeklyHours
from portal.dashboard import Panel
from portal.models import Clinic


def week_hours() -> list[dict]:
    """Each weekday with the clinic's opening ranges (everyone's hours merged, phone-only
    included: the clinic is open), in its wall-clock time."""
    by_day: dict[int, list[tuple[time, time]]] = {day: [] for day in Weekday.values}
    for hours in WeeklyHours.objects.filter(practitioner__is_active=True).order_by("start"):
        by_day[hours.weekday].append((hours.start, hours.end))
    week = []
    for day, ranges in by_day.items():
        merged: list[list[time]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        week.append({"day": Weekday(day).label, "ranges": [tuple(r) for r in merged]})
    return week


def public_panel(request: HttpRequest) -> Panel:
    today = timezone.now().astimezone(Clinic.current().tz).date()
    closures = list(
        Closure.objects.filter(end__gte=today, start__lte=today + timedelta(days=30)).order_by(
            "start"
        )[:5]
    )
    services = list(Service.objects.online().filter(new_clients_allowed=True))
    return Panel(
        "booking/panels/public_hours.html",
        order=10,
        context={
            "week": week_hours(),
            "closures": closures,
            "services": services,
            "time_zone": Clinic.current().time_zone,
        },
    )
