"""The staff's page of one client: what each app knows about them, gathered in panels."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests import factories
from tests.booking.factories import at, make_appointment, make_practitioner, make_service
from tests.messaging.factories import make_conversation
from tests.waitlist.factories import make_entry

PARIS = ZoneInfo("Europe/Paris")
MONDAY_MORNING = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
FRENCH = {"accept-language": "fr"}


@pytest.fixture(autouse=True)
def _monday_morning():
    """Every test here happens on MONDAY_MORNING, logins included (a session opened at another
    instant of the suite's clock would have expired by then)."""
    with time_machine.travel(MONDAY_MORNING, tick=False):
        yield


@pytest.mark.django_db
def test_it_lists_the_clients_appointment_conversations_and_animals(
    as_reception, client_user, other_client_user, site
):
    with time_machine.travel(MONDAY_MORNING, tick=False):
        client = client_user.client
        filou = factories.make_patient(client, name="Filou")
        factories.make_patient(client, name="Moustache")
        factories.make_patient(other_client_user.client, name="Rex l'inconnu")
        vet = make_practitioner(site)
        service = make_service(site, [vet], name="Vaccination")
        make_appointment(
            client=client,
            patient=filou,
            service=service,
            practitioner=vet,
            starts_at=at(date(2026, 12, 1), 10, 30),
        )
        make_conversation(client_user, subject="Vermifuge de Filou", patient=filou)
        make_conversation(other_client_user, subject="Question d'un autre")

        page = as_reception.get(f"/staff/clients/{client.pk}/", headers=FRENCH).content.decode()

    assert "Aucun rendez-vous à venir" not in page
    assert "Vaccination" in page
    assert "1er déc." in page or "1er décembre" in page
    assert "Vermifuge de Filou" in page
    assert "Question d'un autre" not in page
    assert "Filou" in page
    assert "Moustache" in page
    assert "Rex l&#x27;inconnu" not in page
    assert "Rex l'inconnu" not in page


@pytest.mark.django_db
def test_it_shows_what_the_client_waits_for(as_reception, client_user, site):
    with time_machine.travel(MONDAY_MORNING, tick=False):
        client = client_user.client
        filou = factories.make_patient(client, name="Filou")
        vet = make_practitioner(site)
        service = make_service(site, [vet], name="Détartrage")
        make_entry(client, filou, service, earliest=date(2026, 12, 1))

        page = as_reception.get(f"/staff/clients/{client.pk}/").content.decode()

    assert "Détartrage" in page


@pytest.mark.django_db
def test_a_client_page_of_an_unknown_client_is_not_found(as_reception, clinic):
    assert as_reception.get("/staff/clients/999999/").status_code == 404


@pytest.mark.django_db
def test_a_client_cannot_open_the_staff_client_page(as_other_client, client_user):
    response = as_other_client.get(f"/staff/clients/{client_user.client.pk}/")

    assert response.status_code in (403, 404)
    assert client_user.client.last_name not in response.content.decode()
