"""Waitlist benchmark and race (`make bench-waitlist`).

    python bench/waitlist.py                    # the benchmark, on a temporary SQLite file
    python bench/waitlist.py --entries 2000 --releases 20
    python bench/waitlist.py --race --callers 20 --rounds 3 [--no-migrate]

Benchmark: 10,000 waiting entries (one service, the worst case: every entry is a candidate),
then 100 slots released one after the other. Printed per release: the matching query's time,
the whole release's time (record + first wave + offers) and its query count, which must be the
same for every release. Floor, measured in the same run: one primary-key SELECT. Then claims
under contention (20 threads claiming one slot, round after round) against a floor of plain
uncontended bookings through booking.services.book.

Race (used by tests/waitlist/test_concurrency.py): rounds of `callers` threads, each with its
own database connection, claiming either one single offer all together or their own offers of
one slot; prints one JSON line. Without DATABASE_URL it makes a temporary SQLite file (WAL,
BEGIN IMMEDIATE, as deployed); with DATABASE_URL it uses that database and removes what it
made. Notifications are stubbed: the figures are about matching and claiming.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(var_dir: str, *, migrate: bool = True) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["ACCUEIL_VAR_DIR"] = var_dir
    os.environ.setdefault("ACCUEIL_MASTER_KEYS", "bench:" + "A" * 43 + "=")
    import django

    django.setup()
    from bench import migrated

    if migrate:
        migrated.migrate()
    # Measure the waitlist, not the outbox: notifications and wave tasks become no-ops.
    from notifications import services as notifications
    from waitlist import services as waitlist

    for name in ("appointment_booked", "appointment_cancelled", "appointment_moved"):
        setattr(notifications, name, lambda *args, **kwargs: None)
    notifications.waitlist_offer = lambda **kwargs: None
    waitlist._enqueue_wave = lambda *args, **kwargs: None


class World:
    """A clinic, a site, two vets open 07:00-21:00 every day, one service, N clients with a dog.
    Everything is removed by `clean()` (the database may be a test run's)."""

    def __init__(self, clients: int) -> None:
        from datetime import time as wall

        from booking.models import BookingRules, Practitioner, Service, WeeklyHours
        from portal.models import Client, Clinic, Site
        from records.models import Guardianship, Patient

        stamp = time.time_ns()
        self.made_clinic = (
            Clinic.objects.create(name="Bench", phone="+33478000000", time_zone="Europe/Paris")
            if not Clinic.objects.exists()
            else None
        )
        self.site = Site.objects.create(name=f"Bench {stamp}", is_default=False)
        self.rules = BookingRules.current()
        self.old_max = self.rules.max_upcoming
        self.rules.max_upcoming = 1000
        self.rules.save()
        self.vets = [
            Practitioner.objects.create(site=self.site, name=f"Dr Bench {n}") for n in range(2)
        ]
        WeeklyHours.objects.bulk_create(
            WeeklyHours(practitioner=vet, weekday=day, start=wall(7), end=wall(21))
            for vet in self.vets
            for day in range(7)
        )
        self.service = Service.objects.create(
            site=self.site, slug=f"bench-{stamp}", name="Bench", duration_minutes=30
        )
        self.service.practitioners.set(self.vets)
        self.clients = Client.objects.bulk_create(
            Client(first_name="Bench", last_name=str(n)) for n in range(clients)
        )
        self.patients = Patient.objects.bulk_create(
            Patient(name=f"Dog {n}", species="dog") for n in range(clients)
        )
        Guardianship.objects.bulk_create(
            Guardianship(client=c, patient=p)
            for c, p in zip(self.clients, self.patients, strict=True)
        )

    def clean(self) -> None:
        from booking.models import Appointment
        from portal.models import Client
        from records.models import Patient
        from waitlist.models import Entry, Release

        Release.objects.filter(service=self.service).delete()
        Entry.objects.filter(service=self.service).delete()
        Appointment.objects.filter(service=self.service).delete()
        self.service.delete()
        for vet in self.vets:
            vet.delete()
        Patient.objects.filter(pk__in=[p.pk for p in self.patients]).delete()
        Client.objects.filter(pk__in=[c.pk for c in self.clients]).delete()
        self.site.delete()
        self.rules.max_upcoming = self.old_max
        self.rules.save()
        if self.made_clinic is not None:
            self.made_clinic.delete()


def slot_at(day_offset: int, index: int, now: datetime) -> datetime:
    """A distinct half-hour slot, days ahead, between 08:00 and 19:30 Paris time."""
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    day = (now.astimezone(paris) + timedelta(days=day_offset)).date()
    minutes = 8 * 60 + 30 * (index % 24)
    local = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=paris)
    return local.astimezone(UTC)


# --- race ----------------------------------------------------------------------------------------


def race(callers: int, rounds: int) -> dict:
    from django.db import connection, connections
    from django.utils import timezone

    from booking.models import Appointment
    from waitlist import services
    from waitlist.models import Entry, Offer, Release

    world = World(callers)
    now = timezone.now()
    entries = Entry.objects.bulk_create(
        Entry(
            client=c,
            patient=p,
            service=world.service,
            earliest=now.date(),
            latest=now.date() + timedelta(days=60),
        )
        for c, p in zip(world.clients, world.patients, strict=True)
    )
    booked = refused = errors = 0
    samples: list[str] = []
    per_slot: list[int] = []
    started = time.perf_counter()
    attempts = 0
    for round_number in range(rounds):
        for mode in ("one offer", "own offers"):
            start = slot_at(2 + round_number, 0 if mode == "one offer" else 1, now)
            release = Release.objects.create(
                site=world.site,
                service=world.service,
                practitioner=world.vets[0],
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
                source=Release.Source.STAFF,
            )
            chosen = entries[:1] if mode == "one offer" else entries
            offers = Offer.objects.bulk_create(
                Offer(
                    release=release,
                    entry=entry,
                    client_id=entry.client_id,
                    expires_at=start - timedelta(hours=2),
                )
                for entry in chosen
            )
            results: list[object] = [None] * callers
            barrier = threading.Barrier(callers)

            def attempt(index: int, offers=offers, results=results, barrier=barrier) -> None:
                offer = offers[0] if len(offers) == 1 else offers[index]
                try:
                    barrier.wait()
                    results[index] = services.claim(offer)
                except Exception as error:  # counted below
                    results[index] = error
                finally:
                    connections.close_all()

            threads = [threading.Thread(target=attempt, args=(i,)) for i in range(callers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            attempts += callers
            for result in results:
                if isinstance(result, services.Claimed):
                    booked += 1
                elif isinstance(result, services.ClaimError) and result.state in ("taken", "used"):
                    refused += 1
                else:
                    errors += 1
                    samples.append(repr(result))
            per_slot.append(
                Appointment.objects.active()
                .filter(practitioner=world.vets[0], starts_at=start)
                .count()
            )
            # The winner's entry is booked: put it back so the next round has all callers.
            Entry.objects.filter(pk__in=[e.pk for e in entries]).update(status=Entry.Status.WAITING)
            Appointment.objects.filter(service=world.service).update(
                status=Appointment.Status.CANCELLED
            )
    elapsed = time.perf_counter() - started
    vendor = connection.vendor
    world.clean()
    return {
        "vendor": vendor,
        "callers": callers,
        "rounds": rounds,
        "slots": len(per_slot),
        "booked": booked,
        "refused": refused,
        "errors": errors,
        "error_samples": samples[:3],
        "appointments_per_slot": per_slot,
        "seconds": round(elapsed, 3),
        "claims_per_s": round(attempts / elapsed, 1),
    }


# --- benchmark -----------------------------------------------------------------------------------


def bench(entry_count: int, release_count: int, callers: int, rounds: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from booking import services as booking
    from waitlist import services
    from waitlist.models import Entry, Release

    rng = random.Random(7)
    clients = entry_count // 2
    world = World(clients)
    now = timezone.now()
    today = now.date()
    made = time.perf_counter()
    Entry.objects.bulk_create(
        (
            Entry(
                client=world.clients[n % clients],
                patient=world.patients[n % clients],
                service=world.service,
                practitioner=rng.choice([None, None, None, *world.vets]),
                earliest=today,
                latest=today + timedelta(days=rng.randint(7, 45)),
                times=rng.randint(1, 7),
                weekdays=rng.randint(1, 127),
                created_at=now - timedelta(minutes=entry_count - n),
            )
            for n in range(entry_count)
        ),
        batch_size=2000,
    )
    setup_s = time.perf_counter() - made

    floor: list[float] = []
    ids = list(Entry.objects.values_list("pk", flat=True)[:500])
    for pk in ids[:200]:
        t0 = time.perf_counter()
        Entry.objects.filter(pk=pk).first()
        floor.append(time.perf_counter() - t0)

    matching: list[float] = []
    whole: list[float] = []
    queries: list[int] = []
    offers = 0
    for n in range(release_count):
        vet = world.vets[n % 2]
        start = slot_at(1 + n // 24, n, now)
        probe = Release(
            service=world.service,
            practitioner=vet,
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
        )
        t0 = time.perf_counter()
        list(services.matching_entries(probe, now=now)[:9])
        matching.append(time.perf_counter() - t0)
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            release = services.release_slot(
                site_id=world.site.pk,
                service_id=world.service.pk,
                practitioner_id=vet.pk,
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
                source=Release.Source.STAFF,
                now=now,
            )
            whole.append(time.perf_counter() - t0)
        queries.append(len(captured))
        offers += release.offers.count()

    # Floor for claims: uncontended bookings, one after the other, on distinct slots.
    book_times: list[float] = []
    for n in range(20):
        start = slot_at(50, n, now)
        t0 = time.perf_counter()
        booking.book(
            client=world.clients[n],
            patient=world.patients[n],
            service=world.service,
            starts_at=start,
            practitioner=world.vets[1],
            booked_by=None,
            now=now,
        )
        book_times.append(time.perf_counter() - t0)
    vendor = connection.vendor
    world.clean()
    contention = race(callers, rounds)

    def ms(values: list[float]) -> float:
        return round(statistics.median(values) * 1000, 2)

    def p95(values: list[float]) -> float:
        return round(sorted(values)[int(len(values) * 0.95) - 1] * 1000, 2)

    floor_ms = ms(floor)
    books_per_s = round(1 / statistics.median(book_times), 1)
    return {
        "vendor": vendor,
        "entries": entry_count,
        "releases": release_count,
        "setup_s": round(setup_s, 2),
        "floor_pk_select_ms": floor_ms,
        "matching_median_ms": ms(matching),
        "matching_p95_ms": p95(matching),
        "matching_vs_floor": round(ms(matching) / floor_ms, 1) if floor_ms else None,
        "release_median_ms": ms(whole),
        "release_p95_ms": p95(whole),
        "queries_per_release": sorted(set(queries)),
        "offers_sent": offers,
        "floor_uncontended_books_per_s": books_per_s,
        "claims_per_s_under_contention": contention["claims_per_s"],
        "claims_vs_floor": round(contention["claims_per_s"] / books_per_s, 2),
        "contention": {
            k: contention[k] for k in ("callers", "rounds", "booked", "refused", "errors")
        },
        "appointments_per_slot": sorted(set(contention["appointments_per_slot"])),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--race", action="store_true", help="only the race, one JSON line")
    parser.add_argument("--callers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--releases", type=int, default=100)
    parser.add_argument("--no-migrate", action="store_true", help="already migrated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accueil-waitlist-") as var_dir:
        setup(var_dir, migrate=not args.no_migrate)
        if args.race:
            print(json.dumps(race(args.callers, args.rounds)))
            return
        result = bench(args.entries, args.releases, args.callers, args.rounds)
        width = max(len(key) for key in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
        goal = "met" if result["matching_median_ms"] <= 20 else "MISSED"
        print(
            f"goal: matching median <= 20 ms: {goal}; fixed query count: "
            f"{'yes' if len(result['queries_per_release']) == 1 else 'NO'}"
        )


if __name__ == "__main__":
    main()
