"""Releasing a slot: who it suits, in which order, in waves, and when offers stop."""

from datetime import timedelta

import pytest

from booking import services as booking
from booking.models import Appointment
from tests.booking.factories import make_appointment
from tests.waitlist.conftest import DAY, NOW, at
from tests.waitlist.factories import make_entry
from waitlist import services
from waitlist.models import Entry, Offer, Release, Times
from waitlist.tasks import next_wave

pytestmark = pytest.mark.django_db


def _book(client_user_client, patient, service, practitioner, start):
    return make_appointment(
        client=client_user_client,
        patient=patient,
        service=service,
        practitioner=practitioner,
        starts_at=start,
    )


def _cancel(appointment, capture):
    with capture(execute=True):
        booking.cancel(appointment, by_user=None, by_clinic=True)


def test_it_offers_a_cancelled_slot_to_the_first_three_sign_ups_at_once(
    now,
    rules,
    consultation,
    dubois,
    filou,
    client_user,
    waiters,
    notify,
    django_capture_on_commit_callbacks,
):
    for index, (client, patient) in enumerate(waiters):
        make_entry(
            client,
            patient,
            consultation,
            earliest=DAY,
            created_at=NOW - timedelta(hours=10 - index),
        )
    appointment = _book(client_user.client, filou, consultation, dubois, at(14, 30))

    _cancel(appointment, django_capture_on_commit_callbacks)

    release = Release.objects.get()
    assert (release.status, release.source, release.wave) == ("open", "cancelled", 1)
    offered = list(Offer.objects.order_by("pk").values_list("client_id", flat=True))
    assert offered == [client.pk for client, _p in waiters[:3]]
    assert notify.offer.call_count == 3
    call = notify.offer.call_args_list[0].kwargs
    assert call["slot_starts_at"] == at(14, 30)
    assert call["practitioner_name"] == "Dr Dubois"
    assert call["wave"] == 1
    assert call["expires_at"] == at(14, 30) - rules.min_notice
    assert "/waitlist/o/" in call["claim_url"]
    notify.wave.assert_called_once()
    assert notify.wave.call_args.args[:2] == (release.pk, 2)


def test_it_sends_the_next_wave_only_while_unclaimed_and_once(
    now, consultation, dubois, waiters, notify, django_capture_on_commit_callbacks
):
    for client, patient in waiters:
        make_entry(client, patient, consultation, earliest=DAY)
    with django_capture_on_commit_callbacks(execute=True):
        release = services.offer_free_slot(
            service=consultation, practitioner=dubois, starts_at=at(9), by_user=None
        )
    assert Offer.objects.count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert next_wave.call(release.pk, 2) == 2
        assert next_wave.call(release.pk, 2) == 0  # a duplicate task does nothing
    assert sorted(Offer.objects.values_list("wave", flat=True)) == [1, 1, 1, 2, 2]
    assert notify.offer.call_count == 5


def test_it_matches_practitioner_window_days_and_times_of_day(
    now, consultation, dubois, fontaine, waiters, notify
):
    (a, pa), (b, pb), (c, pc), (d, pd), (e, pe) = waiters
    make_entry(a, pa, consultation, earliest=DAY, practitioner=fontaine)  # other vet
    make_entry(b, pb, consultation, earliest=DAY + timedelta(days=1))  # window starts later
    make_entry(c, pc, consultation, earliest=DAY, weekdays=1 << 1)  # Tuesdays only
    make_entry(d, pd, consultation, earliest=DAY, times=Times.MORNING)  # mornings only
    fits = make_entry(e, pe, consultation, earliest=DAY, times=Times.AFTERNOON)
    release = services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(14, 30), by_user=None
    )
    assert list(release.offers.values_list("entry_id", flat=True)) == [fits.pk]


def test_it_skips_a_client_with_an_overlapping_appointment_and_offers_once_per_client(
    now, consultation, dubois, fontaine, waiters, notify
):
    (a, pa), (b, pb), *_ = waiters
    make_entry(a, pa, consultation, earliest=DAY)
    _book(a, pa, consultation, fontaine, at(14, 15))  # Anna is busy at the same time
    second = factories_patient(b)
    make_entry(b, pb, consultation, earliest=DAY)
    make_entry(b, second, consultation, earliest=DAY)
    release = services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(14, 30), by_user=None
    )
    assert list(release.offers.values_list("client_id", flat=True)) == [b.pk]


def factories_patient(client):
    from tests import factories

    return factories.make_patient(client, name="Second dog")


def test_fit_ranking_prefers_who_asked_for_this_vet_then_the_nearest_deadline(
    now, settings, consultation, dubois, waiters, notify
):
    settings.WAITLIST_RANKING = "fit"
    settings.WAITLIST_WAVE_SIZE = 2
    (a, pa), (b, pb), (c, pc), *_ = waiters
    make_entry(a, pa, consultation, earliest=DAY, latest=DAY + timedelta(days=20))
    make_entry(b, pb, consultation, earliest=DAY, latest=DAY + timedelta(days=3))
    make_entry(c, pc, consultation, earliest=DAY, practitioner=dubois)
    release = services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(10), by_user=None
    )
    assert list(release.offers.order_by("pk").values_list("client_id", flat=True)) == [c.pk, b.pk]


def test_a_slot_inside_the_minimum_notice_is_recorded_but_not_offered(
    now,
    rules,
    consultation,
    dubois,
    filou,
    client_user,
    waiters,
    notify,
    django_capture_on_commit_callbacks,
):
    client, patient = waiters[0]
    make_entry(client, patient, consultation, earliest=NOW.date())
    soon = NOW + rules.min_notice - timedelta(minutes=30)
    appointment = _book(client_user.client, filou, consultation, dubois, soon)
    _cancel(appointment, django_capture_on_commit_callbacks)
    assert Release.objects.get().status == Release.Status.LAPSED
    assert not Offer.objects.exists()


def test_waves_stop_when_the_slot_enters_the_minimum_notice(
    rules, consultation, dubois, waiters, notify, django_capture_on_commit_callbacks
):
    import time_machine

    for client, patient in waiters:
        make_entry(client, patient, consultation, earliest=DAY)
    with time_machine.travel(at(9) - rules.min_notice - timedelta(minutes=30), tick=False):
        release = services.offer_free_slot(
            service=consultation, practitioner=dubois, starts_at=at(9), by_user=None
        )
    notify.wave.assert_not_called()  # the next wave would come inside the notice
    with time_machine.travel(at(9) - rules.min_notice + timedelta(minutes=1), tick=False):
        assert services.send_wave(release.pk, 2) == []
    release.refresh_from_db()
    assert release.status == Release.Status.LAPSED


def test_a_slot_staff_keep_free_is_not_offered_when_cancelled(
    now,
    consultation,
    dubois,
    filou,
    client_user,
    waiters,
    notify,
    reception,
    django_capture_on_commit_callbacks,
):
    client, patient = waiters[0]
    make_entry(client, patient, consultation, earliest=DAY)
    services.hold_slot(
        practitioner=dubois, service=consultation, starts_at=at(14), by_user=reception
    )
    appointment = _book(client_user.client, filou, consultation, dubois, at(14, 15))
    _cancel(appointment, django_capture_on_commit_callbacks)
    release = Release.objects.exclude(status=Release.Status.HELD).get()
    assert release.status == Release.Status.WITHDRAWN
    assert not Offer.objects.exists()


def test_withdrawing_an_open_slot_ends_its_offers(now, consultation, dubois, waiters, notify):
    client, patient = waiters[0]
    make_entry(client, patient, consultation, earliest=DAY)
    release = services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(9), by_user=None
    )
    assert services.withdraw(release) is True
    assert services.withdraw(release) is False
    assert list(release.offers.values_list("status", flat=True)) == [Offer.Status.ENDED]
    assert services.send_wave(release.pk, 2) == []


def test_a_moved_appointment_releases_its_old_time(
    now,
    consultation,
    dubois,
    filou,
    client_user,
    waiters,
    notify,
    django_capture_on_commit_callbacks,
):
    client, patient = waiters[0]
    make_entry(client, patient, consultation, earliest=DAY)
    appointment = _book(client_user.client, filou, consultation, dubois, at(15))
    with django_capture_on_commit_callbacks(execute=True):
        booking.move(appointment, starts_at=at(16), by_user=None, by_clinic=True)
    release = Release.objects.get()
    assert (release.source, release.starts_at) == (Release.Source.MOVED, at(15))
    assert release.offers.count() == 1


def test_the_matching_query_count_does_not_grow_with_the_list(
    now, consultation, dubois, waiters, notify, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests import factories

    for client, patient in waiters:
        make_entry(client, patient, consultation, earliest=DAY)
    with CaptureQueriesContext(connection) as few:
        services.offer_free_slot(
            service=consultation, practitioner=dubois, starts_at=at(9), by_user=None
        )
    for index in range(30):
        user = factories.make_client_user(first_name=f"More{index}")
        make_entry(user.client, factories.make_patient(user), consultation, earliest=DAY)
    with django_assert_max_num_queries(len(few)):
        services.offer_free_slot(
            service=consultation, practitioner=dubois, starts_at=at(10), by_user=None
        )


def test_entries_expire_after_their_window(now, consultation, waiters):
    client, patient = waiters[0]
    old = make_entry(
        client,
        patient,
        consultation,
        earliest=DAY - timedelta(days=10),
        latest=NOW.date() - timedelta(days=1),
    )
    current = make_entry(client, patient, consultation, earliest=DAY)
    assert services.expire_entries() == 1
    old.refresh_from_db()
    current.refresh_from_db()
    assert (old.status, current.status) == (Entry.Status.EXPIRED, Entry.Status.WAITING)


def test_the_subject_checker_drops_offers_for_gone_slots(
    now, consultation, dubois, waiters, notify, filou, client_user
):
    client, patient = waiters[0]
    make_entry(client, patient, consultation, earliest=DAY)
    release = services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(9), by_user=None
    )
    offer = release.offers.get()
    assert services.offer_still_valid(offer.pk, 1) is True
    # Booked by phone meanwhile: the late SMS must not go.
    appointment = _book(client_user.client, filou, consultation, dubois, at(9))
    assert services.offer_still_valid(offer.pk, 1) is False
    appointment.status = Appointment.Status.CANCELLED
    appointment.save(update_fields=["status"])
    services.withdraw(release)
    assert services.offer_still_valid(offer.pk, 1) is False


def test_figures_count_released_refilled_time_and_offers(
    now, consultation, dubois, waiters, notify
):
    import time_machine

    for client, patient in waiters:
        make_entry(client, patient, consultation, earliest=DAY)
    first = services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(9), by_user=None
    )
    services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(10), by_user=None
    )
    with time_machine.travel(NOW + timedelta(minutes=12), tick=False):
        services.claim(first.offers.order_by("pk").first())
    figures = services.figures(since=NOW - timedelta(days=1))
    assert (figures.released, figures.refilled) == (2, 1)
    assert figures.median_minutes == 12
    assert figures.offers_per_refill == 3


def test_a_release_also_ends_entries_whose_window_is_over(
    now,
    consultation,
    dubois,
    filou,
    client_user,
    waiters,
    notify,
    django_capture_on_commit_callbacks,
):
    client, patient = waiters[0]
    old = make_entry(
        client,
        patient,
        consultation,
        earliest=NOW.date() - timedelta(days=9),
        latest=NOW.date() - timedelta(days=2),
    )
    appointment = _book(client_user.client, filou, consultation, dubois, at(14))
    _cancel(appointment, django_capture_on_commit_callbacks)
    old.refresh_from_db()
    assert old.status == Entry.Status.EXPIRED


def test_the_next_wave_is_queued_for_later_in_the_task_backend(now, consultation, dubois):
    from django_tasks_db.models import DBTaskResult

    services._enqueue_wave(41, 2, NOW + timedelta(minutes=20))
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "waitlist.tasks.next_wave"
    assert queued.run_after == NOW + timedelta(minutes=20)
    assert queued.args_kwargs["args"] == [41, 2]
