"""The waitlist's pages through the views: clients, the offer link, staff; strangers get 404."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from booking.models import Appointment
from portal.lib.links import make_token
from tests import factories
from tests.booking.factories import make_appointment
from tests.waitlist.conftest import DAY, NOW, at
from tests.waitlist.factories import make_entry
from waitlist import services
from waitlist.models import OFFER_LINK_PURPOSE, Entry, Offer, Release

pytestmark = pytest.mark.django_db

JOIN = reverse("waitlist:join")


def _join_data(patient, **extra):
    data = {
        "patient": patient.pk,
        "service": "consultation",
        "practitioner": "",
        "earliest": DAY.isoformat(),
        "latest": (DAY + timedelta(days=10)).isoformat(),
        "times": ["1", "2"],
        "weekdays": ["1", "2", "4", "8", "16"],
    }
    data.update(extra)
    return data


# --- joining and leaving -------------------------------------------------------------------------


def test_it_prefills_the_join_form_from_the_booking_flow(now, as_client, filou, consultation):
    page = as_client.get(JOIN, {"patient": filou.pk, "service": "consultation"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Tell me when something opens" in html
    assert f'<option value="{filou.pk}" selected' in html
    assert '<option value="consultation" selected' in html


def test_it_puts_the_client_on_the_list(now, as_client, client_user, filou, consultation, dubois):
    page = as_client.post(JOIN, _join_data(filou, practitioner=dubois.pk))
    assert page.status_code == 302
    entry = Entry.objects.get()
    assert (entry.client, entry.patient, entry.practitioner) == (client_user.client, filou, dubois)
    assert (entry.times, entry.weekdays) == (3, 31)
    listing = as_client.get(reverse("waitlist:mine"))
    assert "Filou" in listing.content.decode()
    assert "Leave the list for Filou" in listing.content.decode()


def test_another_clients_animal_gives_404_and_writes_nothing(
    now, as_client, strangers_cat, consultation
):
    assert as_client.get(JOIN, {"patient": strangers_cat.pk}).status_code == 404
    assert as_client.post(JOIN, _join_data(strangers_cat)).status_code == 404
    assert as_client.get(JOIN, {"patient": "x1"}).status_code == 404
    assert not Entry.objects.exists()


def test_bad_dates_and_no_ticks_show_field_errors_and_write_nothing(
    now, as_client, filou, consultation
):
    data = _join_data(
        filou,
        earliest=(NOW.date() - timedelta(days=1)).isoformat(),
        latest=(NOW.date() - timedelta(days=3)).isoformat(),
        times=[],
        weekdays=[],
    )
    page = as_client.post(JOIN, data)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Choose today or a later day." in html
    assert "The end of the period is before its start." in html
    assert "Tick at least one time of day." in html
    assert "Tick at least one day." in html
    assert not Entry.objects.exists()


def test_leaving_works_for_the_owner_only(
    now, as_client, as_other_client, client_user, filou, consultation
):
    entry = make_entry(client_user.client, filou, consultation, earliest=DAY)
    url = reverse("waitlist:leave", args=[entry.pk])
    assert as_other_client.post(url).status_code == 404
    entry.refresh_from_db()
    assert entry.status == Entry.Status.WAITING
    assert as_client.post(url).status_code == 302
    entry.refresh_from_db()
    assert entry.status == Entry.Status.LEFT


def test_staff_and_anonymous_cannot_use_client_pages(now, client, as_reception):
    assert client.get(JOIN).status_code == 302
    assert as_reception.get(JOIN).status_code == 403


def test_my_waitlist_queries_stay_bounded(
    now, as_client, client_user, filou, consultation, dubois, django_assert_max_num_queries
):
    for index in range(15):
        make_entry(
            client_user.client,
            filou,
            consultation,
            earliest=DAY + timedelta(days=index),
            practitioner=dubois,
        )
    with django_assert_max_num_queries(8):
        page = as_client.get(reverse("waitlist:mine"))
    assert page.content.decode().count("Leave the list for Filou") == 15


# --- earlier slot --------------------------------------------------------------------------------


@pytest.fixture
def later(client_user, filou, consultation, dubois):
    return make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(10, day=DAY + timedelta(days=7)),
    )


def test_an_earlier_slot_request_is_tied_to_the_appointment(now, as_client, later):
    url = reverse("waitlist:earlier")
    assert as_client.get(url, {"appointment": later.pk}).status_code == 200
    page = as_client.post(
        url,
        {"appointment": later.pk, "times": ["1"], "weekdays": ["1"], "same_practitioner": "on"},
    )
    assert page.status_code == 302
    entry = Entry.objects.get()
    assert (entry.appointment, entry.practitioner_id) == (later, later.practitioner_id)
    assert entry.latest == later.starts_at.date()


def test_someone_elses_appointment_gives_404(now, as_other_client, later):
    url = reverse("waitlist:earlier")
    assert as_other_client.get(url, {"appointment": later.pk}).status_code == 404
    assert (
        as_other_client.post(
            url, {"appointment": later.pk, "times": ["1"], "weekdays": ["1"]}
        ).status_code
        == 404
    )
    assert not Entry.objects.exists()


# --- the offer link ------------------------------------------------------------------------------


@pytest.fixture
def offers(now, consultation, dubois, waiters, notify):
    for client, patient in waiters[:2]:
        make_entry(client, patient, consultation, earliest=DAY)
    release = services.offer_free_slot(
        service=consultation, practitioner=dubois, starts_at=at(14, 30), by_user=None
    )
    return list(release.offers.select_related("release").order_by("pk"))


def _path(offer):
    return reverse("waitlist:offer", args=[offer.token()])


def test_the_link_shows_the_slot_and_one_button_and_the_first_post_books(client, offers):
    first, second = offers
    page = client.get(_path(first))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Take it" in html
    assert "Dr Dubois" in html
    assert "14:30" in html
    assert not Appointment.objects.exists()  # a GET changes nothing
    done = client.post(_path(first))
    assert done.status_code == 200
    assert 'data-state="done"' in done.content.decode()
    assert Appointment.objects.get().client_id == first.client_id
    late = client.post(_path(second))
    assert late.status_code == 409
    assert "Already taken" in late.content.decode()
    assert "You stay on the waitlist" in late.content.decode()
    assert Appointment.objects.count() == 1


def test_a_reused_link_says_so(client, offers):
    client.post(_path(offers[0]))
    again = client.post(_path(offers[0]))
    assert 'data-state="used"' in again.content.decode()
    assert Appointment.objects.count() == 1


def test_a_forged_link_gives_a_clear_404(client, offers):
    token = offers[0].token()
    page = client.get(reverse("waitlist:offer", args=[token[:-3] + "abc"]))
    assert page.status_code == 404
    assert "This link is not valid" in page.content.decode()
    # Well signed, but naming another client, or a slot at another time.
    for payload in (
        {"o": offers[0].pk, "c": offers[1].client_id, "r": offers[0].release_id, "t": 1},
        {"o": offers[0].pk, "c": offers[0].client_id, "r": offers[0].release_id, "t": 1},
    ):
        other = make_token(OFFER_LINK_PURPOSE, payload, expires_at=NOW + timedelta(days=1))
        assert client.post(reverse("waitlist:offer", args=[other])).status_code == 404
    assert not Appointment.objects.exists()


def test_an_expired_link_explains_and_books_nothing(client, offers, rules):
    with time_machine.travel(at(14, 30) - rules.min_notice + timedelta(minutes=1), tick=False):
        page = client.post(_path(offers[0]))
    assert page.status_code == 410
    assert "This offer has ended" in page.content.decode()
    assert not Appointment.objects.exists()


def test_someone_else_signed_in_gets_404(offers, as_other_client, as_client):
    assert as_other_client.get(_path(offers[0])).status_code == 404
    assert as_client.post(_path(offers[0])).status_code == 404
    assert not Appointment.objects.exists()


def test_the_owner_signed_in_can_take_it(offers):
    owner = factories.http_client(offers[0].client.user)
    assert 'data-state="done"' in owner.post(_path(offers[0])).content.decode()


def test_own_overlapping_appointment_shows_a_clear_page(client, offers, consultation, fontaine):
    offer = offers[0]
    make_appointment(
        client=offer.client,
        patient=offer.entry.patient,
        service=consultation,
        practitioner=fontaine,
        starts_at=at(14, 30),
    )
    page = client.post(_path(offer))
    assert page.status_code == 409
    assert "You already have an appointment at that time" in page.content.decode()
    assert Appointment.objects.count() == 1


def test_a_withdrawn_slot_link_is_dead(client, offers):
    services.withdraw(offers[0].release)
    page = client.post(_path(offers[0]))
    assert 'data-state="ended"' in page.content.decode()
    assert not Appointment.objects.exists()


# --- staff ---------------------------------------------------------------------------------------


def test_staff_see_entries_offers_and_figures_in_bounded_queries(
    offers, as_reception, waiters, consultation, django_assert_max_num_queries
):
    for client, patient in waiters[2:]:
        make_entry(client, patient, consultation, earliest=DAY)
    with django_assert_max_num_queries(14):
        page = as_reception.get(reverse("waitlist:staff"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Slots released" in html
    assert "Dog of Eve" in html
    assert "wave 1" in html
    assert "Don't offer" in html
    filtered = as_reception.get(reverse("waitlist:staff"), {"service": consultation.pk})
    assert filtered.status_code == 200


def test_clients_cannot_see_staff_pages(now, as_client, offers):
    # `now` first: the session is opened at the frozen "now", not at ACCUEIL_TEST_NOW (a March
    # login would have expired by May).
    assert as_client.get(reverse("waitlist:staff")).status_code == 403
    assert as_client.get(reverse("waitlist:staff_offer")).status_code == 403
    url = reverse("waitlist:staff_withdraw", args=[offers[0].release_id])
    assert as_client.post(url).status_code == 403
    assert Release.objects.get().status == Release.Status.OPEN


def test_staff_offer_a_free_slot_to_one_named_client(
    now, as_reception, waiters, consultation, dubois, notify
):
    (anna, dog), (ben, bens_dog), *_ = waiters
    make_entry(anna, dog, consultation, earliest=DAY)
    ben_entry = make_entry(ben, bens_dog, consultation, earliest=DAY)
    data = {
        "service": consultation.pk,
        "practitioner": dubois.pk,
        "day": DAY.isoformat(),
        "time": "11:00",
        "entry": ben_entry.pk,
        "action": "offer",
    }
    page = as_reception.post(reverse("waitlist:staff_offer"), data)
    assert page.status_code == 302
    offer = Offer.objects.get()
    assert (offer.client, offer.manual) == (ben, True)
    assert notify.offer.call_count == 0 or notify.offer.call_args.kwargs["client_id"] == ben.pk


def test_staff_cannot_offer_a_busy_slot_and_can_keep_one_free(
    now, as_reception, consultation, dubois, client_user, filou
):
    make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(11),
    )
    data = {
        "service": consultation.pk,
        "practitioner": dubois.pk,
        "day": DAY.isoformat(),
        "time": "11:00",
        "action": "offer",
    }
    page = as_reception.post(reverse("waitlist:staff_offer"), data)
    assert page.status_code == 200
    assert "already has an appointment" in page.content.decode()
    assert not Release.objects.exists()
    kept = as_reception.post(
        reverse("waitlist:staff_offer"), dict(data, time="15:00", action="hold")
    )
    assert kept.status_code == 302
    assert Release.objects.get().status == Release.Status.HELD


def test_staff_stop_offering_a_slot(offers, as_reception):
    url = reverse("waitlist:staff_withdraw", args=[offers[0].release_id])
    assert as_reception.post(url).status_code == 302
    assert Release.objects.get().status == Release.Status.WITHDRAWN
    assert as_reception.post(reverse("waitlist:staff_withdraw", args=[999999])).status_code == 404


def test_the_offer_page_speaks_french(offers):
    from django.test import Client as HttpClient

    page = HttpClient(headers={"accept-language": "fr"}).get(_path(offers[0]))
    html = page.content.decode()
    assert "Un créneau vient de se libérer" in html
    assert "Je le prends" in html


def test_the_agenda_links_to_offering_a_free_slot(now, as_reception, dubois):
    page = as_reception.get(reverse("booking:agenda"))
    assert reverse("waitlist:staff_offer") in page.content.decode()
