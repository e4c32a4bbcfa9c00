"""The demo clinic's waitlist: a few clients waiting, seeded once, safe to seed again."""

import io

from django.core.management import call_command

from waitlist.models import Entry


def test_the_demo_seeds_a_few_waiting_clients_once(db, notify):
    call_command("seed_demo", stdout=io.StringIO())
    entries = list(Entry.objects.select_related("patient", "client"))
    assert len(entries) >= 4
    for entry in entries:
        assert entry.status == Entry.Status.WAITING
        assert entry.patient.guardianships.filter(client=entry.client).exists()
    assert any(entry.appointment_id for entry in entries)
    call_command("seed_demo", stdout=io.StringIO())
    assert Entry.objects.count() == len(entries)
