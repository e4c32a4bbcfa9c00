"""The agenda grid (#15): the pure builder, the page, booking from a free cell, moving onto one,
printing, and a busy day's query budget."""

from datetime import time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from booking import availability as engine
from booking import grid
from booking import slots as slot_reader
from booking.models import Appointment, Closure, ExtraOpening, TimeOff, WeeklyHours
from tests import factories
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at, make_appointment, make_practitioner, make_service

PARIS = ZoneInfo("Europe/Paris")


def stamp(dt) -> str:
    return str(int(dt.timestamp()))


def appt(pk, pid, start, minutes, status="booked", **extra):
    return SimpleNamespace(
        pk=pk,
        practitioner_id=pid,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        status=status,
        confirmed_at=None,
        **extra,
    )


def hours(pid, *ranges):
    return [
        engine.WeeklyRange(pid, DAY.weekday(), time(a), time(b), online) for a, b, online in ranges
    ]


def day_grid(**kwargs):
    defaults = {
        "tz": PARIS,
        "practitioners": [(1, "Dr Dubois"), (2, "Dr Fontaine")],
        "ranges": hours(1, (9, 12, True), (14, 18, True)) + hours(2, (8, 12, True)),
        "extras": [],
        "closed": False,
        "time_off": [],
        "appointments": [],
        "now": NOW,
    }
    defaults.update(kwargs)
    return grid.build_day(DAY, **defaults)


def kind_at(g, column, hh, mm=0):
    minute = hh * 60 + mm
    row = next(r for r in g.rows if r.minute == minute)
    for cell in g.cells_in(column):
        if cell.row <= row.index < cell.row + cell.span:
            return cell.kind
    return None  # under a block


# --- the pure builder ----------------------------------------------------------------------------


def test_it_has_a_column_per_vet_and_15_minute_rows_over_everyones_hours():
    g = day_grid()
    assert [(c.index, c.title) for c in g.columns] == [(1, "Dr Dubois"), (2, "Dr Fontaine")]
    assert g.rows[0].label == "08:00"
    assert g.rows[-1].label == "17:45"
    assert len(g.rows) == 40
    assert all(b.minute - a.minute == 15 for a, b in zip(g.rows, g.rows[1:], strict=False))


def test_breaks_are_shaded_as_one_range_and_open_quarters_are_free_cells():
    g = day_grid()
    assert kind_at(g, 1, 8) == grid.BREAK  # Dubois starts at 9
    assert kind_at(g, 1, 12) == grid.BREAK
    lunch = [c for c in g.cells_in(1) if c.kind == grid.BREAK and c.start.hour == 12]
    assert len(lunch) == 1
    assert lunch[0].span == 8
    free = [c for c in g.cells_in(1) if c.free]
    assert len(free) == (3 + 4) * 4
    assert all(c.span == 1 for c in free)
    assert free[0].start == at(DAY, 9)


def test_an_appointment_is_a_block_spanning_its_duration_and_its_time_is_not_free():
    booked = appt(7, 1, at(DAY, 9, 30), 45)
    g = day_grid(appointments=[booked])
    (block,) = g.blocks
    row_930 = next(r.index for r in g.rows if r.label == "09:30")
    assert (block.column, block.row, block.span) == (1, row_930, 3)
    assert block.status == "booked"
    assert kind_at(g, 1, 9, 30) is None
    assert kind_at(g, 1, 10, 0) is None
    assert kind_at(g, 1, 10, 15) == grid.OPEN


def test_the_appointment_being_moved_does_not_hold_its_own_time():
    booked = appt(7, 1, at(DAY, 9, 30), 45)
    g = day_grid(appointments=[booked], moving=7)
    assert kind_at(g, 1, 9, 45) == grid.OPEN
    assert any(c.free and c.start == at(DAY, 9, 45) for c in g.cells)
    assert len(g.blocks) == 1  # still drawn where it is


def test_the_axis_widens_to_cover_an_appointment_outside_the_hours():
    g = day_grid(appointments=[appt(7, 2, at(DAY, 19, 30), 30)])
    assert g.rows[-1].label == "19:45"
    assert kind_at(g, 2, 18) == grid.BREAK


def test_time_off_closures_and_phone_only_hours_are_told_apart():
    ranges = hours(1, (9, 12, True), (12, 13, False)) + hours(2, (9, 12, True))
    away = [engine.TimeOff(2, at(DAY, 10), at(DAY, 11))]
    g = day_grid(ranges=ranges, time_off=away)
    assert kind_at(g, 1, 12) == grid.PHONE
    assert kind_at(g, 1, 12, 45) == grid.PHONE
    assert kind_at(g, 2, 10) == grid.OFF
    assert kind_at(g, 2, 10, 45) == grid.OFF
    assert kind_at(g, 2, 11) == grid.OPEN
    closed = day_grid(ranges=ranges, closed=True)
    assert {c.kind for c in closed.cells} == {grid.CLOSED}
    assert not any(c.free for c in closed.cells)


def test_an_extra_opening_counts_and_past_quarters_are_not_bookable():
    extra = [engine.ExtraOpening(2, DAY, time(13), time(14))]
    with_extra = day_grid(extras=extra)
    assert kind_at(with_extra, 2, 13) == grid.OPEN
    g = day_grid(now=at(DAY, 10, 5))
    assert not any(c.free and c.start < at(DAY, 10, 5) for c in g.cells)
    assert any(c.free and c.start == at(DAY, 10, 15) for c in g.cells)


def test_the_current_time_line_sits_in_its_row_today_only():
    g = day_grid(now=at(DAY, 10, 40))
    row = next(r.index for r in g.rows if r.label == "10:30")
    assert g.now == grid.NowLine(row, 10)
    assert day_grid(now=NOW).now is None  # another day
    assert day_grid(now=at(DAY, 6)).now is None  # before the axis


def test_overlapping_blocks_sit_side_by_side():
    a = appt(1, 1, at(DAY, 9), 30, status="cancelled")
    b = appt(2, 1, at(DAY, 9), 30)
    c = appt(3, 1, at(DAY, 10), 30)
    g = day_grid(appointments=[a, b, c])
    placed = {blk.appointment.pk: (blk.lane, blk.lanes) for blk in g.blocks}
    assert placed == {1: (0, 2), 2: (1, 2), 3: (0, 1)}
    assert g.blocks[0].status == "cancelled"
    # A cancelled appointment alone does not make its time busy.
    alone = day_grid(appointments=[a])
    assert kind_at(alone, 1, 9, 15) == grid.OPEN


def test_the_status_colour_reads_arrival_and_consultation_when_the_model_has_them():
    assert grid.status_of(appt(1, 1, NOW, 15)) == "booked"
    assert grid.status_of(appt(1, 1, NOW, 15, status="no_show")) == "no_show"
    confirmed = appt(1, 1, NOW, 15)
    confirmed.confirmed_at = NOW
    assert grid.status_of(confirmed) == "confirmed"
    assert grid.status_of(appt(1, 1, NOW, 15, arrived_at=NOW)) == "arrived"
    assert grid.status_of(appt(1, 1, NOW, 15, arrived_at=NOW, consultation_at=NOW)) == (
        "consultation"
    )


def test_a_week_has_a_column_per_day_and_a_closed_day_is_shaded():
    days = [DAY + timedelta(days=i) for i in range(7)]
    g = grid.build_week(
        days,
        tz=PARIS,
        practitioner_id=1,
        ranges=[engine.WeeklyRange(1, d, time(9), time(12)) for d in range(5)],
        extras=[],
        closed_days={DAY + timedelta(days=2)},
        time_off=[],
        appointments=[appt(5, 1, at(DAY + timedelta(days=1), 9), 30)],
        now=at(DAY + timedelta(days=1), 9, 20),
    )
    assert [c.day for c in g.columns] == days
    assert {c.kind for c in g.cells_in(3)} == {grid.CLOSED}
    assert {c.kind for c in g.cells_in(6)} == {grid.BREAK}  # Saturday: no hours
    assert g.blocks[0].column == 2
    assert g.now is not None
    assert g.now.column == 2


def test_nothing_open_and_nothing_booked_shows_eight_to_six():
    g = day_grid(ranges=[])
    assert (g.rows[0].label, g.rows[-1].label) == ("08:00", "17:45")


# --- the page ------------------------------------------------------------------------------------

pytestmark_frozen = pytest.mark.usefixtures("frozen")


@pytestmark_frozen
def test_the_day_grid_shows_blocks_and_free_cells_that_book_there(as_reception, booked, dubois):
    html = as_reception.get(reverse("booking:agenda"), {"day": DAY.isoformat()}).content.decode()
    assert 'id="agenda-grid"' in html
    assert f'data-agenda-day="{DAY.isoformat()}"' in html
    assert 'hx-trigger="agenda-changed from:body"' in html
    assert 'hx-select="#agenda-grid"' in html
    block = html[html.index(f'id="appointment-{booked.pk}"') :]
    block = block[: block.index("</article>")]
    assert "09:00\u201309:30 Filou" in block
    assert "Consultation" in block
    assert "Camille" in block
    assert "status-booked" in html
    book_at_ten = (
        f"{reverse('booking:staff_book')}?start={stamp(at(DAY, 10))}&amp;practitioner={dubois.pk}"
    )
    assert book_at_ten in html
    # Filou's own half-hour is not offered.
    assert f"start={stamp(at(DAY, 9))}&amp;practitioner={dubois.pk}" not in html
    assert html.count('data-testid="free-cell"') > 20


@pytestmark_frozen
def test_cancelled_appointments_show_faded_only_on_demand(as_reception, booked):
    booked.status = Appointment.Status.CANCELLED
    booked.save(update_fields=["status"])
    url = reverse("booking:agenda")
    assert (
        f'id="appointment-{booked.pk}"' not in as_reception.get(url, {"day": DAY}).content.decode()
    )
    html = as_reception.get(url, {"day": DAY, "cancelled": "1"}).content.decode()
    assert f'id="appointment-{booked.pk}" class="appt status-cancelled"' in html
    assert "Hide cancelled" in html


@pytestmark_frozen
def test_the_week_is_one_vets_and_defaults_to_the_first(as_reception, booked, dubois, fontaine):
    html = as_reception.get(
        reverse("booking:agenda"), {"day": DAY.isoformat(), "view": "week"}
    ).content.decode()
    days = " ".join((DAY + timedelta(days=i)).isoformat() for i in range(7))
    assert f'data-agenda-day="{days}"' in html
    assert html.count("<h2>") == 7
    assert f'<option value="{dubois.pk}" selected>' in html
    assert "Filou" in html
    other = as_reception.get(
        reverse("booking:agenda"),
        {"day": DAY.isoformat(), "view": "week", "practitioner": fontaine.pk},
    ).content.decode()
    assert "Filou" not in other


@pytestmark_frozen
def test_hours_changes_show_at_once(as_manager, booked, dubois, django_capture_on_commit_callbacks):
    url = reverse("booking:agenda")
    first = as_manager.get(url, {"day": DAY, "practitioner": dubois.pk}).content.decode()
    assert f"start={stamp(at(DAY, 12, 30))}" not in first
    ExtraOpening.objects.create(practitioner=dubois, date=DAY, start=time(12), end=time(13))
    slot_reader.invalidate()  # what the hours page does after saving
    again = as_manager.get(url, {"day": DAY, "practitioner": dubois.pk}).content.decode()
    assert f"start={stamp(at(DAY, 12, 30))}" in again


@pytestmark_frozen
def test_phone_only_hours_time_off_and_closures_are_marked(as_reception, booked, dubois, fontaine):
    WeeklyHours.objects.create(
        practitioner=dubois, weekday=DAY.weekday(), start=time(12), end=time(13), online=False
    )
    TimeOff.objects.create(practitioner=fontaine, start=at(DAY, 14), end=at(DAY, 16))
    html = as_reception.get(reverse("booking:agenda"), {"day": DAY}).content.decode()
    assert "cell free kind-phone" in html
    assert "(phone-only hours)" in html
    assert "kind-off" in html
    assert ">Away<" in html
    assert "Dr Fontaine away" in html
    Closure.objects.create(start=DAY, end=DAY, label="Inventaire")
    slot_reader.invalidate()
    closed = as_reception.get(reverse("booking:agenda"), {"day": DAY}).content.decode()
    assert "kind-closed" in closed
    assert 'data-testid="free-cell"' not in closed


def test_the_now_line_shows_on_today(reception, booked):
    with time_machine.travel(at(DAY, 10, 40), tick=False):
        html = factories.verified_http_client(reception).get(reverse("booking:agenda"))
    assert 'data-testid="now-line"' in html.content.decode()
    assert "now-o-10" in html.content.decode()


@pytestmark_frozen
def test_the_grid_is_in_french(as_reception, booked):
    html = as_reception.get(
        reverse("booking:agenda"), {"day": DAY}, headers={"accept-language": "fr"}
    ).content.decode()
    assert "Horaires par téléphone" in html
    assert "Imprimer" in html
    assert "Réservé" in html


@pytestmark_frozen
def test_strangers_get_nothing(as_client, as_other_client, booked):
    for http in (as_client, as_other_client):
        assert http.get(reverse("booking:agenda"), {"day": DAY}).status_code == 403
        assert http.get(reverse("booking:agenda"), {"day": DAY, "print": "1"}).status_code == 403


@pytestmark_frozen
def test_bad_parameters_fall_back_quietly(as_reception, booked):
    for params in (
        {"day": "not-a-day"},
        {"day": DAY, "practitioner": "x"},
        {"day": DAY, "view": "year"},
        {"day": DAY, "site": "nope"},
    ):
        response = as_reception.get(reverse("booking:agenda"), params)
        assert response.status_code == 200
        assert 'id="agenda-grid"' in response.content.decode()


# --- print ----------------------------------------------------------------------------------------


@pytestmark_frozen
def test_print_lists_the_day_per_vet(as_reception, booked, dubois, fontaine):
    html = as_reception.get(reverse("booking:agenda"), {"day": DAY, "print": "1"}).content.decode()
    assert 'data-testid="print-view"' in html
    assert 'id="agenda-grid"' not in html
    dubois_part = html[html.index("<h3>Dr Dubois</h3>") : html.index("<h3>Dr Fontaine</h3>")]
    assert "09:00\u201309:30" in dubois_part
    assert "Filou" in dubois_part
    assert "No appointment." in html[html.index("<h3>Dr Fontaine</h3>") :]
    assert "agenda.css" in html  # its @media print rules


# --- book from a free cell -----------------------------------------------------------------------


@pytestmark_frozen
def test_a_free_cell_books_there_through_finding_the_client(
    as_reception, client_user, filou, consultation, dubois, notify
):
    ten = stamp(at(DAY, 10))
    book = reverse("booking:staff_book")
    find = as_reception.get(book, {"start": ten, "practitioner": dubois.pk, "q": "Camille"})
    html = find.content.decode()
    assert "Time chosen on the agenda: Monday 1 June 2026, 10:00 with Dr Dubois." in html
    assert f'name="start" value="{ten}"' in html
    link = f"?client={client_user.client.pk}&amp;start={ten}&amp;practitioner={dubois.pk}"
    assert link in html
    pick = as_reception.get(
        book, {"client": client_user.client.pk, "start": ten, "practitioner": dubois.pk}
    ).content.decode()
    assert 'data-testid="preset-form"' in pick
    assert "Filou" in pick
    assert "Consultation" in pick
    confirm = as_reception.get(
        book,
        {
            "client": client_user.client.pk,
            "start": ten,
            "practitioner": dubois.pk,
            "patient": filou.pk,
            "service": consultation.slug,
        },
    )
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "10:00" in page
    assert "Book this appointment" in page
    response = as_reception.post(
        book,
        {
            "client": client_user.client.pk,
            "patient": filou.pk,
            "service": consultation.slug,
            "practitioner": dubois.pk,
            "start": ten,
            "request_key": "k1",
        },
    )
    assert response.status_code == 302
    made = Appointment.objects.get()
    assert (made.starts_at, made.practitioner) == (at(DAY, 10), dubois)


@pytestmark_frozen
def test_a_preset_time_taken_meanwhile_or_outside_the_hours_says_so(
    as_reception, client_user, filou, consultation, dubois, fontaine
):
    pistache = factories.make_patient(client_user, name="Pistache")
    make_appointment(
        client=client_user.client,
        patient=pistache,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 10),
    )
    base = {
        "client": client_user.client.pk,
        "practitioner": dubois.pk,
        "patient": filou.pk,
        "service": consultation.slug,
    }
    book = reverse("booking:staff_book")
    taken = as_reception.get(book, {**base, "start": stamp(at(DAY, 10))})
    assert taken.status_code == 409
    assert "This slot was just taken" in taken.content.decode()
    closed = as_reception.get(book, {**base, "start": stamp(at(DAY, 12, 30))}).content.decode()
    assert "Book this appointment" in closed
    assert 'role="alert"' in closed or "errorlist" in closed
    assert Appointment.objects.count() == 1
    # A stranger's preset is no way in: a client cannot reach the staff booking at all.


@pytestmark_frozen
def test_a_client_cannot_book_from_the_grid(as_client, dubois):
    response = as_client.get(
        reverse("booking:staff_book"), {"start": stamp(at(DAY, 10)), "practitioner": dubois.pk}
    )
    assert response.status_code == 403


@pytestmark_frozen
def test_a_tampered_preset_is_ignored(as_reception, client_user, dubois):
    for raw in ("abc", "99999999999999999999", ""):
        html = as_reception.get(
            reverse("booking:staff_book"), {"client": client_user.client.pk, "start": raw}
        ).content.decode()
        assert "Time chosen on the agenda" not in html


# --- move by choosing a cell ---------------------------------------------------------------------


@pytestmark_frozen
def test_move_mode_turns_free_cells_into_moves(as_reception, booked, dubois, fontaine, notify):
    url = reverse("booking:agenda")
    html = as_reception.get(url, {"day": DAY, "move": booked.pk}).content.decode()
    assert 'data-testid="move-banner"' in html
    assert "Moving Filou (Consultation): choose a free time." in html
    move = reverse("booking:staff_move", args=[booked.pk])
    target = f"{move}?start={stamp(at(DAY, 15))}&amp;practitioner={fontaine.pk}"
    assert target in html
    assert reverse("booking:staff_book") + "?start=" not in html
    # A quarter later on its own vet: its own time is free to move onto.
    later = f"{move}?start={stamp(at(DAY, 9, 15))}&amp;practitioner={dubois.pk}"
    assert later in html
    assert "block gr-" in html
    assert " is-moving" in html
    confirm = as_reception.get(move, {"start": stamp(at(DAY, 15)), "practitioner": fontaine.pk})
    assert confirm.status_code == 200
    as_reception.post(move, {"start": stamp(at(DAY, 15)), "practitioner": fontaine.pk})
    booked.refresh_from_db()
    assert (booked.starts_at, booked.practitioner) == (at(DAY, 15), fontaine)


@pytestmark_frozen
def test_move_mode_on_a_cancelled_appointment_says_so(as_reception, booked):
    booked.status = Appointment.Status.CANCELLED
    booked.save(update_fields=["status"])
    html = as_reception.get(
        reverse("booking:agenda"), {"day": DAY, "move": booked.pk}, follow=True
    ).content.decode()
    assert "This appointment can no longer be moved" in html
    assert 'data-testid="move-banner"' not in html


# --- a busy day -----------------------------------------------------------------------------------


def busy_day(site, client_user, count_vets=5, per_vet=24):
    vets = [
        make_practitioner(
            site, name=f"Dr {i}", hours=[(time(8), time(12), True), (time(13), time(20), False)]
        )
        for i in range(count_vets)
    ]
    service = make_service(site, vets, slug="busy", duration=15)
    animals = [factories.make_patient(client_user, name=f"Animal {i}") for i in range(per_vet)]
    for v, vet in enumerate(vets):
        for i in range(per_vet):
            minutes = 8 * 60 + i * 30
            make_appointment(
                client=client_user.client,
                patient=animals[(i + v) % per_vet],
                service=service,
                practitioner=vet,
                starts_at=at(DAY, minutes // 60, minutes % 60),
                confirmed_at=NOW if i % 3 == 0 else None,
            )
    return vets


@pytestmark_frozen
def test_a_busy_day_renders_in_eight_queries(
    as_reception, reception, site, client_user, django_assert_max_num_queries
):
    busy_day(site, client_user)
    url = reverse("booking:agenda")
    as_reception.get(url, {"day": DAY})  # the clinic, duties and rules rows reach the cache
    slot_reader.invalidate()  # a booking elsewhere: the hours are read again
    with django_assert_max_num_queries(8):
        response = as_reception.get(url, {"day": DAY})
    assert response.content.decode().count('class="appt status-') == 120
    with django_assert_max_num_queries(8):
        as_reception.get(url, {"day": DAY, "print": "1"})
    # On the day itself the waiting room is read too.
    with time_machine.travel(at(DAY, 10), tick=False):
        http = factories.verified_http_client(reception)
        http.get(url)
        slot_reader.invalidate()
        with django_assert_max_num_queries(8):
            today = http.get(url)
    assert 'data-testid="waiting-room"' in today.content.decode()
    assert 'data-testid="now-line"' in today.content.decode()
