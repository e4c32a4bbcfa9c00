"""Data for `make bench-load` (bench/load.py), run as its own process against the database the
servers use (DATABASE_URL in the environment, or the embedded SQLite under ACCUEIL_VAR_DIR).

    python bench/load_data.py accounts --users 300 --out accounts.json
    python bench/load_data.py check --seen locust-out.json

`accounts`: N client accounts (e-mail verified, one known password, one animal each, the demo
site as their usual one), in bulk: the password is hashed once for all of them (a hash costs
about a second of CPU here). Each also gets a session made as a sign-in would, for the owners
who come back already signed in (bench/locustfile.py). Prints nothing; writes the JSON list.

`check`: after the run, reads the database and prints one JSON object: appointments the load
accounts hold, slots booked twice (one vet, one start, both active), overlapping active
appointments of one vet (buffers included) and of one animal, and the appointments the load
tool saw booked that the database does not hold, or holds for someone else.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

PASSWORD = "load-Rush-2026-owners"  # noqa: S105 - a bench account's, in a throwaway database
DOMAIN = "load.example.com"
SPECIES = ["dog", "cat"]


def email_of(index: int) -> str:
    return f"owner{index:04d}@{DOMAIN}"


def create_accounts(count: int) -> list[dict]:
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from portal.models import Client, Role, Site, User
    from records.models import Guardianship, Patient

    site = Site.objects.filter(is_default=True).first() or Site.objects.first()
    password = make_password(PASSWORD)
    with transaction.atomic():
        User.objects.filter(email__endswith=f"@{DOMAIN}").delete()
        users = User.objects.bulk_create(
            User(
                email=email_of(i),
                password=password,
                role=Role.CLIENT,
                first_name="Propriétaire",
                last_name=f"{i:04d}",
            )
            for i in range(count)
        )
        EmailAddress.objects.bulk_create(
            EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users
        )
        clients = Client.objects.bulk_create(
            Client(
                user=u,
                first_name=u.first_name,
                last_name=u.last_name,
                email=u.email,
                phone=f"+3367{i:07d}",
                usual_site=site,
            )
            for i, u in enumerate(users)
        )
        patients = Patient.objects.bulk_create(
            Patient(name=f"Rex {i:04d}", species=SPECIES[i % len(SPECIES)]) for i in range(count)
        )
        Guardianship.objects.bulk_create(
            Guardianship(client=c, patient=p) for c, p in zip(clients, patients, strict=True)
        )
    # A session as django.contrib.auth.login() writes it: the owners who "come back" use it.
    engine = import_module(settings.SESSION_ENGINE)
    backend = settings.AUTHENTICATION_BACKENDS[0]
    accounts = []
    for user, patient in zip(users, patients, strict=True):
        session = engine.SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        accounts.append(
            {
                "email": user.email,
                "password": PASSWORD,
                "session": session.session_key,
                "patient": patient.pk,
            }
        )
    return accounts


def check(seen_path: Path | None) -> dict:
    from django.db.models import Count

    from booking.models import Appointment

    mine = Appointment.objects.filter(client__email__endswith=f"@{DOMAIN}")
    active = Appointment.objects.active()
    doubled = (
        active.values("practitioner_id", "starts_at")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    overlaps_vet = 0
    overlaps_patient = 0
    rows = list(active.values_list("pk", "practitioner_id", "patient_id", "starts_at", "ends_at"))
    blocks = dict(active.values_list("pk", "blocks_until"))
    by_vet: dict[int, list] = {}
    by_patient: dict[int, list] = {}
    for pk, vet, patient, start, end in rows:
        by_vet.setdefault(vet, []).append((start, blocks[pk]))
        by_patient.setdefault(patient, []).append((start, end))
    for spans in by_vet.values():
        overlaps_vet += _overlaps(spans)
    for spans in by_patient.values():
        overlaps_patient += _overlaps(spans)
    report = {
        "appointments": mine.count(),
        "active": mine.active().count(),
        "cancelled": mine.filter(status=Appointment.Status.CANCELLED).count(),
        "double_booked_slots": doubled,
        "vet_overlaps": overlaps_vet,
        "animal_overlaps": overlaps_patient,
    }
    if seen_path is not None and seen_path.exists():
        # bench/locustfile.py's record: [[appointment pk, owner e-mail], ...]
        seen = json.loads(seen_path.read_text())["booked"]
        held = dict(mine.filter(pk__in=[pk for pk, _ in seen]).values_list("pk", "client__email"))
        report["seen_booked"] = len(seen)
        report["seen_but_missing"] = sum(1 for pk, email in seen if held.get(pk) != email)
        report["in_db_not_seen"] = mine.exclude(pk__in=[pk for pk, _ in seen]).count()
    return report


def _overlaps(spans: list) -> int:
    """Pairs of consecutive spans (sorted by start) that meet: 0 when none overlaps."""
    spans.sort()
    return sum(1 for (_, end), (start, _) in itertools.pairwise(spans) if start < end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    accounts = sub.add_parser("accounts")
    accounts.add_argument("--users", type=int, default=300)
    accounts.add_argument("--out", type=Path, required=True)
    checking = sub.add_parser("check")
    checking.add_argument("--seen", type=Path)
    args = parser.parse_args()

    import django

    django.setup()
    if args.command == "accounts":
        args.out.write_text(json.dumps(create_accounts(args.users)))
    else:
        print(json.dumps(check(args.seen)))


if __name__ == "__main__":
    main()
