"""Demo data: a small catalogue, and a few requests at different steps so the queue has work."""

from decimal import Decimal

from django.db import transaction

from orders import services
from orders.models import Order, Product, Status
from portal.models import Role, Site, User
from records.models import Patient, Species

CATALOGUE = [
    # name, pack, price, needs a prescription, species
    ("Croquettes rénales", "sac de 2 kg", Decimal("32.90"), True, [Species.CAT]),
    ("Croquettes articulations", "sac de 12 kg", Decimal("89.00"), False, [Species.DOG]),
    ("Vermifuge comprimés", "boîte de 2", Decimal("12.50"), False, [Species.DOG, Species.CAT]),
    ("Pipettes antiparasitaires", "boîte de 4", Decimal("38.00"), True, [Species.DOG]),
    ("Méloxicam suspension buvable", "flacon de 32 ml", Decimal("24.60"), True, []),
    ("Shampooing dermatologique", "flacon de 200 ml", None, False, []),
]


def seed_orders(demo) -> None:
    if not Product.objects.exists():
        Product.objects.bulk_create(
            Product(name=n, pack=p, price=price, needs_prescription=rx, species=species)
            for n, p, price, rx, species in CATALOGUE
        )
    if Order.objects.exists():
        return
    site = Site.objects.filter(is_active=True).first()
    vet = User.objects.filter(role=Role.VET).order_by("pk").first()
    reception = User.objects.filter(role=Role.RECEPTION).order_by("pk").first()
    clients = demo.facts["clients"]
    if site is None or vet is None or reception is None or len(clients) < 3:
        return
    with transaction.atomic():
        # The second client's dog food waits at the desk; the third asked for a renal diet.
        second = _first_patient(clients[1])
        if second is not None:
            product = Product.objects.get(name="Vermifuge comprimés")
            order = services.request_product(
                client=clients[1], patient=second, product=product, site=site, by=clients[1].user
            )
            for to in (Status.PREPARING, Status.READY):
                order = services.move(order=order, version=order.version, to=to, by=reception)
        third = _first_patient(clients[2])
        if third is not None:
            product = Product.objects.get(name="Shampooing dermatologique")
            services.request_product(
                client=clients[2],
                patient=third,
                product=product,
                site=site,
                note="Pour le rendez-vous de la semaine prochaine si possible.",
                by=clients[2].user,
            )


def _first_patient(client) -> Patient | None:
    return Patient.objects.of_client(client).order_by("pk").first()
