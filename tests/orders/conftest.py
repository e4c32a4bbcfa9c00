"""A clinic open Tuesday to Saturday (Saturday mornings only), Camille's dog Filou on a
long treatment, a small catalogue, and staff of each role."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from notifications import backends
from notifications.models import Preference
from orders import services
from orders.models import Product
from records import services as records
from records.models import Species, Treatment
from tests import factories
from tests.booking.factories import make_practitioner

PARIS = ZoneInfo("Europe/Paris")
# A Monday morning: the clinic is closed on Mondays in these tests.
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
PDF = b"%PDF-1.7\n" + b"0" * 500
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 200


@pytest.fixture(autouse=True)
def _media_and_sms(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.NOTIFICATIONS_SMS_BACKEND = "locmem"
    backends.outbox.clear()
    yield
    backends.outbox.clear()


@pytest.fixture(autouse=True)
def _english_messages():
    """The rules' sentences are read in English here (a worker's language is whatever the test
    before left active); French is tested apart, through the pages."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def monday(_test_clock):
    """Every test here starts on MONDAY, sign-ins included (a session opened at another instant
    would have expired by then); tests about other instants travel on from it themselves
    (Sunday night, the autumn change). So the suite's own instants are not applied here."""
    with time_machine.travel(MONDAY, tick=False):
        yield MONDAY


@pytest.fixture
def hours(site):
    """Tuesday to Friday 9-12 and 14-19, Saturday 9-12."""
    practitioner = make_practitioner(site, days=range(1, 5))
    make_practitioner(site, name="Dr Samedi", hours=[(time(9), time(12), True)], days=[5])
    return practitioner


@pytest.fixture
def camille(client_user):
    client = client_user.client
    client.phone = "+33612345678"
    # Notices are written in the client's language: English here, French tested apart.
    client.preferred_language = "en"
    client.save(update_fields=["phone", "preferred_language"])
    # Texts go only to a checked number (issue 12): the team checked Camille's.
    Preference.objects.update_or_create(
        client=client, defaults={"phone_verified": True, "verified_phone": client.phone}
    )
    return client


@pytest.fixture
def filou(camille):
    return factories.make_patient(camille, name="Filou", species=Species.DOG)


def give(patient, *, drug="Méloxicam", start: date, end: date | None, vet=None) -> Treatment:
    entry = records.record_treatment(
        patient=patient,
        practitioner=vet,
        drug=drug,
        dose="0,1 mg/kg par jour",
        start=start,
        end=end,
        antiparasitic=False,
    )
    return entry.treatment


@pytest.fixture
def treatment(filou, vet, monday) -> Treatment:
    """Prescribed a month ago, runs out in a week: current, prescription valid."""
    today = monday.date()
    return give(filou, start=today - timedelta(days=30), end=today + timedelta(days=7), vet=vet)


@pytest.fixture
def old_treatment(filou, vet, monday) -> Treatment:
    """Prescribed 14 months ago and still given: renewing it needs a consultation."""
    today = monday.date()
    return give(filou, drug="Cortisone", start=today - timedelta(days=420), end=None, vet=vet)


@pytest.fixture
def products(db):
    return {
        "wormer": Product.objects.create(
            name="Vermifuge", pack="boîte de 2", price=Decimal("12.50"), species=[Species.DOG]
        ),
        "diet": Product.objects.create(
            name="Croquettes rénales", pack="2 kg", needs_prescription=True, species=[Species.CAT]
        ),
        "drops": Product.objects.create(name="Collyre", pack="10 ml", needs_prescription=True),
    }


def pdf_upload(name="ordonnance.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def renewal(camille, treatment, site, **kwargs):
    return services.request_renewal(
        client=camille, treatment=treatment, site=site, by=camille.user, **kwargs
    )


def walk(order, *steps, by):
    for to in steps:
        order = services.move(order=order, version=order.version, to=to, by=by)
    return order
