from datetime import date, timedelta

from django.db import transaction

from records.models import Guardianship, Patient, Sex, Species

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


@transaction.atomic
def seed_records(demo) -> None:
    rng = demo.rng
    today = date(2026, 11, 1)  # fixed so that re-runs give the same animals
    patients = []
    for client in demo.facts["clients"]:
        count = rng.randint(1, 3)
        existing = list(Patient.objects.of_client(client))
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
