"""A closure or a time off over booked appointments: listed before saving, cancelled with the
clients told (and nothing offered to the waitlist), or kept and flagged "to move" in the agenda."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from booking.models import Appointment, Closure, TimeOff
from notifications.models import Notification
from tests import factories
from tests.booking.conftest import DAY
from tests.booking.factories import at, make_appointment
from waitlist.models import Release

# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def with_fontaine(other_client_user, strangers_cat, consultation, fontaine):
    return make_appointment(
        client=other_client_user.client,
        patient=strangers_cat,
        service=consultation,
        practitioner=fontaine,
        starts_at=at(DAY, 15),
    )


def closure_post(**extra) -> dict:
    return {
        "kind": "closure",
        "closure-start": DAY.isoformat(),
        "closure-end": DAY.isoformat(),
        "closure-label": "Inondation",
        **extra,
    }


def time_off_post(practitioner, **extra) -> dict:
    return {
        "kind": "timeoff",
        "timeoff-practitioner": practitioner.pk,
        "timeoff-start": f"{DAY.isoformat()}T08:00",
        "timeoff-end": f"{DAY.isoformat()}T12:00",
        "timeoff-reason": "Formation",
        **extra,
    }


def test_it_lists_the_booked_appointments_a_closure_covers_before_saving(
    as_reception, booked, with_fontaine
):
    response = as_reception.post(reverse("booking:hours"), closure_post())
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 booked appointments fall inside it. Nothing is saved yet." in html
    assert "Filou" in html
    assert "Camille Martin" in html
    assert "Mistigri" in html
    assert "Bruno Lambert" in html
    assert "Monday 1 June 2026, 09:00" in html
    assert "Monday 1 June 2026, 15:00" in html
    assert not Closure.objects.exists()
    booked.refresh_from_db()
    assert booked.status == "booked"


def test_it_cancels_them_with_the_closures_reason_tells_the_clients_and_offers_nothing(
    as_reception, booked, with_fontaine, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_reception.post(
            reverse("booking:hours"),
            closure_post(then="cancel", appointment=[booked.pk, with_fontaine.pk]),
        )
    assert response.status_code == 302
    closure = Closure.objects.get()
    assert closure.label == "Inondation"
    for appointment in (booked, with_fontaine):
        appointment.refresh_from_db()
        assert appointment.status == "cancelled"
        assert appointment.cancel_reason == "Inondation"
        assert appointment.cancelled_by_clinic
        assert appointment.version == 2
    notices = Notification.objects.filter(kind="appointment_cancelled")
    assert {n.client_id for n in notices} == {booked.client_id, with_fontaine.client_id}
    assert all(n.urgent for n in notices)
    # Inside the closure the slots cannot be booked: offering them would be a false promise.
    assert not Release.objects.exists()


def test_it_cancels_only_the_ticked_ones_and_keeps_one_booked_since_the_list(
    as_reception, booked, with_fontaine, notify
):
    response = as_reception.post(
        reverse("booking:hours"), closure_post(then="cancel", appointment=[booked.pk])
    )
    closure = Closure.objects.get()
    assert response.url == reverse("booking:absence", args=["closure", closure.pk])
    booked.refresh_from_db()
    with_fontaine.refresh_from_db()
    assert booked.status == "cancelled"
    assert with_fontaine.status == "booked"
    page = as_reception.get(response.url).content.decode()
    assert "1 appointment is still booked inside it" in page
    assert "Mistigri" in page
    assert reverse("booking:staff_move", args=[with_fontaine.pk]) in page


def test_kept_appointments_are_flagged_to_move_under_the_agendas_closure_banner(
    as_reception, booked, notify
):
    as_reception.post(reverse("booking:hours"), closure_post(then="keep"))
    booked.refresh_from_db()
    assert booked.status == "booked"
    for view in ("day", "week"):
        html = as_reception.get(
            reverse("booking:agenda"), {"day": DAY.isoformat(), "view": view}
        ).content.decode()
        assert "Clinic closed: Inondation" in html
        assert html.count('data-testid="closure"') == 1
        row = html[html.index(f'id="appointment-{booked.pk}"') :]
        row = row[: row.index("</article>")]
        assert "To move" in row
        assert reverse("booking:staff_move", args=[booked.pk]) in row
    other_day = as_reception.get(
        reverse("booking:agenda"), {"day": (DAY + timedelta(days=1)).isoformat()}
    ).content.decode()
    assert "Clinic closed" not in other_day


def test_the_absence_page_cancels_what_is_still_booked(
    as_reception, booked, notify, django_capture_on_commit_callbacks
):
    closure = Closure.objects.create(start=DAY, end=DAY, label="")
    url = reverse("booking:absence", args=["closure", closure.pk])
    assert "Filou" in as_reception.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        as_reception.post(url, {"appointment": [booked.pk]})
    booked.refresh_from_db()
    assert booked.status == "cancelled"
    assert booked.cancel_reason == "Clinic closed"
    notify.cancelled.assert_called_once()
    assert notify.cancelled.call_args.kwargs == {"by_clinic": True}
    assert "No appointment is booked inside it any more" in as_reception.get(url).content.decode()


def test_a_time_off_lists_only_that_vets_appointments_and_shows_on_their_rows(
    as_reception, booked, with_fontaine, dubois, notify
):
    listing = as_reception.post(reverse("booking:hours"), time_off_post(dubois)).content.decode()
    assert "1 booked appointment falls inside it" in listing
    assert "Filou" in listing
    assert "Mistigri" not in listing
    assert not TimeOff.objects.exists()
    as_reception.post(reverse("booking:hours"), time_off_post(dubois, then="keep"))
    assert TimeOff.objects.get().practitioner == dubois
    html = as_reception.get(reverse("booking:agenda"), {"day": DAY.isoformat()}).content.decode()
    assert "Dr Dubois away" in html
    assert "Monday 1 June 2026, from 08:00 to 12:00" in html
    assert "Clinic closed" not in html
    dubois_row = html[html.index(f'id="appointment-{booked.pk}"') :]
    assert "To move" in dubois_row[: dubois_row.index("</article>")]
    fontaine_row = html[html.index(f'id="appointment-{with_fontaine.pk}"') :]
    assert "To move" not in fontaine_row[: fontaine_row.index("</article>")]


def test_a_closure_over_no_appointment_is_saved_at_once(as_reception, booked):
    later = (DAY + timedelta(days=7)).isoformat()
    response = as_reception.post(
        reverse("booking:hours"),
        closure_post(**{"closure-start": later, "closure-end": later}),
    )
    assert response.status_code == 302
    assert response.url == reverse("booking:hours")
    assert Closure.objects.count() == 1


def test_nothing_is_saved_on_a_bad_form(as_reception, booked):
    response = as_reception.post(
        reverse("booking:hours"),
        closure_post(
            then="cancel",
            appointment=[booked.pk],
            **{"closure-end": (DAY - timedelta(days=1)).isoformat()},
        ),
    )
    assert response.status_code == 400
    assert b"The end must not be before the start" in response.content
    assert not Closure.objects.exists()
    booked.refresh_from_db()
    assert booked.status == "booked"


def test_strangers_get_403_and_unknown_absences_404(
    as_client, as_other_client, as_reception, booked
):
    closure = Closure.objects.create(start=DAY, end=DAY, label="")
    url = reverse("booking:absence", args=["closure", closure.pk])
    for http in (as_client, as_other_client):
        assert http.get(url).status_code == 403
        assert http.post(url, {"appointment": [booked.pk]}).status_code == 403
        assert http.post(reverse("booking:hours"), closure_post(then="cancel")).status_code == 403
    booked.refresh_from_db()
    assert booked.status == "booked"
    assert Closure.objects.count() == 1
    assert as_reception.get(reverse("booking:absence", args=["closure", 999])).status_code == 404
    assert (
        as_reception.get(reverse("booking:absence", args=["holiday", closure.pk])).status_code
        == 404
    )


def test_an_appointment_already_under_way_is_not_listed(reception, booked, with_fontaine):
    with time_machine.travel(at(DAY, 9, 10), tick=False):
        http = factories.verified_http_client(reception)
        html = http.post(reverse("booking:hours"), closure_post()).content.decode()
    assert "1 booked appointment falls inside it" in html
    assert "Mistigri" in html
    assert "Filou" not in html


def test_the_agenda_stays_bounded_with_closures_and_time_off(
    as_reception,
    client_user,
    filou,
    consultation,
    dubois,
    fontaine,
    django_assert_max_num_queries,
):
    # Two animals: one animal cannot be in two appointments at once (PostgreSQL refuses it).
    animals = {dubois: filou, fontaine: factories.make_patient(client_user, name="Pistache")}
    for hour in range(9, 12):
        for vet in (dubois, fontaine):
            make_appointment(
                client=client_user.client,
                patient=animals[vet],
                service=consultation,
                practitioner=vet,
                starts_at=at(DAY, hour),
            )
    for offset in range(3):
        day = DAY + timedelta(days=offset)
        Closure.objects.create(start=day, end=day, label=f"Fermé {offset}")
        for vet in (dubois, fontaine):
            TimeOff.objects.create(practitioner=vet, start=at(day, 8), end=at(day, 10))
    # The day shows every vet; a week is one vet's (the grid, #15): each vet's week in turn.
    for view, vet, expected in (("day", None, 6), ("week", dubois, 3), ("week", fontaine, 3)):
        params = {"day": DAY.isoformat(), "view": view}
        if vet is not None:
            params["practitioner"] = vet.pk
        # 10, and the duties table on a cold cache (#11)
        with django_assert_max_num_queries(11):
            response = as_reception.get(reverse("booking:agenda"), params)
        html = response.content.decode()
        assert html.count('id="appointment-') == expected
        assert html.count("To move") == expected
        assert html.count('data-testid="closure"') == (3 if view == "week" else 1)
    assert Appointment.objects.filter(status="booked").count() == 6
