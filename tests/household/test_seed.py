"""The demo: one client has another look after an animal as a pet-sitter, once."""

import pytest

from household.models import HouseholdEvent
from household.seed import seed_household
from portal.demo import Demo
from records.models import Guardianship
from tests import factories

pytestmark = pytest.mark.django_db


def _demo_clients(count: int) -> list:
    clients = []
    for number in range(count):
        user = factories.make_client_user(first_name=f"Demo{number}", last_name="Client")
        factories.make_patient(user, name=f"Animal {number}")
        clients.append(user.client)
    return clients


def test_it_shares_an_animal_once_however_often_it_runs(clinic):
    demo = Demo()
    demo.facts["clients"] = _demo_clients(7)

    seed_household(demo)
    seed_household(demo)

    (link,) = Guardianship.objects.filter(role=Guardianship.Role.SITTER)
    assert link.client == demo.facts["clients"][5]
    assert (
        link.patient.guardianships.get(role=Guardianship.Role.OWNER).client
        == (demo.facts["clients"][0])
    )
    assert list(HouseholdEvent.objects.order_by("pk").values_list("kind", flat=True)) == [
        "invited",
        "accepted",
    ]


def test_it_does_nothing_without_enough_clients(clinic):
    demo = Demo()
    demo.facts["clients"] = _demo_clients(3)

    seed_household(demo)

    assert not Guardianship.objects.filter(role=Guardianship.Role.SITTER).exists()
