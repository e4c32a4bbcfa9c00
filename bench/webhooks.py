"""What outbound webhooks cost (`make bench-webhooks`, issue 16).

    python bench/webhooks.py                          # 200 bookings each way, 500 deliveries
    python bench/webhooks.py --bookings 20 --deliveries 20   # a quick check

On a temporary SQLite file (migrated first), in one process:

1. **Booking cost**: `booking.services.book` by staff, one appointment after the other at
   distinct times, alternating (so both see the same database growth) between a clinic with
   no endpoint and one with 3 active endpoints that take every event: the median time of a
   booking each way, its queries, and the difference, which is what writing 3 deliveries in
   the booking's transaction and queueing them on commit adds.
2. **Deliveries/s**: `--deliveries` pending deliveries sent one after the other by
   `webhooks.services.deliver` (what one worker does per task: claim, decrypt the secret,
   sign, POST, record the attempt) to a receiver on 127.0.0.1 answering 200 at once; floor:
   the same signed POSTs without the database.

Prints a table and one JSON line; docs/benchmarks.md records the lead's figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from datetime import time as clock
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not bench/ itself: bench/http*.py must not shadow the standard library's http package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


def _setup(var_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["ACCUEIL_VAR_DIR"] = var_dir
    os.environ.setdefault("ACCUEIL_MASTER_KEYS", "bench:" + "A" * 43 + "=")
    os.environ.setdefault("ACCUEIL_LOG_LEVEL", "WARNING")
    os.environ["ACCUEIL_WEBHOOKS_ALLOW_LOCAL_HTTP"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _receiver() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hooks"


def _seed(count: int):
    from portal.models import Clinic
    from tests import factories
    from tests.booking.factories import make_practitioner, make_service

    factories.make_clinic()
    site = factories.make_site()
    tz = Clinic.current().tz
    hours = [(clock(8), clock(20), True)]
    vets = [make_practitioner(site, name=f"Dr Vet {i}", hours=hours) for i in range(3)]
    service = make_service(site, vets, slug="short", name="Consultation", duration=15)
    owner = factories.make_client_user(first_name="Owner", last_name="Bench")
    animals = [factories.make_patient(owner, name=f"Pet{i}") for i in range(count)]
    manager = factories.make_staff("manager")
    first_day = datetime.now(tz).date() + timedelta(days=2)
    starts = []
    day = first_day
    while len(starts) < count:
        for quarter in range(48):  # 08:00 to 20:00
            for vet in vets:
                start = datetime.combine(day, clock(8), tzinfo=tz) + timedelta(minutes=15 * quarter)
                starts.append((start, vet))
        day += timedelta(days=1)
    return owner, animals, service, manager, starts[:count]


def booking_cost(bookings: int, url: str) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from booking import services as booking
    from webhooks import services
    from webhooks.models import Delivery, Endpoint, Event

    owner, animals, service, manager, starts = _seed(bookings * 2 + 2)
    for n in range(3):
        services.create_endpoint(
            name=f"Receiver {n}", url=url, events=list(Event.values), by=manager
        )
    times: dict[str, list[float]] = {"no endpoint": [], "3 endpoints": []}
    queries: dict[str, int] = {"no endpoint": 0, "3 endpoints": 0}
    for i, (start, vet) in enumerate(starts):
        label = "3 endpoints" if i % 2 else "no endpoint"
        Endpoint.objects.update(is_active=label == "3 endpoints")  # not timed
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            booking.book(
                client=owner.client,
                patient=animals[i],
                service=service,
                starts_at=start,
                practitioner=vet,
                booked_by=manager,
                online=False,
            )
            elapsed = (time.perf_counter() - began) * 1000
        if i >= 2:  # the first of each kind warms caches up
            times[label].append(elapsed)
            queries[label] = max(queries[label], len(captured))
    made = Delivery.objects.count()
    assert made == 3 * (len(starts) // 2), made  # booked events only, on the odd turns
    figures = {
        label: {"median_ms": round(statistics.median(values), 2), "queries": queries[label]}
        for label, values in times.items()
    }
    figures["added by 3 endpoints"] = {
        "median_ms": round(
            figures["3 endpoints"]["median_ms"] - figures["no endpoint"]["median_ms"], 2
        ),
        "queries": queries["3 endpoints"] - queries["no endpoint"],
    }
    return figures


def delivery_rate(deliveries: int, url: str) -> dict:
    from django.utils import timezone

    from webhooks import services, signing
    from webhooks.models import Delivery, Endpoint, Status

    Delivery.objects.all().delete()
    endpoint = Endpoint.objects.first()
    Endpoint.objects.update(is_active=True)
    now = timezone.now()
    body = json.dumps({"type": "slot.released", "id": "evt_bench", "data": {"n": 1}})
    rows = Delivery.objects.bulk_create(
        Delivery(
            endpoint=endpoint,
            event_id=f"evt_bench{i}",
            event_type="slot.released",
            body=body,
            next_attempt_at=now,
            created_at=now,
        )
        for i in range(deliveries)
    )
    began = time.perf_counter()
    for row in rows:
        assert services.deliver(row.pk) == "delivered"
    elapsed = time.perf_counter() - began
    assert Delivery.objects.filter(status=Status.DELIVERED).count() == deliveries

    # Floor: the same signed POSTs, a new connection each (as deliver does), no database.
    secret = signing.new_secret()
    parts = url.split("/")
    host, port = parts[2].split(":")
    began = time.perf_counter()
    for i in range(deliveries):
        headers = signing.headers(secret, f"evt_bench{i}", int(time.time()), body.encode())
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request("POST", "/hooks", body=body.encode(), headers=headers)
        connection.getresponse().read()
        connection.close()
    floor = time.perf_counter() - began
    return {
        "deliveries": deliveries,
        "per_second": round(deliveries / elapsed, 1),
        "ms_each": round(elapsed * 1000 / deliveries, 2),
        "floor_per_second": round(deliveries / floor, 1),
        "floor_ms_each": round(floor * 1000 / deliveries, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=200, help="bookings each way")
    parser.add_argument("--deliveries", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accueil-bench-webhooks-") as var_dir:
        os.environ.pop("DATABASE_URL", None)  # SQLite in the temporary directory
        os.environ.pop("REDIS_URL", None)
        _setup(var_dir)
        server, url = _receiver()
        try:
            cost = booking_cost(args.bookings, url)
            rate = delivery_rate(args.deliveries, url)
        finally:
            server.shutdown()
    print(f"{'booking':<24} {'median ms':>10} {'queries':>8}")
    for name, figure in cost.items():
        print(f"{name:<24} {figure['median_ms']:>10.2f} {figure['queries']:>8}")
    print(
        f"deliveries: {rate['per_second']}/s ({rate['ms_each']} ms each) with one worker; "
        f"floor (signed POSTs, no database): {rate['floor_per_second']}/s"
    )
    print(json.dumps({"bookings": args.bookings, "booking": cost, "delivery": rate}))


if __name__ == "__main__":
    main()
