"""Taking an offer: the first claim books through booking, everyone else is told it is taken."""

from datetime import timedelta

import pytest
import time_machine

from booking import services as booking
from booking.models import Appointment
from tests.booking.factories import make_appointment
from tests.waitlist.conftest import DAY, NOW, at
from tests.waitlist.factories import make_entry
from waitlist import services
from waitlist.models import Entry, Offer, Release

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(now, consultation, dubois, waiters, notify):
    for client, patient in waiters[:3]:
        make_entry(client, patient, consultation, earliest=DAY)
    return services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(14, 30), by_user=None
    )


def _offers(release):
    return list(release.offers.select_related("release").order_by("pk"))


def test_the_first_claim_books_and_the_others_are_told_it_is_taken(release, notify):
    first, second, third = _offers(release)
    claimed = services.claim(second)
    appointment = claimed.appointment
    assert (appointment.client_id, appointment.starts_at) == (second.client_id, at(14, 30))
    assert appointment.practitioner_id == release.practitioner_id
    for late in (first, third):
        with pytest.raises(services.ClaimError) as refused:
            services.claim(late)
        assert refused.value.state == "taken"
    release.refresh_from_db()
    assert (release.status, release.claimed_id) == (Release.Status.CLAIMED, appointment.pk)
    statuses = dict(release.offers.values_list("pk", "status"))
    assert statuses == {first.pk: "missed", second.pk: "claimed", third.pk: "missed"}
    # The losers stay on the list; the winner's entry is done.
    entries = dict(Entry.objects.values_list("client_id", "status"))
    assert entries[second.client_id] == Entry.Status.BOOKED
    assert entries[first.client_id] == entries[third.client_id] == Entry.Status.WAITING
    assert Appointment.objects.active().filter(starts_at=at(14, 30)).count() == 1


def test_a_reused_link_books_nothing_more(release):
    offer = _offers(release)[0]
    services.claim(offer)
    with pytest.raises(services.ClaimError) as refused:
        services.claim(offer)
    assert refused.value.state == "used"
    assert Appointment.objects.count() == 1


def test_a_slot_booked_meanwhile_kills_every_offer_of_it(
    release, client_user, filou, consultation, dubois
):
    make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(14, 30),
    )
    offer = _offers(release)[0]
    with pytest.raises(services.ClaimError) as refused:
        services.claim(offer)
    assert refused.value.state == "taken"
    release.refresh_from_db()
    assert release.status == Release.Status.TAKEN
    assert set(release.offers.values_list("status", flat=True)) == {Offer.Status.MISSED}
    assert Appointment.objects.count() == 1


def test_a_client_with_an_appointment_at_that_time_is_refused_and_nothing_is_written(
    release, consultation, fontaine
):
    offer = _offers(release)[0]
    entry = offer.entry
    make_appointment(
        client=offer.client,
        patient=entry.patient,
        service=consultation,
        practitioner=fontaine,
        starts_at=at(14, 30),
    )
    with pytest.raises(services.ClaimError) as refused:
        services.claim(offer)
    assert refused.value.state == "overlap"
    offer.refresh_from_db()
    release.refresh_from_db()
    assert (offer.status, release.status) == (Offer.Status.SENT, Release.Status.OPEN)
    assert Appointment.objects.count() == 1


def test_an_offer_ends_with_the_notice_and_when_the_client_left_the_list(release, rules):
    first, second, _third = _offers(release)
    services.leave(first.entry)
    first.refresh_from_db()
    with pytest.raises(services.ClaimError) as refused:
        services.claim(first)
    assert refused.value.state == "ended"
    with (
        time_machine.travel(at(14, 30) - rules.min_notice + timedelta(minutes=1), tick=False),
        pytest.raises(services.ClaimError) as late,
    ):
        services.claim(second)
    assert late.value.state == "ended"
    assert not Appointment.objects.exists()


def test_an_earlier_slot_cancels_the_old_appointment_which_is_offered_in_turn(
    now,
    consultation,
    dubois,
    fontaine,
    client_user,
    filou,
    waiters,
    notify,
    django_capture_on_commit_callbacks,
):
    later = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=fontaine,
        starts_at=at(10, day=DAY + timedelta(days=7)),
    )
    services.join(
        client=client_user.client,
        patient=filou,
        service=consultation,
        earliest=NOW.date(),
        latest=DAY + timedelta(days=7),
        appointment=later,
    )
    someone, their_dog = waiters[0]
    make_entry(someone, their_dog, consultation, earliest=DAY, created_at=NOW + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        release = services.offer_free_slot(
            service=consultation, practitioner=dubois, starts_at=at(9), by_user=None
        )
    mine = release.offers.get(client=client_user.client)
    with django_capture_on_commit_callbacks(execute=True):
        claimed = services.claim(mine)
    later.refresh_from_db()
    assert later.status == Appointment.Status.CANCELLED
    assert claimed.replaced.pk == later.pk
    assert claimed.appointment.starts_at == at(9)
    # The old time went back to the waitlist, and to the next client waiting.
    old_release = Release.objects.get(appointment=later)
    assert old_release.source == Release.Source.CANCELLED
    assert list(old_release.offers.values_list("client_id", flat=True)) == [someone.pk]


def test_an_earlier_slot_entry_is_not_offered_a_later_slot(
    now, consultation, dubois, client_user, filou, notify
):
    soon = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(10, day=DAY + timedelta(days=3)),
    )
    services.join(
        client=client_user.client,
        patient=filou,
        service=consultation,
        earliest=NOW.date(),
        latest=DAY + timedelta(days=3),
        appointment=soon,
    )
    release = services.offer_free_slot(
        service=consultation,
        practitioner=dubois,
        starts_at=at(15, day=DAY + timedelta(days=3)),
        by_user=None,
    )
    assert not release.offers.exists()


def test_joining_for_someone_elses_animal_is_refused(now, consultation, client_user, strangers_cat):
    with pytest.raises(services.WaitlistError):
        services.join(
            client=client_user.client,
            patient=strangers_cat,
            service=consultation,
            earliest=DAY,
            latest=DAY,
        )
    assert not Entry.objects.exists()


def test_booking_cancel_by_a_client_also_releases(
    now,
    consultation,
    dubois,
    client_user,
    filou,
    waiters,
    notify,
    django_capture_on_commit_callbacks,
):
    client, patient = waiters[0]
    make_entry(client, patient, consultation, earliest=DAY)
    appointment = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(11),
    )
    with django_capture_on_commit_callbacks(execute=True):
        booking.cancel(appointment, by_user=client_user, by_clinic=False)
    assert Release.objects.get().offers.count() == 1
