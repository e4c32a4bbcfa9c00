from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from portal.models import Role, User
from records import services
from records.models import EntryKind, Guardianship, Patient, Report, Sex, Species
from records.protocols import vaccines_for

ANIMALS = [
    (Species.DOG, ["Labrador", "Berger australien", "Jack Russell", "Golden retriever", "Croisé"]),
    (Species.CAT, ["Européen", "Maine coon", "Siamois", "Chartreux", "Sacré de Birmanie"]),
    (Species.RABBIT, ["Bélier nain", "Rex"]),
]
NAMES = [
    "Filou",
    "Pistache",
    "Moka",
    "Nala",
    "Oscar",
    "Praline",
    "Ulysse",
    "Vanille",
    "Caramel",
    "Sushi",
    "Loustic",
    "Plume",
    "Figaro",
    "Noisette",
    "Tango",
    "Biscotte",
    "Gribouille",
    "Cannelle",
    "Pixel",
    "Roméo",
    "Olive",
    "Réglisse",
    "Hercule",
    "Mistigri",
    "Choupette",
]


def seed_records(demo) -> None:
    _seed_patients(demo)
    _seed_history(demo)
    _seed_declared(demo)


DECLARED_PUPPY = "Pépito"


def _seed_declared(demo) -> None:
    """A puppy the last demo client added online (issue 12), so reception's "to confirm" list has
    one line and confirming it proposes the first vaccination. Kept apart from the other seeds'
    animals (not in demo.facts["patients"]); added once, by name, so running the seed again (or
    after a receptionist confirmed it) adds nothing."""
    client = demo.facts["clients"][-1]
    if (
        client.user is None
        or Patient.objects.of_client(client).filter(name=DECLARED_PUPPY).exists()
    ):
        return
    services.declare_patient(
        client=client,
        data={
            "name": DECLARED_PUPPY,
            "species": Species.DOG,
            "breed": "Berger australien",
            "sex": Sex.MALE,
            "birth_date": timezone.localdate() - timedelta(weeks=9),
            "birth_date_estimated": True,
        },
        by=client.user,
    )


@transaction.atomic
def _seed_patients(demo) -> None:
    rng = demo.rng
    today = date(2026, 11, 1)  # fixed so that re-runs give the same animals
    patients = []
    for client in demo.facts["clients"]:
        count = rng.randint(1, 3)
        # The clinic's own records (not what owners declared, see _seed_declared).
        existing = list(
            Patient.objects.of_client(client).filter(declared_by_owner=False, confirmed_at=None)
        )
        for index in range(count):
            species, breeds = rng.choice(ANIMALS)
            name = NAMES[(client.pk * 7 + index) % len(NAMES)]
            fields = {
                "species": species,
                "breed": rng.choice(breeds),
                "sex": rng.choice([Sex.FEMALE, Sex.MALE]),
                "neutered": rng.random() < 0.6,
                "birth_date": today - timedelta(days=rng.randint(120, 15 * 365)),
            }
            if index < len(existing):
                patients.append(existing[index])
                continue
            patient = Patient.objects.create(name=name, **fields)
            Guardianship.objects.create(patient=patient, client=client)
            patients.append(patient)
    demo.facts["patients"] = patients


def _seed_history(demo) -> None:
    """History, care due and weights for the first five clients' animals, and one published
    report for the first client's: enough for every screen to have something to show.

    Dates are relative to today so that some care is due soon whenever the demo runs. An animal
    that already has history is left alone, so running the seed again adds nothing.
    """
    vets = list(User.objects.filter(role=Role.VET).order_by("pk"))
    if not vets:
        return
    today = timezone.localdate()
    clients = demo.facts["clients"][:5]
    for number, client in enumerate(clients):
        for index, patient in enumerate(Patient.objects.of_client(client).order_by("pk")):
            if patient.entries.exists():
                continue
            vet = vets[(number + index) % len(vets)]
            _seed_animal(patient, vet, today, due_soon=index == 0)
            if number == 0 and index == 0:
                _seed_report(patient, vet, today)


def _seed_animal(patient: Patient, vet: User, today: date, *, due_soon: bool) -> None:
    name = patient.name
    services.record_entry(
        patient=patient,
        practitioner=vet,
        kind=EntryKind.CONSULTATION,
        on=today - timedelta(days=400),
        title="Première consultation",
        summary=f"{name} est en bonne santé. Nous avons parlé alimentation et vermifuges.",
        internal_notes="Propriétaire très attentif. Animal un peu stressé à la pesée.",
    )
    for vaccine in vaccines_for(patient.species)[:2]:
        # The first animal's vaccine falls due in a fortnight; the others later in the year.
        given = today - timedelta(days=351 if due_soon else 200)
        services.record_vaccination(
            patient=patient,
            practitioner=vet,
            vaccine=vaccine.code,
            batch=f"LOT-{patient.pk:03d}{vaccine.code[:2].upper()}",
            on=given,
            next_due=given + vaccine.booster_interval,
            title=f"Vaccination : {vaccine.label}",
            summary="Rappel annuel fait, aucune réaction.",
        )
    services.record_entry(
        patient=patient,
        practitioner=vet,
        kind=EntryKind.LAB,
        on=today - timedelta(days=60),
        title="Bilan sanguin",
        summary="Résultats dans les normes.",
        internal_notes="Créatinine en limite haute : recontrôler dans 6 mois.",
        next_checkup=today + timedelta(days=120),
    )
    services.record_treatment(
        patient=patient,
        practitioner=vet,
        drug="Milbemax" if patient.species == Species.DOG else "Stronghold",
        dose="1 comprimé" if patient.species == Species.DOG else "1 pipette",
        start=today - timedelta(days=80),
        end=today + timedelta(days=10),
        antiparasitic=True,
        summary="Traitement antiparasitaire trimestriel.",
    )
    if due_soon:
        services.record_treatment(
            patient=patient,
            practitioner=vet,
            drug="Méloxicam",
            dose="0,1 mg/kg par jour",
            start=today - timedelta(days=25),
            end=today + timedelta(days=7),
            antiparasitic=False,
            summary="Anti-inflammatoire pour l'arthrose, à renouveler.",
            internal_notes="Surveiller la fonction rénale.",
        )
    base = {Species.DOG: Decimal("24"), Species.CAT: Decimal("4.2")}.get(
        patient.species, Decimal("1.8")
    )
    for month in range(8):
        drift = Decimal(month % 3 - 1) * base / 40 + base * Decimal(month) / 120
        services.record_weight(
            patient=patient,
            by=vet,
            on=today - timedelta(days=30 * (7 - month) + 5),
            kg=(base + drift).quantize(Decimal("0.01")),
        )


def _seed_report(patient: Patient, vet: User, today: date) -> None:
    if patient.reports.exists():
        return
    report = services.write_report(
        patient=patient,
        author=vet,
        title="Compte rendu de bilan sanguin",
        on=today - timedelta(days=60),
        summary=(
            f"{patient.name} a été vu pour un bilan sanguin de routine.\n\n"
            "Numération et biochimie dans les normes. La créatinine est en limite haute ; "
            "nous vous proposons un contrôle dans six mois.\n\n"
            "N'hésitez pas à nous appeler pour toute question."
        ),
    )
    if report.status == Report.Status.DRAFT:
        services.publish_report(report=report, by=vet)
