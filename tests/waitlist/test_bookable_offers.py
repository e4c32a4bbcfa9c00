"""An offer is only ever sent for what booking will accept for that client (issue #18).

A cancelled 09:20 appointment (off the 15-minute grid) used to be offered at 09:20, and a
phone-only slot offered by staff went out too: both links answered 409 "This time is not open
for booking" while staff saw "being offered".
"""

from datetime import time, timedelta

import pytest
from django.urls import reverse

from booking import services as booking
from booking.models import Appointment, WeeklyHours
from tests.booking.factories import make_appointment, make_service
from tests.waitlist.conftest import DAY, at
from tests.waitlist.factories import make_entry
from waitlist import services
from waitlist.models import Entry, Offer, Release

pytestmark = pytest.mark.django_db


def _cancel(appointment, capture):
    with capture(execute=True):
        booking.cancel(appointment, by_user=None, by_clinic=True)


@pytest.fixture
def waiting(consultation, waiters):
    """The first three waiters wait for a consultation on DAY with anyone."""
    return [
        make_entry(client, patient, consultation, earliest=DAY) for client, patient in waiters[:3]
    ]


@pytest.fixture
def phone_hours(dubois):
    """Dr Dubois also takes appointments 12:00-14:00, by phone only."""
    return WeeklyHours.objects.create(
        practitioner=dubois, weekday=DAY.weekday(), start=time(12), end=time(14), online=False
    )


def _claim_all(release):
    """Claim each sent offer in turn: the first must book (what the client would see)."""
    offers = list(release.offers.select_related("release").order_by("pk"))
    assert offers, "nothing was offered"
    return services.claim(offers[0]).appointment


def test_an_off_grid_cancellation_is_offered_at_a_start_booking_accepts(
    now,
    consultation,
    dubois,
    filou,
    client_user,
    waiting,
    notify,
    django_capture_on_commit_callbacks,
):
    odd = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(9, 20),
    )
    _cancel(odd, django_capture_on_commit_callbacks)

    release = Release.objects.get()
    assert release.status == Release.Status.OPEN
    # 09:20-09:50 contains 09:30 on the 15-minute grid, and a 30-minute consultation fits.
    assert release.starts_at == at(9, 30)
    assert notify.offer.call_args_list[0].kwargs["slot_starts_at"] == at(9, 30)
    appointment = _claim_all(release)
    assert (appointment.starts_at, appointment.practitioner) == (at(9, 30), dubois)


def test_a_freed_slot_containing_no_bookable_start_is_never_offered(
    now,
    consultation,
    dubois,
    filou,
    client_user,
    strangers_cat,
    other_client_user,
    waiting,
    notify,
    django_capture_on_commit_callbacks,
):
    odd = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(9, 20),
    )
    # Dr Dubois is busy from 09:50: a consultation at 09:30 would not fit.
    make_appointment(
        client=other_client_user.client,
        patient=strangers_cat,
        service=consultation,
        practitioner=dubois,
        starts_at=at(9, 50),
    )
    _cancel(odd, django_capture_on_commit_callbacks)

    release = Release.objects.get()
    assert release.status != Release.Status.OPEN  # staff do not see "being offered"
    assert not Offer.objects.exists()
    notify.offer.assert_not_called()


def test_a_phone_only_slot_offered_by_staff_sends_no_link_and_staff_book_it_for_the_client(
    now,
    consultation,
    dubois,
    waiting,
    phone_hours,
    reception,
    notify,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        release = services.offer_free_slot(
            service=consultation, practitioner=dubois, starts_at=at(12, 30), by_user=reception
        )
    # Nobody may book 12:30 online: no link goes out, but the slot waits for staff.
    assert not Offer.objects.exists()
    notify.offer.assert_not_called()
    assert (release.status, release.phone_only) == (Release.Status.OPEN, True)

    first = waiting[0]
    with django_capture_on_commit_callbacks(execute=True):
        appointment = services.claim_for(release, first, by_user=reception).appointment
    assert (appointment.starts_at, appointment.client_id) == (at(12, 30), first.client_id)
    assert appointment.channel == Appointment.Channel.STAFF
    notify.booked.assert_called_once()  # the client gets the usual confirmation
    release.refresh_from_db()
    first.refresh_from_db()
    assert (release.status, release.claimed_id) == (Release.Status.CLAIMED, appointment.pk)
    assert (first.status, first.booked_id) == (Entry.Status.BOOKED, appointment.pk)


def test_a_cancelled_phone_only_slot_waits_for_staff_instead_of_being_offered(
    now,
    consultation,
    dubois,
    filou,
    client_user,
    waiting,
    phone_hours,
    notify,
    django_capture_on_commit_callbacks,
):
    booked = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(12, 30),
    )
    _cancel(booked, django_capture_on_commit_callbacks)
    release = Release.objects.get()
    assert (release.status, release.phone_only, release.starts_at) == ("open", True, at(12, 30))
    assert not Offer.objects.exists()


def test_a_client_booking_would_refuse_gets_no_offer_the_next_one_does(
    now,
    rules,
    consultation,
    fontaine,
    waiters,
    notify,
    dubois,
):
    rules.max_upcoming = 1
    rules.save()
    (full_client, full_patient), (free_client, free_patient) = waiters[:2]
    make_entry(full_client, full_patient, consultation, earliest=DAY)
    make_entry(free_client, free_patient, consultation, earliest=DAY)
    make_appointment(
        client=full_client,
        patient=full_patient,
        service=consultation,
        practitioner=fontaine,
        starts_at=at(16, day=DAY + timedelta(days=2)),
    )
    release = services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(10), by_user=None
    )
    assert list(release.offers.values_list("client_id", flat=True)) == [free_client.pk]


def test_staff_book_a_phone_only_slot_for_a_waiting_client_from_the_waitlist_page(
    now,
    consultation,
    dubois,
    waiting,
    phone_hours,
    reception,
    as_reception,
    notify,
    django_capture_on_commit_callbacks,
):
    release = services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(12, 30), by_user=reception
    )
    page = as_reception.get(reverse("waitlist:staff")).content.decode()
    url = reverse("waitlist:staff_book", args=[release.pk])
    assert f'action="{url}"' in page
    assert "Book by phone" in page
    first = waiting[0]
    with django_capture_on_commit_callbacks(execute=True):
        answer = as_reception.post(url, {"entry": first.pk})
    assert answer.status_code == 302
    appointment = Appointment.objects.active().get(starts_at=at(12, 30))
    assert (appointment.client_id, appointment.patient_id) == (first.client_id, first.patient_id)
    notify.booked.assert_called_once()


def test_clients_cannot_book_a_phone_only_slot_for_anyone(
    now,
    consultation,
    dubois,
    waiting,
    phone_hours,
    reception,
    as_client,
    as_other_client,
):
    release = services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(12, 30), by_user=reception
    )
    url = reverse("waitlist:staff_book", args=[release.pk])
    for http in (as_client, as_other_client):
        assert http.post(url, {"entry": waiting[0].pk}).status_code in (403, 404)
    assert not Appointment.objects.exists()


def test_staff_cannot_book_a_slot_for_a_client_waiting_for_something_else(
    now, site, consultation, dubois, waiters, phone_hours, reception, notify
):
    vaccine = make_service(site, [dubois], slug="vaccine", name="Vaccine", duration=15)
    client, patient = waiters[0]
    other = make_entry(client, patient, vaccine, earliest=DAY)
    release = services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(12, 30), by_user=reception
    )
    with pytest.raises(services.WaitlistError):
        services.claim_for(release, other, by_user=reception)
    release.refresh_from_db()
    assert release.status == Release.Status.OPEN
    assert not Appointment.objects.exists()
