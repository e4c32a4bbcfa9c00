"""What the agenda grid of issue 15 costs to render (`make bench-agenda`).

    python bench/agenda.py                  # 200 renders of each page
    python bench/agenda.py --renders 500

A busy day: 5 vets (08:00-12:00 online, 13:00-20:00 by phone), 120 appointments of 15 minutes,
a third confirmed, a closure-free day with one vet's time off. Reception, signed in and past the
second factor, asks for the day's grid through Django's test client (the whole middleware
stack, no network). Figures, each the median of --renders renders after a warm-up:

- **busy grid**: the day with its 120 blocks and the free cells around them;
- **busy grid, hours re-read**: the same after the availability generation moved (what every
  booking does), so the hours-and-absences UNION runs again;
- **busy day printed**: ``?print=1``, the per-vet lists;
- **floor: empty day**: the same page on the Sunday after (no hours, nothing booked: five
  columns of one shaded cell each, the page's frame, the middlewares, the session): what the
  busy day's grid adds is the difference.

Queries per render are counted too (the budget is 8). Runs on a temporary SQLite file, migrated
first; prints a table and one JSON line. docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup(var_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["ACCUEIL_VAR_DIR"] = var_dir
    os.environ.setdefault("ACCUEIL_MASTER_KEYS", "bench:" + "A" * 43 + "=")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from django.conf import settings

    # No collectstatic here: plain static URLs (the page's cost is the same).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _busy_day(day: date) -> None:
    from django.utils import timezone

    from booking.models import TimeOff
    from portal.models import Clinic
    from tests import factories
    from tests.booking.factories import make_appointment, make_practitioner, make_service

    factories.make_clinic()
    site = factories.make_site()
    tz = Clinic.current().tz
    hours = [(clock(8), clock(12), True), (clock(13), clock(20), False)]
    # Monday to Friday: the weekend is the floor's empty day.
    vets = [
        make_practitioner(site, name=f"Dr Vet {i}", hours=hours, days=range(5)) for i in range(5)
    ]
    service = make_service(site, vets, slug="short", name="Consultation", duration=15)
    owners = [
        factories.make_client_user(first_name=f"Owner{i}", last_name="Bench") for i in range(40)
    ]
    animals = [
        factories.make_patient(o, name=f"Pet{i}-{k}")
        for i, o in enumerate(owners)
        for k in range(3)
    ]
    starts = [
        datetime.combine(day, clock(8), tzinfo=tz) + timedelta(minutes=15 * i) for i in range(16)
    ] + [datetime.combine(day, clock(13), tzinfo=tz) + timedelta(minutes=15 * i) for i in range(8)]
    n = 0
    for v, vet in enumerate(vets):
        for s, start in enumerate(starts):
            animal = animals[(s * 5 + v) % len(animals)]
            make_appointment(
                client=animal.guardianships.first().client,
                patient=animal,
                service=service,
                practitioner=vet,
                starts_at=start,
                confirmed_at=timezone.now() if n % 3 == 0 else None,
            )
            n += 1
    TimeOff.objects.create(
        practitioner=vets[4],
        start=datetime.combine(day, clock(17), tzinfo=tz),
        end=datetime.combine(day, clock(20), tzinfo=tz),
    )
    assert n == 120


def _median_ms(http, url: str, params: dict, renders: int, before=None) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    http.get(url, params)  # warm-up: templates compiled, cache rows written
    times = []
    queries = 0
    for _ in range(renders):
        if before is not None:
            before()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = http.get(url, params)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        queries = max(queries, len(captured))
    return statistics.median(times), queries


def run(renders: int) -> dict:
    from django.urls import reverse

    from booking import slots as slot_reader
    from tests import factories

    today = datetime.now().astimezone().date()
    day = today + timedelta(days=7 + (1 - today.weekday()) % 7)  # a Tuesday
    _busy_day(day)
    reception = factories.make_staff("reception")
    http = factories.verified_http_client(reception)
    url = reverse("booking:agenda")
    body = http.get(url, {"day": day.isoformat()}).content.decode()
    assert body.count('class="appt status-') == 120, "the busy day should show 120 blocks"
    empty = (day + timedelta(days=5)).isoformat()  # the Sunday after: no hours, nothing booked
    figures = {}
    for name, params, before in (
        ("floor: empty day", {"day": empty}, None),
        ("busy grid", {"day": day.isoformat()}, None),
        ("busy grid, hours re-read", {"day": day.isoformat()}, slot_reader.invalidate),
        ("busy day printed", {"day": day.isoformat(), "print": "1"}, None),
    ):
        ms, queries = _median_ms(http, url, params, renders, before)
        figures[name] = {"median_ms": round(ms, 2), "queries": queries}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accueil-bench-agenda-") as var_dir:
        os.environ.pop("DATABASE_URL", None)  # SQLite in the temporary directory
        os.environ.pop("REDIS_URL", None)
        _setup(var_dir)
        figures = run(args.renders)
    floor = figures["floor: empty day"]["median_ms"]
    print(f"{'page':<28} {'median ms':>10} {'x floor':>8} {'queries':>8}")
    for name, f in figures.items():
        print(
            f"{name:<28} {f['median_ms']:>10.2f} {f['median_ms'] / floor:>8.2f} {f['queries']:>8}"
        )
    print(json.dumps({"renders": args.renders, "sqlite": figures}))


if __name__ == "__main__":
    main()
