"""The staff side: agenda, booking by phone, move, cancel, outcomes, hours, rules, feeds."""

from datetime import time, timedelta

import pytest
import time_machine
from django.urls import reverse

from booking.models import Appointment, BookingRules, CalendarFeed, Closure, WeeklyHours
from tests import factories
from tests.booking.conftest import DAY
from tests.booking.factories import at, make_appointment, make_practitioner, make_service

# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")


def stamp(dt) -> str:
    return str(int(dt.timestamp()))


def test_the_day_agenda_lists_appointments_with_bounded_queries(
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
    with django_assert_max_num_queries(11):  # 10, and the duties table on a cold cache (#11)
        response = as_reception.get(reverse("booking:agenda"), {"day": DAY.isoformat()})
    assert response.status_code == 200
    assert response.content.count(b'id="appointment-') == 6
    only = as_reception.get(
        reverse("booking:agenda"), {"day": DAY.isoformat(), "practitioner": dubois.pk}
    )
    assert only.content.count(b'id="appointment-') == 3


def test_the_week_view_and_the_htmx_partial(as_vet, booked, django_assert_max_num_queries):
    with django_assert_max_num_queries(11):  # 10, and the duties table on a cold cache (#11)
        response = as_vet.get(
            reverse("booking:agenda"),
            {"day": DAY.isoformat(), "view": "week"},
            headers={"HX-Request": "true"},
        )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="agenda"')
    assert html.count("<h2>") == 7
    assert "Filou" in html


def test_clients_cannot_see_the_agenda(as_client, booked):
    assert as_client.get(reverse("booking:agenda")).status_code == 403
    url = reverse("booking:staff_appointment", args=[booked.pk])
    assert as_client.get(url).status_code == 403


def test_reception_books_by_phone_in_phone_only_hours(
    as_reception, client_user, filou, site, reception, notify
):
    evening = make_practitioner(site, name="Dr Soir", hours=[(time(18), time(20), False)])
    make_service(site, [evening], slug="consultation")
    page = as_reception.get(
        reverse("booking:staff_book"),
        {"client": client_user.client.pk, "patient": filou.pk, "day": DAY.isoformat()},
    )
    assert page.status_code == 200
    assert b">18:00<" in page.content
    confirm = as_reception.get(
        reverse("booking:staff_book"),
        {
            "client": client_user.client.pk,
            "patient": filou.pk,
            "service": "consultation",
            "start": stamp(at(DAY, 18)),
        },
    )
    key = confirm.context["form"]["request_key"].value()
    response = as_reception.post(
        reverse("booking:staff_book"),
        {
            "client": client_user.client.pk,
            "patient": filou.pk,
            "service": "consultation",
            "start": stamp(at(DAY, 18)),
            "request_key": key,
        },
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.channel == "staff"
    assert appointment.booked_by == reception


def test_an_overlap_is_refused_with_the_conflicting_appointment_shown(
    as_reception, booked, other_client_user, strangers_cat, dubois
):
    response = as_reception.post(
        reverse("booking:staff_book"),
        {
            "client": other_client_user.client.pk,
            "patient": strangers_cat.pk,
            "service": "consultation",
            "practitioner": dubois.pk,
            "start": stamp(at(DAY, 9, 15)),
            "request_key": "x",
        },
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "This slot was just taken" in html
    assert "Filou" in html
    assert "Dr Dubois" in html
    assert Appointment.objects.count() == 1


def test_the_staff_booking_page_finds_clients_and_refuses_foreign_patients(
    as_reception, client_user, strangers_cat, consultation
):
    found = as_reception.get(reverse("booking:staff_book"), {"q": "Camille"})
    assert b"Martin" in found.content
    response = as_reception.get(
        reverse("booking:staff_book"),
        {"client": client_user.client.pk, "patient": strangers_cat.pk},
    )
    assert response.status_code == 404
    assert as_reception.get(reverse("booking:staff_book"), {"client": 9999}).status_code == 404


def test_staff_move_and_cancel_with_a_reason(as_reception, booked, notify):
    response = as_reception.post(
        reverse("booking:staff_move", args=[booked.pk]), {"start": stamp(at(DAY, 16))}
    )
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.starts_at == at(DAY, 16)
    assert booked.version == 2
    refused = as_reception.post(reverse("booking:staff_cancel", args=[booked.pk]), {"reason": ""})
    assert refused.status_code == 400
    as_reception.post(reverse("booking:staff_cancel", args=[booked.pk]), {"reason": "Vet ill"})
    booked.refresh_from_db()
    assert booked.status == "cancelled"
    assert booked.cancel_reason == "Vet ill"
    assert booked.cancelled_by_clinic
    assert booked.version == 3


def test_attended_and_no_show_are_marked_by_hand(as_vet, vet, booked):
    url = reverse("booking:staff_outcome", args=[booked.pk])
    as_vet.post(url, {"status": "attended"})
    booked.refresh_from_db()
    assert booked.status == "booked"  # not before its day
    with time_machine.travel(at(DAY, 9, 5), tick=False):
        as_vet = factories.verified_http_client(vet)  # the old session expired meanwhile
        response = as_vet.post(url, {"status": "no_show"}, headers={"HX-Request": "true"})
        assert b"No-show" in response.content
    booked.refresh_from_db()
    assert booked.status == "no_show"
    assert as_vet.post(url, {"status": "cancelled"}).status_code == 404


def test_a_manager_edits_hours_and_closures_and_bad_input_shows_errors(as_manager, dubois):
    before = WeeklyHours.objects.count()
    response = as_manager.post(
        reverse("booking:hours"),
        {
            "kind": "weekly",
            "weekly-practitioner": dubois.pk,
            "weekly-weekday": 5,
            "weekly-start": "12:00",
            "weekly-end": "09:00",
        },
    )
    assert response.status_code == 400
    assert b"The end must be after the start" in response.content
    as_manager.post(
        reverse("booking:hours"),
        {
            "kind": "weekly",
            "weekly-practitioner": dubois.pk,
            "weekly-weekday": 5,
            "weekly-start": "20:00",
            "weekly-end": "21:00",
            "weekly-online": "on",
        },
    )
    assert WeeklyHours.objects.count() == before + 1
    as_manager.post(
        reverse("booking:hours"),
        {
            "kind": "closure",
            "closure-start": "2026-12-25",
            "closure-end": "2026-12-25",
            "closure-label": "Christmas",
        },
    )
    closure = Closure.objects.get()
    as_manager.post(reverse("booking:hours"), {"kind": "closure", "delete": closure.pk})
    assert not Closure.objects.exists()


def test_only_managers_edit_hours_and_rules(as_reception, as_manager, rules):
    # Reception may see the page for closures and time off (test_staff_rights.py), not hours.
    assert b"Add weekly hours" not in as_reception.get(reverse("booking:hours")).content
    assert as_reception.post(reverse("booking:rules"), {}).status_code == 403
    response = as_manager.post(
        reverse("booking:rules"),
        {
            "horizon_days": 30,
            "min_notice_minutes": 60,
            "slot_step_minutes": 2,
            "cutoff_hours": 12,
            "max_upcoming": 3,
        },
    )
    assert b"At least 5 minutes" in response.content
    as_manager.post(
        reverse("booking:rules"),
        {
            "horizon_days": 30,
            "min_notice_minutes": 60,
            "slot_step_minutes": 10,
            "cutoff_hours": 12,
            "max_upcoming": 3,
        },
    )
    assert BookingRules.current().horizon_days == 30


def test_a_practitioners_private_feed_works_until_revoked(as_vet, booked, dubois, client):
    as_vet.post(reverse("booking:feeds"), {"action": "issue"})
    feed = CalendarFeed.objects.get()
    # The token exists only in the page shown once; issue another to know it here.
    second, token = CalendarFeed.issue(dubois)
    body = client.get(reverse("booking:feed", args=[token])).content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n")
    assert "DTSTART:20260601T070000Z" in body
    as_vet.post(reverse("booking:feeds"), {"feed": second.pk, "action": "revoke"})
    assert client.get(reverse("booking:feed", args=[token])).status_code == 404
    feed.refresh_from_db()
    assert feed.revoked_at is not None


def test_the_staff_dashboard_shows_todays_agenda(reception, booked):
    with time_machine.travel(at(DAY, 8), tick=False):
        html = (
            factories.verified_http_client(reception).get(reverse("portal:home")).content.decode()
        )
    assert "Filou" in html
    assert "09:00" in html


def test_factories_make_a_second_site(clinic):
    assert factories.make_site(name="Other").is_default in (True, False)


def test_a_manager_edits_services_and_others_cannot(as_manager, as_reception, site, dubois):
    assert as_reception.get(reverse("booking:services")).status_code == 403
    bad = as_manager.post(
        reverse("booking:services"),
        {
            "site": site.pk,
            "name": "X",
            "slug": "x",
            "duration_minutes": 2,
            "buffer_minutes": 0,
        },
    )
    assert bad.status_code == 400
    assert b"At least 5 minutes" in bad.content
    as_manager.post(
        reverse("booking:services"),
        {
            "site": site.pk,
            "name": "Dental",
            "slug": "dental",
            "duration_minutes": 45,
            "buffer_minutes": 15,
            "online": "on",
            "practitioners": [dubois.pk],
            "is_active": "on",
        },
    )
    from booking.models import Service

    dental = Service.objects.get(slug="dental")
    assert list(dental.practitioners.all()) == [dubois]
    assert dental.buffer_minutes == 15
    assert as_manager.get(reverse("booking:service_edit", args=[9999])).status_code == 404


# --- "Marquer venu/absent": from the appointment's day on, once, with an undo ----------------


def outcome_buttons(html: str) -> set[str]:
    # The agenda posts `status` to booking:staff_outcome; the appointment page's status actions
    # post `mark` to booking:staff_mark, where "undo_outcome" is the undo.
    marks = {"attended": "attended", "no_show": "no_show", "booked": "undo_outcome"}
    return {
        v
        for v, m in marks.items()
        if f'name="status" value="{v}"' in html or f'name="mark" value="{m}"' in html
    }


def test_outcome_buttons_are_offered_only_from_the_appointments_day_in_the_clinics_zone(
    reception, booked
):
    page = reverse("booking:staff_appointment", args=[booked.pk])
    agenda = reverse("booking:agenda")
    # The evening before, 23:30 Paris: not yet.
    with time_machine.travel(at(DAY - timedelta(days=1), 23, 30), tick=False):
        http = factories.verified_http_client(reception)
        assert outcome_buttons(http.get(page).content.decode()) == set()
        assert outcome_buttons(http.get(agenda, {"day": DAY.isoformat()}).content.decode()) == set()
    # 00:30 Paris on the day (still the day before in UTC): the buttons are offered.
    with time_machine.travel(at(DAY, 0, 30), tick=False):
        http = factories.verified_http_client(reception)
        assert outcome_buttons(http.get(page).content.decode()) == {"attended", "no_show"}
        assert outcome_buttons(http.get(agenda).content.decode()) == {"attended", "no_show"}


def test_a_marked_row_shows_its_outcome_and_an_undo_not_both_buttons(reception, booked):
    booked.status = Appointment.Status.ATTENDED
    booked.save(update_fields=["status"])
    with time_machine.travel(at(DAY, 11), tick=False):
        http = factories.verified_http_client(reception)
        row = http.get(reverse("booking:agenda")).content.decode()
        page = http.get(reverse("booking:staff_appointment", args=[booked.pk])).content.decode()
        undone = http.post(
            reverse("booking:staff_outcome", args=[booked.pk]),
            {"status": "booked"},
            headers={"HX-Request": "true"},
        ).content.decode()
    assert outcome_buttons(row) == {"booked"}
    assert outcome_buttons(page) == {"booked"}
    assert "Attended" in row
    booked.refresh_from_db()
    assert booked.status == "booked"
    assert outcome_buttons(undone) == {"attended", "no_show"}


def test_a_tampered_outcome_post_is_refused_with_a_clear_message(reception, booked):
    url = reverse("booking:staff_outcome", args=[booked.pk])
    http = factories.verified_http_client(reception)
    early = http.post(url, {"status": "attended"}, headers={"HX-Request": "true"})
    assert "An appointment can be marked only from its day on." in early.content.decode()
    booked.refresh_from_db()
    assert booked.status == "booked"
    with time_machine.travel(at(DAY, 11), tick=False):
        http = factories.verified_http_client(reception)
        http.post(url, {"status": "attended"})
        twice = http.post(url, {"status": "no_show"}, headers={"HX-Request": "true"})
        again = http.post(url, {"status": "no_show"}, follow=True)
    booked.refresh_from_db()
    assert booked.status == "attended"
    assert "already marked “Attended”: undo it first." in twice.content.decode()
    assert "already marked “Attended”: undo it first." in again.content.decode()


# --- the appointment page links to the animal's record and to writing the report -------------


def test_the_appointment_page_links_to_the_record_and_the_report(as_vet, booked, filou):
    html = as_vet.get(reverse("booking:staff_appointment", args=[booked.pk])).content.decode()
    record = reverse("records:staff_patient", args=[filou.pk])
    assert f'href="{record}"' in html
    assert f'href="{record}#write-box"' in html
    assert "Filou&#x27;s record" in html or "Filou's record" in html
    assert "Write the report" in html
    record_page = as_vet.get(record)
    assert record_page.status_code == 200
    assert 'id="write-box"' in record_page.content.decode()


# --- French: "lundi 1er juin", "du … au …" ----------------------------------------------------


def test_the_staff_pages_write_dates_the_french_way(as_manager, booked, dubois):
    from booking.models import TimeOff

    TimeOff.objects.create(
        practitioner=dubois, start=at(DAY, 14), end=at(DAY + timedelta(days=1), 12)
    )
    as_manager.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    headers = {"accept-language": "fr"}
    agenda = as_manager.get(
        reverse("booking:agenda"), {"day": DAY.isoformat()}, headers=headers
    ).content.decode()
    assert "<h2>Lundi 1er juin 2026" in agenda
    assert "du lundi 1er juin 2026 14:00 au mardi 2 juin 2026 12:00" in agenda
    hours = as_manager.get(reverse("booking:hours"), headers=headers).content.decode()
    assert "du lundi 1er juin 2026 14:00 au mardi 2 juin 2026 12:00" in hours
    assert "→" not in hours
    assert ">Practitioner<" not in hours
    page = as_manager.get(
        reverse("booking:staff_appointment", args=[booked.pk]), headers=headers
    ).content.decode()
    assert "Statut\u00a0:" in page
    assert "Lundi 1er juin 2026, 09:00" in page
