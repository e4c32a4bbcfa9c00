"""A slot held for a newcomer: nobody else gets it while it holds; its holder does; it lapses."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from booking import services
from booking.models import Appointment, Service, SlotHold
from tests import factories
from tests.booking.factories import make_practitioner, make_service

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 29, 21, 40, tzinfo=PARIS)
TUESDAY_NINE = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def sunday_evening(_test_clock):
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def first_visit(site) -> Service:
    vet = make_practitioner(site)
    service = make_service(site, [vet], slug="premiere", name="Première", duration=20)
    service.first_visit_minutes = 40
    service.save()
    return service


def _someone():
    user = factories.make_client_user(first_name="Autre")
    return user.client, factories.make_patient(user, name="Rex")


def test_a_held_slot_is_refused_to_everyone_else_and_booked_by_its_holder(first_visit):
    held = services.hold_slot(service=first_visit, starts_at=TUESDAY_NINE)
    other, rex = _someone()
    with pytest.raises(services.SlotTaken):
        services.book(
            client=other, patient=rex, service=first_visit, starts_at=TUESDAY_NINE, booked_by=None
        )
    holder, pistache = _someone()
    booked = services.book(
        client=holder,
        patient=pistache,
        service=first_visit,
        starts_at=TUESDAY_NINE,
        booked_by=None,
        hold_token=held.token,
    )
    assert booked.appointment.ends_at - booked.appointment.starts_at == timedelta(minutes=40)
    assert not SlotHold.objects.exists()


def test_a_lapsed_hold_blocks_nothing(first_visit, sunday_evening):
    services.hold_slot(service=first_visit, starts_at=TUESDAY_NINE)
    sunday_evening.shift(timedelta(minutes=10, seconds=1))
    other, rex = _someone()
    services.book(
        client=other, patient=rex, service=first_visit, starts_at=TUESDAY_NINE, booked_by=None
    )
    assert Appointment.objects.count() == 1


def test_choosing_another_time_releases_the_first(first_visit):
    first = services.hold_slot(service=first_visit, starts_at=TUESDAY_NINE)
    later = TUESDAY_NINE + timedelta(hours=1)
    services.hold_slot(service=first_visit, starts_at=later, replaces=first.token)
    assert list(SlotHold.objects.values_list("starts_at", flat=True)) == [later]


def test_a_known_clients_second_visit_takes_the_usual_time(first_visit):
    client, rex = _someone()
    services.book(
        client=client, patient=rex, service=first_visit, starts_at=TUESDAY_NINE, booked_by=None
    )
    second = services.book(
        client=client,
        patient=rex,
        service=first_visit,
        starts_at=TUESDAY_NINE + timedelta(days=1),
        booked_by=None,
    )
    assert second.appointment.ends_at - second.appointment.starts_at == timedelta(minutes=20)


def test_existing_clients_only_is_refused_online_to_a_new_client(first_visit):
    first_visit.new_clients_allowed = False
    first_visit.save()
    client, rex = _someone()
    with pytest.raises(services.BookingError, match="already come"):
        services.book(
            client=client, patient=rex, service=first_visit, starts_at=TUESDAY_NINE, booked_by=None
        )
    with pytest.raises(services.BookingError, match="already come"):
        services.hold_slot(service=first_visit, starts_at=TUESDAY_NINE)
    # Staff booking by phone may still book them.
    staff = services.book(
        client=client,
        patient=rex,
        service=first_visit,
        starts_at=TUESDAY_NINE,
        booked_by=None,
        online=False,
    )
    assert staff.created
