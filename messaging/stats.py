"""Figures for the staff inbox: median first-response time per day, in the clinic's zone."""

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from messaging.models import Conversation
from portal.models import Clinic


@dataclass(frozen=True)
class DailyResponse:
    day: date
    median: timedelta
    conversations: int

    @property
    def median_minutes(self) -> int:
        return round(self.median.total_seconds() / 60)


def median_first_response(*, days: int = 14, now: datetime | None = None) -> list[DailyResponse]:
    """Per day a conversation started (clinic's calendar), the median wait for a first reply.

    Conversations still unanswered are left out of the median (they have no first reply yet);
    the inbox's "waiting for the clinic" filter shows those.
    """
    now = now or timezone.now()
    zone = Clinic.current().tz
    since = now - timedelta(days=days)
    rows = Conversation.objects.filter(
        first_client_message_at__gte=since, first_response_at__isnull=False
    ).values_list("first_client_message_at", "first_response_at")
    waits: dict[date, list[float]] = {}
    for asked, answered in rows:
        day = timezone.localtime(asked, zone).date()
        waits.setdefault(day, []).append((answered - asked).total_seconds())
    return [
        DailyResponse(day, timedelta(seconds=round(statistics.median(values))), len(values))
        for day, values in sorted(waits.items(), reverse=True)
    ]
