"""Rules for care that falls due: protocols, superseding, reminders handed to notifications."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from records import services
from records.models import CareDue, CareKind, EntryKind, Guardianship, Species
from records.protocols import vaccine, vaccine_label
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_proposes_a_booster_four_weeks_after_a_first_injection_then_yearly():
    chpl = vaccine(Species.DOG, "chpl")
    assert chpl.next_due(date(2026, 3, 1), doses_before=0) == date(2026, 3, 29)
    assert chpl.next_due(date(2026, 3, 29), doses_before=1) == date(2027, 3, 29)
    rabies = vaccine(Species.DOG, "rabies")
    assert rabies.next_due(date(2026, 3, 1), doses_before=0) == date(2027, 3, 1)


def test_it_names_protocol_vaccines_and_keeps_hand_typed_ones():
    with translation.override("en"):
        assert vaccine_label(Species.RABBIT, "myxo-vhd") == "Myxomatosis and VHD"
    with translation.override("fr"):
        assert vaccine_label(Species.RABBIT, "myxo-vhd") == "Myxomatose et VHD"
    assert vaccine_label(Species.DOG, "Leishmaniosis") == "Leishmaniosis"
    assert vaccine(Species.REPTILE, "chpl") is None


def test_it_records_a_vaccination_and_schedules_its_reminder_after_commit(
    patient, vet, notify, django_capture_on_commit_callbacks
):
    co_owner = factories.make_client()
    sitter = factories.make_client()
    services.link_client(patient=patient, client=co_owner, role=Guardianship.Role.CO_OWNER)
    services.link_client(patient=patient, client=sitter, role=Guardianship.Role.SITTER)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        entry = services.record_vaccination(
            patient=patient,
            practitioner=vet,
            vaccine="rabies",
            batch="B-42",
            on=date(2026, 11, 2),
            next_due=date(2027, 11, 2),
            title="Vaccination: Rabies",
        )
        notify.care_reminder.assert_not_called()  # nothing leaves before the commit
    assert len(callbacks) == 1
    care = CareDue.objects.get()
    assert (care.kind, care.subject, care.due_date, care.source) == (
        CareKind.VACCINATION,
        "rabies",
        date(2027, 11, 2),
        entry,
    )
    kwargs = notify.care_reminder.call_args.kwargs
    assert sorted(kwargs["client_ids"]) == sorted([patient.clients.first().pk, co_owner.pk])
    assert kwargs["key"] == f"care:vaccination:{care.pk}"
    assert kwargs["kind"] == "vaccination"
    assert kwargs["patient_name"] == "Filou"
    assert kwargs["due_date"] == date(2027, 11, 2)
    assert entry.vaccination.batch == "B-42"


def test_it_supersedes_the_previous_due_of_the_same_vaccine_and_cancels_its_reminder(
    patient, vet, notify, django_capture_on_commit_callbacks
):
    first = services.record_vaccination(
        patient=patient,
        practitioner=vet,
        vaccine="chpl",
        batch="",
        on=date(2026, 3, 1),
        next_due=date(2026, 3, 29),
        title="CHPL",
    )
    other = services.record_vaccination(
        patient=patient,
        practitioner=vet,
        vaccine="rabies",
        batch="",
        on=date(2026, 3, 1),
        next_due=date(2027, 3, 1),
        title="Rabies",
    )
    old = CareDue.objects.get(source=first)
    with django_capture_on_commit_callbacks(execute=True):
        services.record_vaccination(
            patient=patient,
            practitioner=vet,
            vaccine="chpl",
            batch="",
            on=date(2026, 3, 29),
            next_due=date(2027, 3, 29),
            title="CHPL booster",
        )
    old.refresh_from_db()
    assert old.superseded_at is not None
    notify.cancel_care_reminder.assert_called_once_with(key=f"care:vaccination:{old.pk}")
    pending = CareDue.objects.pending().order_by("due_date")
    assert [(item.subject, item.due_date) for item in pending] == [
        ("rabies", date(2027, 3, 1)),
        ("chpl", date(2027, 3, 29)),
    ]
    assert CareDue.objects.get(source=other).superseded_at is None


def test_it_makes_a_renewal_due_a_few_days_before_a_treatment_ends(
    patient, vet, notify, settings, django_capture_on_commit_callbacks
):
    settings.RECORDS_RENEWAL_LEAD_DAYS = 5
    with django_capture_on_commit_callbacks(execute=True):
        services.record_treatment(
            patient=patient,
            practitioner=vet,
            drug="Meloxicam",
            dose="1.5 mg/day",
            start=date(2026, 11, 1),
            end=date(2026, 12, 1),
            antiparasitic=False,
        )
    care = CareDue.objects.get()
    assert (care.kind, care.due_date) == (CareKind.RENEWAL, date(2026, 11, 26))
    assert notify.care_reminder.call_args.kwargs["kind"] == "renewal"


def test_it_makes_the_next_antiparasitic_dose_due_at_the_end_of_the_treatment(patient, vet, notify):
    services.record_treatment(
        patient=patient,
        practitioner=vet,
        drug="Milbemax",
        dose="1 tablet",
        start=date(2026, 11, 1),
        end=date(2027, 2, 1),
        antiparasitic=True,
    )
    care = CareDue.objects.get()
    assert (care.kind, care.due_date, care.title) == (
        CareKind.ANTIPARASITIC,
        date(2027, 2, 1),
        "Milbemax",
    )


def test_it_makes_a_checkup_due_from_a_consultation(patient, vet, notify):
    entry = services.record_entry(
        patient=patient,
        practitioner=vet,
        kind=EntryKind.CONSULTATION,
        on=date(2026, 11, 1),
        title="Limping",
        next_checkup=date(2026, 11, 15),
    )
    care = CareDue.objects.get()
    assert (care.kind, care.due_date, care.source) == (CareKind.CHECKUP, date(2026, 11, 15), entry)


def test_it_keeps_a_reminder_failure_from_undoing_the_record(
    patient, vet, notify, django_capture_on_commit_callbacks
):
    notify.care_reminder.side_effect = RuntimeError("SMS provider down")
    with django_capture_on_commit_callbacks(execute=True):
        services.record_vaccination(
            patient=patient,
            practitioner=vet,
            vaccine="rabies",
            batch="",
            on=date(2026, 11, 1),
            next_due=date(2027, 11, 1),
            title="Rabies",
        )
    assert CareDue.objects.count() == 1


def test_it_links_a_second_client_and_changes_a_role_without_duplicating(patient):
    other = factories.make_client()
    services.link_client(patient=patient, client=other, role=Guardianship.Role.SITTER)
    services.link_client(patient=patient, client=other, role=Guardianship.Role.CO_OWNER)
    assert patient.guardianships.get(client=other).role == Guardianship.Role.CO_OWNER
    assert patient.guardianships.count() == 2


def test_it_finds_patients_by_name_words_and_by_identification(client_user):
    factories.make_patient(client_user, name="Pistache", microchip="250269606012345")
    factories.make_patient(client_user, name="Moka")
    from records.models import Patient

    assert [p.name for p in Patient.objects.search("pist")] == ["Pistache"]
    assert [p.name for p in Patient.objects.search("2502 6960 6012")] == ["Pistache"]
    assert list(Patient.objects.search("   ")) == []


def test_it_orders_weights_for_the_chart(patient):
    from records.charts import weight_chart
    from tests.records.factories import make_weight

    for day, kg in ((1, "30.0"), (40, "31.5"), (90, "29.8")):
        make_weight(patient, date(2026, 1, 1) + timedelta(days=day), kg)
    chart = weight_chart(list(patient.weights.all()))
    assert chart.low == Decimal("29.8")
    assert chart.high == Decimal("31.5")
    xs = [point.x for point in chart.points]
    assert xs == sorted(xs)
    assert xs[0] == chart.plot_left
    assert xs[-1] == chart.plot_right
    highest = max(chart.points, key=lambda point: point.weight.kg)
    assert highest.y == min(point.y for point in chart.points)  # SVG y grows downwards
    assert weight_chart([]) is None
