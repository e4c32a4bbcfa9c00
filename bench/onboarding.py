"""What a newcomer's first booking costs (`make bench-onboarding`).

    python bench/onboarding.py                 # 200 renders of each page
    python bench/onboarding.py --renders 500

A clinic with 5 vets open Tuesday to Saturday, a first-consultation service of 20 minutes (40
for a first visit), 300 appointments over the next two weeks. An anonymous visitor, through
Django's test client (every middleware, no network), SQLite; each figure the median of
--renders requests after a warm-up, with the queries of the slowest:

- **floor: sign-in page**: the same middlewares, a form, no clinic data;
- **public page**: the clinic, its sites, the week's hours, closures and services;
- **choose a time**: the two-week day strip and the first free day's times for a first visit;
- **choose a time, 30 holds live**: the same with 30 other newcomers holding times (holds are
  read on every request, outside the availability cache);
- **hold a time**: the POST that keeps a time 10 minutes (each replacing the last).

Prints a table and one JSON line; docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import median_ms, report, setup  # noqa: E402


def _clinic():
    from django.utils import timezone

    from portal.models import Clinic
    from tests import factories
    from tests.booking.factories import make_appointment, make_practitioner, make_service

    factories.make_clinic()
    site = factories.make_site(address="12 avenue des Tilleuls\n69006 Lyon")
    hours = [(clock(9), clock(12), True), (clock(14), clock(19), True)]
    vets = [
        make_practitioner(site, name=f"Dr {i}", hours=hours, days=range(1, 6)) for i in range(5)
    ]
    service = make_service(site, vets, slug="premiere", name="Première consultation", duration=20)
    service.first_visit_minutes = 40
    service.save()
    tz = Clinic.current().tz
    today = timezone.now().astimezone(tz).date()
    owners = [factories.make_client_user(first_name=f"O{i}") for i in range(30)]
    pets = [factories.make_patient(o, name=f"P{i}") for i, o in enumerate(owners)]
    n = 0
    for d in range(1, 15):
        day = today + timedelta(days=d)
        if day.weekday() not in range(1, 6):
            continue
        for v, vet in enumerate(vets):
            for k in range(0, 8, 2):
                start = datetime.combine(day, clock(9), tzinfo=tz) + timedelta(minutes=20 * k)
                pet = pets[n % len(pets)]
                make_appointment(
                    client=pet.guardianships.first().client,
                    patient=pet,
                    service=service,
                    practitioner=vet,
                    starts_at=start + timedelta(minutes=v),
                )
                n += 1
    return service


def run(renders: int) -> dict:
    from django.urls import reverse

    from booking import services as booking
    from tests import factories

    service = _clinic()
    visitor = factories.http_client()
    day = reverse("onboarding:day", args=[service.slug])
    page = visitor.get(day)
    slots = page.context["slots"]
    assert slots, "the bench clinic should have free times"
    figures = {}

    def hold(i):
        return visitor.post(
            reverse("onboarding:hold", args=[service.slug]),
            {"starts_at": slots[i % len(slots)].isoformat()},
        )

    calls = {
        "floor: sign-in page": lambda i: visitor.get(reverse("account_login")),
        "public page": lambda i: visitor.get("/"),
        "choose a time": lambda i: visitor.get(day),
    }
    for name, call in calls.items():
        ms, queries = median_ms(call, renders)
        figures[name] = {"median_ms": round(ms, 2), "queries": queries}
    for start in slots[-30:]:
        booking.hold_slot(service=service, starts_at=start)
    ms, queries = median_ms(lambda i: visitor.get(day), renders)
    figures["choose a time, 30 holds live"] = {"median_ms": round(ms, 2), "queries": queries}
    from django.core.cache import cache

    cache.clear()  # the per-address hold limit
    ms, queries = median_ms(hold, min(renders, 9))
    figures["hold a time"] = {"median_ms": round(ms, 2), "queries": queries}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accueil-bench-onboarding-") as var_dir:
        setup(var_dir)
        figures = run(args.renders)
    report(figures, floor="floor: sign-in page", renders=args.renders)


if __name__ == "__main__":
    main()
