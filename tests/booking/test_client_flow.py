"""The client's booking flow through the views: choose, see free days and slots, book, cancel."""

from datetime import timedelta

import pytest
from django.urls import reverse

from booking.models import Appointment
from tests import factories
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at, make_appointment, make_service

# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")


def stamp(dt) -> str:
    return str(int(dt.timestamp()))


def test_it_shows_days_with_free_slots_and_the_slots_of_the_first_one(
    as_client, filou, consultation, django_assert_max_num_queries
):
    # Constant whatever the number of days, slots or appointments: session and 2FA (5), the
    # choices (6), the engine's inputs read once for the whole horizon (5, and the slots held
    # for newcomers: 1, never cached), the form's selects.
    with django_assert_max_num_queries(24):
        response = as_client.get(reverse("booking:new"), {"service": "consultation"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-free="yes"' in html
    assert "Next free day" in html
    # Notice is 2 h: the first slot today is at 12:00... the range ends 12:00, so 14:00.
    assert ">14:00<" in html


def test_the_slot_partial_answers_htmx_with_bounded_queries(
    as_client, filou, consultation, django_assert_max_num_queries, client_user, dubois
):
    for hour in (9, 10, 11):
        make_appointment(
            client=client_user.client,
            patient=filou,
            service=consultation,
            practitioner=dubois,
            starts_at=at(DAY, hour),
        )
    with django_assert_max_num_queries(20):  # 19, and the slots held for newcomers
        response = as_client.get(
            reverse("booking:new"),
            {"service": "consultation", "patient": filou.pk, "day": DAY.isoformat()},
            headers={"HX-Request": "true"},
        )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="availability"')
    assert "<html" not in html
    assert ">09:00<" in html  # Fontaine is still free


def test_it_preselects_patient_and_service_from_a_care_reminder(
    as_client, client_user, filou, site, dubois
):
    make_service(site, [dubois], slug="vaccination", name="Vaccination", duration=15)
    other = __import__("tests.factories", fromlist=["make_patient"]).make_patient(
        client_user, name="Pistache", species="cat"
    )
    response = as_client.get(
        reverse("booking:new"), {"patient": other.pk, "service": "vaccination"}
    )
    form = response.context["form"]
    assert form.cleaned_data["patient"] == other
    assert form.cleaned_data["service"].slug == "vaccination"


def test_a_foreign_patient_or_an_unknown_service_is_a_404(
    as_client, filou, strangers_cat, consultation
):
    assert as_client.get(reverse("booking:new"), {"patient": strangers_cat.pk}).status_code == 404
    assert as_client.get(reverse("booking:new"), {"service": "nope"}).status_code == 404
    assert as_client.get(reverse("booking:new"), {"patient": "x"}).status_code == 404


def test_a_phone_only_service_says_to_call(as_client, filou, site, dubois, consultation):
    make_service(site, [dubois], slug="surgery-consult", name="Surgery consult", online=False)
    response = as_client.get(reverse("booking:new"), {"service": "surgery-consult"})
    assert b"booked by phone" in response.content


def test_it_books_the_confirmed_slot_once_even_when_submitted_twice(
    as_client, client_user, filou, consultation, notify
):
    start = at(DAY, 9)
    page = as_client.get(
        reverse("booking:confirm"),
        {"patient": filou.pk, "service": "consultation", "start": stamp(start)},
    )
    assert page.status_code == 200
    key = page.context["form"]["request_key"].value()
    data = {
        "patient": filou.pk,
        "service": "consultation",
        "start": stamp(start),
        "reason": "Limping",
        "request_key": key,
    }
    first = as_client.post(reverse("booking:confirm"), data)
    second = as_client.post(reverse("booking:confirm"), data)
    appointment = Appointment.objects.get()
    assert first.url == second.url == reverse("booking:detail", args=[appointment.pk])
    assert appointment.reason == "Limping"
    assert appointment.client == client_user.client
    detail = as_client.get(first.url)
    assert reverse("booking:ics", args=[appointment.pk]).encode() in detail.content
    ics = as_client.get(reverse("booking:ics", args=[appointment.pk]))
    assert ics["Content-Type"].startswith("text/calendar")
    assert b"DTSTART:20260601T070000Z\r\n" in ics.content


def test_a_taken_slot_offers_the_nearest_free_ones(
    as_client, other_client_user, strangers_cat, filou, consultation, dubois, fontaine
):
    # The stranger's two cats, one with each vet (one animal cannot be booked twice at once).
    cats = [strangers_cat, factories.make_patient(other_client_user, name="Minou", species="cat")]
    for vet, cat in zip((dubois, fontaine), cats, strict=True):
        make_appointment(
            client=other_client_user.client,
            patient=cat,
            service=consultation,
            practitioner=vet,
            starts_at=at(DAY, 9),
        )
    response = as_client.post(
        reverse("booking:confirm"),
        {
            "patient": filou.pk,
            "service": "consultation",
            "start": stamp(at(DAY, 9)),
            "request_key": "k",
        },
    )
    assert response.status_code == 409
    assert b"This slot was just taken" in response.content
    assert b"09:30" in response.content
    assert Appointment.objects.count() == 2


@pytest.mark.parametrize(
    "start",
    [
        at(DAY - timedelta(days=4), 9),  # past
        at(DAY, 13),  # lunch break
        at(DAY + timedelta(days=90), 9),  # beyond the horizon
        NOW + timedelta(minutes=30),  # inside the notice
    ],
)
def test_bad_slots_are_refused_with_a_message_and_no_row(as_client, filou, consultation, start):
    response = as_client.post(
        reverse("booking:confirm"),
        {"patient": filou.pk, "service": "consultation", "start": stamp(start), "request_key": "k"},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Appointment.objects.exists()


def test_tampered_ids_in_the_booking_post_are_404(
    as_client, filou, strangers_cat, consultation, site, dubois
):
    phone_only = make_service(site, [dubois], slug="surgery-consult", online=False)
    base = {
        "patient": filou.pk,
        "service": "consultation",
        "start": stamp(at(DAY, 9)),
        "request_key": "k",
    }
    for change in (
        {"patient": strangers_cat.pk},
        {"service": phone_only.slug},
        {"practitioner": 999},
        {"patient": "abc"},
    ):
        assert as_client.post(reverse("booking:confirm"), {**base, **change}).status_code == 404
    assert not Appointment.objects.exists()


def test_a_forged_post_without_csrf_is_refused(client_user, filou, consultation):
    from django.test import Client as HttpClient

    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(client_user)
    response = http.post(
        reverse("booking:confirm"),
        {"patient": filou.pk, "service": "consultation", "start": stamp(at(DAY, 9))},
    )
    assert response.status_code == 403
    assert not Appointment.objects.exists()


def test_my_appointments_lists_upcoming_and_past_with_bounded_queries(
    as_client, client_user, filou, consultation, dubois, django_assert_max_num_queries
):
    for days in (-10, -3, 3, 5, 8):
        make_appointment(
            client=client_user.client,
            patient=filou,
            service=consultation,
            practitioner=dubois,
            starts_at=at(DAY + timedelta(days=days), 9),
        )
    with django_assert_max_num_queries(10):
        response = as_client.get(reverse("booking:mine"))
    assert len(response.context["upcoming"]) == 3
    assert len(response.context["past"]) == 2


def test_the_client_cancels_before_the_cut_off_but_not_after(
    as_client, client_user, filou, consultation, dubois, notify
):
    soon = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=NOW + timedelta(hours=5),
    )
    later = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )
    as_client.post(reverse("booking:cancel", args=[soon.pk]), {"reason": ""})
    as_client.post(reverse("booking:cancel", args=[later.pk]), {"reason": "Better"})
    soon.refresh_from_db()
    later.refresh_from_db()
    assert soon.status == "booked"
    assert later.status == "cancelled"
    assert later.version == 2
    assert b"call the clinic" in as_client.get(reverse("booking:detail", args=[soon.pk])).content


def test_the_client_moves_an_appointment(
    as_client, client_user, filou, consultation, dubois, notify
):
    appointment = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )
    page = as_client.get(reverse("booking:move", args=[appointment.pk]), {"day": DAY.isoformat()})
    assert page.status_code == 200
    assert b">09:30<" in page.content
    response = as_client.post(
        reverse("booking:move", args=[appointment.pk]), {"start": stamp(at(DAY, 10))}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == at(DAY, 10)
    assert appointment.version == 2


@pytest.mark.parametrize("name", ["detail", "cancel", "move", "ics"])
def test_another_clients_appointment_is_a_404(
    as_other_client, client_user, filou, consultation, dubois, name
):
    appointment = make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )
    url = reverse(f"booking:{name}", args=[appointment.pk])
    assert as_other_client.get(url).status_code == 404
    if name in ("cancel", "move"):
        assert as_other_client.post(url, {"start": stamp(at(DAY, 10))}).status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert appointment.version == 1


def test_the_dashboard_panel_shows_the_next_appointments_and_a_book_button(
    as_client, client_user, filou, consultation, dubois
):
    make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )
    html = as_client.get(reverse("portal:home")).content.decode()
    assert "Filou" in html
    assert reverse("booking:new") in html


def test_staff_cannot_use_the_client_flow(as_reception, consultation):
    assert as_reception.get(reverse("booking:new")).status_code == 403


def test_the_site_choice_shows_only_when_there_are_several(as_client, filou, consultation):
    assert b'id="id_site"' not in as_client.get(reverse("booking:new")).content
    from tests import factories

    factories.make_site(name="Annexe")
    assert b'id="id_site"' in as_client.get(reverse("booking:new")).content
