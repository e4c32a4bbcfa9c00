"""Two workers given the same delivery (a task run twice, a recovery pass racing a late task):
the conditional UPDATE lets one send it; the receiver sees it once.

On PostgreSQL only: the threads need connections that really wait on each other's locks.
pytest-django's SQLite test database is a shared-cache in-memory one whose table locks fail at
once ("database table is locked") instead of waiting, so there the race measures the test
database, not the portal (a deployed SQLite file waits on its busy timeout). The sequential
case, a second task for a claimed delivery, runs on both (test_delivery.py)."""

import threading

import pytest
from django.db import connections
from django.utils import timezone

from webhooks import services
from webhooks.models import Attempt, Delivery, Event


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_workers_on_one_delivery_send_it_once(clinic, manager, receiver):
    endpoint, _secret = services.create_endpoint(
        name="Assistant", url=receiver.url, events=list(Event.values), by=manager
    )
    now = timezone.now()
    row = Delivery.objects.create(
        endpoint=endpoint,
        event_id="evt_race",
        event_type="slot.released",
        body="{}",
        next_attempt_at=now,
        created_at=now,
    )
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            barrier.wait(5)
            outcomes.append(services.deliver(row.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes) == ["delivered", "not mine", "not mine", "not mine"]
    assert len(receiver.received) == 1
    assert Attempt.objects.filter(delivery=row).count() == 1
