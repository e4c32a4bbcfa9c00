"""One animal cannot be in two appointments at once, whoever they are with (issue #18)."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from booking import services
from booking.models import Appointment
from records.models import Guardianship
from tests import factories
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at, make_appointment
from tests.booking.factories import book as factories_book

# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")


def book(client_user, patient, service, starts_at, **kwargs):
    kwargs.setdefault("now", NOW)
    return factories_book(client_user, patient, service, starts_at, **kwargs)


def test_it_refuses_the_same_animal_twice_at_once_with_the_other_vet(
    client_user, filou, consultation, dubois, fontaine, notify
):
    # Two tabs on "first available": the first gets a vet, the second would get the other.
    first = book(client_user, filou, consultation, at(DAY, 9), request_key="tab-1").appointment
    with pytest.raises(services.PatientBusy, match="Filou already has an appointment") as caught:
        book(client_user, filou, consultation, at(DAY, 9), request_key="tab-2")
    assert caught.value.conflict == first
    with pytest.raises(services.PatientBusy):
        book(client_user, filou, consultation, at(DAY, 9, 15), practitioner=fontaine)
    assert list(Appointment.objects.values_list("pk", flat=True)) == [first.pk]


def test_staff_cannot_book_the_animal_twice_either(
    client_user, reception, filou, consultation, dubois, fontaine, notify
):
    book(client_user, filou, consultation, at(DAY, 9), practitioner=dubois)
    with pytest.raises(services.PatientBusy):
        book(
            client_user,
            filou,
            consultation,
            at(DAY, 9),
            practitioner=fontaine,
            booked_by=reception,
            online=False,
        )
    assert Appointment.objects.count() == 1


def test_back_to_back_and_cancelled_appointments_do_not_block_the_animal(
    client_user, filou, consultation, dubois, fontaine, notify
):
    first = book(client_user, filou, consultation, at(DAY, 9), practitioner=dubois).appointment
    # Right after it (its buffer is the vet's time, not the animal's), with the other vet.
    after = book(client_user, filou, consultation, at(DAY, 9, 30), practitioner=fontaine)
    services.cancel(first, by_user=client_user, by_clinic=False, now=NOW)
    again = book(client_user, filou, consultation, at(DAY, 9), practitioner=fontaine)
    assert after.appointment.starts_at == at(DAY, 9, 30)
    assert again.appointment.starts_at == at(DAY, 9)


def test_a_move_onto_the_animals_other_appointment_is_refused(
    client_user, filou, consultation, dubois, fontaine, notify
):
    book(client_user, filou, consultation, at(DAY, 9), practitioner=dubois)
    later = book(client_user, filou, consultation, at(DAY, 10), practitioner=fontaine).appointment
    with pytest.raises(services.PatientBusy):
        services.move(
            later, starts_at=at(DAY, 9, 15), by_user=client_user, by_clinic=False, now=NOW
        )
    later.refresh_from_db()
    assert later.starts_at == at(DAY, 10)
    assert later.version == 1


def test_two_guardians_cannot_book_their_shared_animal_twice(
    client_user, other_client_user, filou, consultation, dubois, fontaine, notify
):
    Guardianship.objects.create(client=other_client_user.client, patient=filou)
    book(client_user, filou, consultation, at(DAY, 9), practitioner=dubois)
    with pytest.raises(services.PatientBusy) as caught:
        book(other_client_user, filou, consultation, at(DAY, 9), practitioner=fontaine)
    assert caught.value.conflict.client == client_user.client


def test_the_client_is_told_with_a_link_to_the_appointment_and_nothing_is_written(
    as_client, client_user, filou, consultation, dubois, fontaine, notify
):
    held = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )
    data = {
        "patient": filou.pk,
        "service": "consultation",
        "start": str(int(at(DAY, 9).timestamp())),
        "request_key": "second-tab",
    }
    response = as_client.post(reverse("booking:confirm"), data)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Filou already has an appointment at that time." in html
    assert f'href="{reverse("booking:detail", args=[held.pk])}"' in html
    assert "Book this appointment" not in html
    assert list(Appointment.objects.values_list("pk", flat=True)) == [held.pk]
    assert not notify.booked.called
    # The confirm page says so before the button, too.
    page = as_client.get(reverse("booking:confirm"), {k: data[k] for k in data if k != "reason"})
    assert page.status_code == 409
    assert "Filou already has an appointment at that time." in page.content.decode()


def test_another_guardians_appointment_is_named_but_not_linked(
    as_other_client, client_user, other_client_user, filou, consultation, dubois, notify
):
    Guardianship.objects.create(client=other_client_user.client, patient=filou)
    held = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )
    response = as_other_client.post(
        reverse("booking:confirm"),
        {
            "patient": filou.pk,
            "service": "consultation",
            "start": str(int(at(DAY, 9).timestamp())),
            "request_key": "k",
        },
    )
    html = response.content.decode()
    assert "Filou already has an appointment at that time." in html
    assert reverse("booking:detail", args=[held.pk]) not in html


def test_the_database_refuses_the_animal_twice_on_postgresql(
    client_user, filou, consultation, dubois, fontaine
):
    if connection.vendor != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL only")
    make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )
    with (
        pytest.raises(IntegrityError, match="booking_appt_patient_no_overlap"),
        transaction.atomic(),
    ):
        make_appointment(
            client=client_user.client,
            patient=filou,
            service=consultation,
            practitioner=fontaine,
            starts_at=at(DAY, 9, 15),
        )
    # Another animal at the same time with the other vet is fine.
    other = factories.make_patient(client_user, name="Pistache")
    make_appointment(
        client=client_user.client,
        patient=other,
        service=consultation,
        practitioner=fontaine,
        starts_at=at(DAY, 9),
    )
