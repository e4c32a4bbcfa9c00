"""What a client's "OUI" by text message costs (`make bench-sms`, issue 13).

    python bench/sms_inbound.py                 # 300 replies and 300 floor receipts
    python bench/sms_inbound.py --count 20      # a quick check

On a temporary SQLite file (migrated first), in one process, through Django's full request
stack (middleware, the view, the signature check, the rate limit):

1. **Replies/s**: `count` clients, each with an appointment in three days and the Twilio
   reminder about it sent; each posts a signed "OUI" to /notifications/webhooks/sms/twilio/
   inbound/: the reply is stored once, matched by number to the reminder, booking confirms the
   appointment (locking its row), and the answer is planned in the outbox (its task enqueued
   on commit).
2. **Floor**: the same number of signed status callbacks for message ids nobody knows (the
   request stack, the signature, one lookup that finds nothing).

Prints a table and one JSON line (replies/s, floor/s, and the ratio).

Also `--race --count N --threads T [--postgres ADMIN_URL]`: T threads post the same N signed
replies at once (a provider retrying while the first delivery is still being handled), on a
temporary SQLite file or a temporary PostgreSQL database; one JSON line says how many replies
were stored, appointments confirmed and answers planned (each must be N). Used by
tests/notifications/test_two_way_race.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not bench/ itself: bench/http*.py must not shadow the standard library's http package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-auth-token-0123456789abcdef"  # noqa: S105 (a stand-in, no real account)
BASE = "http://testserver"


def _setup(var_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["ACCUEIL_VAR_DIR"] = var_dir
    os.environ.setdefault("ACCUEIL_MASTER_KEYS", "bench:" + "A" * 43 + "=")
    os.environ.setdefault("ACCUEIL_LOG_LEVEL", "WARNING")
    os.environ.update(
        {
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "ACCUEIL_BASE_URL": BASE,
            "ACCUEIL_SMS_BACKEND": "twilio",
            "ACCUEIL_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "ACCUEIL_TWILIO_AUTH_TOKEN": TOKEN,
            "ACCUEIL_TWILIO_FROM": "+33757000001",
            "ACCUEIL_TWILIO_API_URL": "http://127.0.0.1:9",  # nothing is sent in the bench
            "ACCUEIL_SMS_WEBHOOK_RATE_PER_MINUTE": "1000000",
        }
    )
    import django

    django.setup()
    from bench import migrated

    migrated.migrate()


def _seed(count: int) -> list[str]:
    """`count` clients with an appointment in three days and its reminder sent; their numbers."""
    from django.utils import timezone

    from booking.models import Appointment
    from notifications.models import Channel, Kind, Notification, Preference, Status
    from portal.models import Client, Clinic
    from records.models import Guardianship, Patient
    from tests import factories
    from tests.booking.factories import make_practitioner, make_service

    factories.make_clinic()
    site = factories.make_site()
    tz = Clinic.current().tz
    vets = [make_practitioner(site, name=f"Dr Vet {i}", hours=[(clock(8), clock(20), True)])
            for i in range(3)]  # fmt: skip
    service = make_service(site, vets, slug="short", name="Consultation", duration=15)
    numbers = [f"+3361{index:07d}" for index in range(count)]
    clients = Client.objects.bulk_create(
        Client(first_name=f"C{i}", last_name="Bench", phone=number, preferred_language="fr")
        for i, number in enumerate(numbers)
    )
    Preference.objects.bulk_create(Preference(client=c, phone_verified=True) for c in clients)
    animals = Patient.objects.bulk_create(
        Patient(name=f"Pet{i}", species="dog") for i in range(count)
    )
    Guardianship.objects.bulk_create(
        Guardianship(client=c, patient=p) for c, p in zip(clients, animals, strict=True)
    )
    day = datetime.now(tz).date() + timedelta(days=3)
    appointments = []
    for index, (client, animal) in enumerate(zip(clients, animals, strict=True)):
        start = datetime.combine(day + timedelta(days=index // 144), clock(8), tzinfo=tz)
        start += timedelta(minutes=15 * ((index // 3) % 48))
        appointments.append(
            Appointment(
                site=site,
                practitioner=vets[index % 3],
                service=service,
                patient=animal,
                client=client,
                starts_at=start,
                ends_at=start + timedelta(minutes=15),
                blocks_until=start + timedelta(minutes=15),
            )
        )
    appointments = Appointment.objects.bulk_create(appointments)
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(
            client=a.client,
            recipient=a.client.phone,
            channel=Channel.SMS,
            kind=Kind.APPOINTMENT_REMINDER,
            body="Bench : rappel.",
            scheduled_at=now,
            status=Status.SENT,
            sent_at=now,
            provider_id=f"SM{a.pk:032d}",
            idempotency_key=f"bench-reminder-{a.pk}",
            subject_type="appointment",
            subject_id=a.pk,
            subject_version=a.version,
        )
        for a in appointments
    )
    return numbers


def _signed_posts(http, path: str, bodies: list[dict[str, str]]) -> float:
    from notifications.providers import twilio

    signed = [(body, twilio.signature(BASE + path, body, TOKEN)) for body in bodies]
    started = time.perf_counter()
    for body, signature in signed:
        response = http.post(path, body, HTTP_X_TWILIO_SIGNATURE=signature)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    return time.perf_counter() - started


def race(count: int, threads: int, pg_admin: str) -> dict:
    name = f"accueil_bench_sms_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="accueil-bench-sms-race-") as var_dir:
        os.environ.pop("REDIS_URL", None)
        if pg_admin:
            import psycopg

            with psycopg.connect(pg_admin, autocommit=True, connect_timeout=3) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                from bench import migrated

                admin.execute(migrated.create_database_sql(name))
            base = pg_admin.replace("postgresql://", "postgres://").rsplit("/", 1)[0]
            os.environ["DATABASE_URL"] = f"{base}/{name}"
        else:
            os.environ.pop("DATABASE_URL", None)
        try:
            _setup(var_dir)
            return _race(count, threads)
        finally:
            if pg_admin:
                from django.db import connections

                connections.close_all()
                with psycopg.connect(pg_admin, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _race(count: int, threads: int) -> dict:
    from django.db import connection
    from django.test import Client as HttpClient
    from django.urls import reverse

    from booking.models import Appointment
    from notifications.models import InboundSms, Kind, Notification
    from notifications.providers import twilio

    numbers = _seed(count)
    path = reverse("notifications:twilio_inbound")
    bodies = [
        {"MessageSid": f"SMrace{i:026d}", "From": number, "Body": "OUI"}
        for i, number in enumerate(numbers)
    ]
    signed = [(body, twilio.signature(BASE + path, body, TOKEN)) for body in bodies]
    barrier = threading.Barrier(threads)
    errors: list[str] = []

    def work(seed: int) -> None:
        from django.db import connection as own

        mine = list(signed)
        random.Random(seed).shuffle(mine)
        http = HttpClient()
        try:
            barrier.wait()
            for body, signature in mine:
                status = http.post(path, body, HTTP_X_TWILIO_SIGNATURE=signature).status_code
                if status != 200:
                    errors.append(f"HTTP {status}")
        except Exception as error:  # reported, not hidden
            errors.append(repr(error))
        finally:
            own.close()

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {
        "vendor": connection.vendor,
        "count": count,
        "threads": threads,
        "errors": errors[:5],
        "stored": InboundSms.objects.count(),
        "confirmed": Appointment.objects.filter(confirmed_via="sms").count(),
        "answers": Notification.objects.filter(kind=Kind.SMS_ANSWER).count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300, help="replies, and floor receipts")
    parser.add_argument("--race", action="store_true")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--postgres", default="", metavar="ADMIN_URL")
    args = parser.parse_args()
    if args.race:
        print(json.dumps(race(args.count, args.threads, args.postgres)))
        return
    with tempfile.TemporaryDirectory(prefix="accueil-bench-sms-") as var_dir:
        os.environ.pop("DATABASE_URL", None)  # SQLite in the temporary directory
        os.environ.pop("REDIS_URL", None)
        _setup(var_dir)
        from django.test import Client as HttpClient
        from django.urls import reverse

        from booking.models import Appointment
        from notifications.models import InboundSms

        numbers = _seed(args.count)
        http = HttpClient()
        floor = _signed_posts(
            http,
            reverse("notifications:twilio_status"),
            [
                {"MessageSid": f"SMunknown{i:023d}", "MessageStatus": "delivered"}
                for i in range(args.count)
            ],
        )
        replies = _signed_posts(
            http,
            reverse("notifications:twilio_inbound"),
            [
                {"MessageSid": f"SMin{i:028d}", "From": number, "Body": " oui "}
                for i, number in enumerate(numbers)
            ],
        )
        confirmed = Appointment.objects.filter(confirmed_via="sms").count()
        stored = InboundSms.objects.filter(outcome="confirmed").count()
    if confirmed != args.count or stored != args.count:
        raise SystemExit(f"only {confirmed} confirmed, {stored} stored of {args.count}")
    result = {
        "count": args.count,
        "replies_per_second": round(args.count / replies, 1),
        "replies_ms_each": round(replies * 1000 / args.count, 2),
        "floor_per_second": round(args.count / floor, 1),
        "floor_ms_each": round(floor * 1000 / args.count, 2),
        "ratio": round(replies / floor, 2),
    }
    print(f"{'signed webhook':<40} {'per second':>10} {'ms each':>8}")
    print(
        f"{'OUI: store, match, confirm, answer':<40} {result['replies_per_second']:>10} "
        f"{result['replies_ms_each']:>8}"
    )
    print(
        f"{'floor: receipt for an unknown id':<40} {result['floor_per_second']:>10} "
        f"{result['floor_ms_each']:>8}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
