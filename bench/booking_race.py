"""Many threads race to book one slot, round after round, on a real database.

Used by the test suite (SQLite needs a file database for real concurrency: the test runner's
shared in-memory database has table locks that no production deployment has) and by
bench/booking.py for the contention figures. Prints one JSON line.

    python bench/booking_race.py --callers 50 --rounds 20 [--partial] [--same-patient]

--same-patient: every caller is a guardian of ONE animal and names a different vet, so no
practitioner is contended: only the per-patient rule (exclusion constraint on PostgreSQL,
re-check under BEGIN IMMEDIATE on SQLite) stops the animal being booked twice at once.

Without DATABASE_URL it makes a temporary SQLite file (WAL, BEGIN IMMEDIATE, like production);
with DATABASE_URL it uses that database, which must be empty or disposable.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--partial", action="store_true", help="starts 15 minutes apart")
    parser.add_argument(
        "--same-patient", action="store_true", help="one animal, one vet per caller"
    )
    parser.add_argument(
        "--no-migrate", action="store_true", help="the database is already migrated"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accueil-race-") as var_dir:
        setup(var_dir, migrate=not args.no_migrate)
        print(
            json.dumps(
                run(
                    args.callers,
                    args.rounds,
                    partial=args.partial,
                    same_patient=args.same_patient,
                )
            )
        )


def run(callers: int, rounds: int, *, partial: bool = False, same_patient: bool = False) -> dict:
    from datetime import time as wall

    from django.db import connection, connections

    from booking import services
    from booking.models import Appointment, BookingRules, Practitioner, Service, WeeklyHours
    from portal.models import Client, Clinic, Site
    from records.models import Guardianship, Patient

    # Everything made here is removed at the end: the database may be shared (a test run's).
    made_clinic = (
        Clinic.objects.create(name="Race", phone="+33478000000", time_zone="Europe/Paris")
        if not Clinic.objects.exists()
        else None
    )
    site = Site.objects.create(name=f"Race {time.time_ns()}", is_default=False)
    rules = BookingRules.current()
    made_rules = rules.pk if not BookingRules.objects.exclude(pk=rules.pk).exists() else None
    old_max = rules.max_upcoming
    rules.max_upcoming = 1000
    rules.save()
    vets = [
        Practitioner.objects.create(site=site, name=f"Dr Race {index}")
        for index in range(callers if same_patient else 1)
    ]
    vet = vets[0]
    WeeklyHours.objects.bulk_create(
        WeeklyHours(practitioner=v, weekday=day, start=wall(0), end=wall(23, 59), online=True)
        for v in vets
        for day in range(7)
    )
    service = Service.objects.create(
        site=site, slug=f"race-{time.time_ns()}", name="Race", duration_minutes=30
    )
    service.practitioners.set(vets)
    people = []
    shared = Patient.objects.create(name="Shared", species="dog") if same_patient else None
    for index in range(callers):
        client = Client.objects.create(first_name="C", last_name=str(index))
        patient = shared or Patient.objects.create(name=f"Pet{index}", species="dog")
        Guardianship.objects.create(client=client, patient=patient)
        people.append((client, patient))
    now = datetime.now(UTC)
    first_day = (now + timedelta(days=2)).date()
    booked = taken = patient_busy = errors = 0
    error_samples: list[str] = []
    started = time.perf_counter()
    for round_number in range(rounds):
        day = first_day + timedelta(days=round_number // 40)
        base = datetime.combine(day, wall(0), tzinfo=UTC) + timedelta(
            minutes=30 * (round_number % 40) + 60
        )
        results: list[object] = [None] * callers
        barrier = threading.Barrier(callers)

        def attempt(
            index: int,
            base: datetime = base,
            results: list = results,
            barrier: threading.Barrier = barrier,
        ) -> None:
            client, patient = people[index]
            start = base + timedelta(minutes=15 * (index % 2)) if partial else base
            try:
                barrier.wait()
                results[index] = services.book(
                    client=client,
                    patient=patient,
                    service=service,
                    starts_at=start,
                    practitioner=vets[index] if same_patient else None,
                    booked_by=None,
                    now=now,
                )
            except Exception as error:  # counted below
                results[index] = error
            finally:
                connections.close_all()

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for result in results:
            if isinstance(result, services.Booked):
                booked += 1
            elif isinstance(result, services.PatientBusy):
                patient_busy += 1
                if result.conflict is None:
                    errors += 1
                    error_samples.append("patient busy without the conflicting appointment")
            elif isinstance(result, services.SlotTaken):
                taken += 1
                if not result.alternatives:
                    errors += 1
                    error_samples.append("taken without alternatives")
            else:
                errors += 1
                error_samples.append(repr(result))
    elapsed = time.perf_counter() - started
    rows = list(
        Appointment.objects.active()
        .filter(practitioner=vet)
        .order_by("starts_at")
        .values_list("starts_at", "blocks_until")
    )
    double = sum(1 for a, b in itertools.pairwise(rows) if b[0] < a[1])
    patient_rows = list(
        Appointment.objects.active()
        .filter(patient=shared)
        .order_by("starts_at")
        .values_list("starts_at", "ends_at")
    )
    patient_double = sum(1 for a, b in itertools.pairwise(patient_rows) if b[0] < a[1])
    Appointment.objects.filter(practitioner__in=vets).delete()
    service.delete()
    for v in vets:
        v.delete()
    Patient.objects.filter(guardianships__client__in=[c for c, _p in people]).delete()
    Client.objects.filter(pk__in=[c.pk for c, _p in people]).delete()
    site.delete()
    rules.max_upcoming = old_max
    rules.save()
    if made_rules is not None:
        BookingRules.objects.filter(pk=made_rules).delete()
    if made_clinic is not None:
        made_clinic.delete()
    return {
        "vendor": connection.vendor,
        "callers": callers,
        "rounds": rounds,
        "partial": partial,
        "booked": booked,
        "taken": taken,
        "errors": errors,
        "error_samples": error_samples[:3],
        "double_bookings": double,
        "same_patient": same_patient,
        "patient_busy": patient_busy,
        "patient_double_bookings": patient_double,
        "seconds": round(elapsed, 3),
        "attempts_per_s": round(callers * rounds / elapsed, 1),
        "bookings_per_s": round(booked / elapsed, 1),
    }


if __name__ == "__main__":
    main()
