"""What the manager reads about orders: requests per week, how fast they are ready, and how many
are collected. Plain values, so a dashboard can show them without importing the models."""

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders.models import Order, Status
from portal.models import Clinic


@dataclass(frozen=True)
class Week:
    monday: date
    requests: int


@dataclass(frozen=True)
class Figures:
    weeks: list[Week]
    requests: int
    median_hours_to_ready: float | None
    ready: int
    collected: int
    not_collected: int
    waiting_past_deadline: int

    @property
    def decided(self) -> int:
        return self.collected + self.not_collected

    @property
    def collected_percent(self) -> int | None:
        """Of the parcels that were ready and whose fate is known, the share collected (%)."""
        return None if self.decided == 0 else round(100 * self.collected / self.decided)


def summary(*, weeks: int = 8, now: datetime | None = None) -> Figures:
    """The last `weeks` whole weeks and the current one, in the clinic's time zone. Four queries
    whatever the volume; the median reads one timestamp pair per ready request of the period."""
    now = now or timezone.now()
    tz = Clinic.current().tz
    today = now.astimezone(tz).date()
    first_monday = today - timedelta(days=today.weekday(), weeks=weeks)
    since = datetime.combine(first_monday, time(0), tzinfo=tz)
    period = Order.objects.filter(created_at__gte=since)
    per_day = (
        period.annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_week: dict[date, int] = {}
    for row in per_day:
        monday = row["day"] - timedelta(days=row["day"].weekday())
        by_week[monday] = by_week.get(monday, 0) + row["n"]
    week_list = [
        Week(first_monday + timedelta(weeks=i), by_week.get(first_monday + timedelta(weeks=i), 0))
        for i in range(weeks + 1)
    ]
    durations = [
        (ready - created).total_seconds() / 3600
        for created, ready in period.filter(ready_at__isnull=False).values_list(
            "created_at", "ready_at"
        )
    ]
    fates = dict(
        period.filter(status__in=[Status.COLLECTED, Status.NOT_COLLECTED])
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    late = Order.objects.filter(status=Status.READY, ready_until__lt=now).count()
    return Figures(
        weeks=week_list,
        requests=sum(w.requests for w in week_list),
        median_hours_to_ready=statistics.median(durations) if durations else None,
        ready=len(durations),
        collected=fates.get(Status.COLLECTED, 0),
        not_collected=fates.get(Status.NOT_COLLECTED, 0),
        waiting_past_deadline=late,
    )
