"""When messages go, and the times they state: DST changes, quiet hours, the weekly cap."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from notifications import schedule, services
from notifications.models import Channel, Kind, Notification, Status
from tests.notifications.factories import make_notice, with_phone


@pytest.fixture
def camille(client_user):
    return with_phone(client_user.client)


def reminders() -> dict[str, Notification]:
    rows = Notification.objects.filter(kind=Kind.APPOINTMENT_REMINDER)
    return {row.channel: row for row in rows}


# --- Daylight saving (Europe/Paris: 2026-03-29 02:00 → 03:00, 2026-10-25 03:00 → 02:00) -----------


@time_machine.travel(datetime(2026, 3, 20, 9, 0, tzinfo=UTC), tick=False)
def test_it_keeps_the_wall_clock_across_the_spring_change(camille, plan):
    # Sunday 29 March 10:00 summer time = 08:00 UTC; the day before at 10:00 is winter time.
    starts = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    plan(services.appointment_booked, make_notice(camille, starts))
    sms, email = reminders()[Channel.SMS], reminders()[Channel.EMAIL]
    assert sms.scheduled_at == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)  # Sat 10:00 CET, 23 h
    assert email.scheduled_at == datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # Fri 10:00 CET
    assert "Sunday 29 March at 10:00" in sms.body
    assert "Sunday 29 March at 10:00" in email.subject


@time_machine.travel(datetime(2026, 10, 15, 9, 0, tzinfo=UTC), tick=False)
def test_it_keeps_the_wall_clock_across_the_autumn_change(camille, plan):
    # Monday 26 October 10:00 winter time = 09:00 UTC; the Saturday before is summer time.
    starts = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    plan(services.appointment_booked, make_notice(camille, starts))
    email = reminders()[Channel.EMAIL]
    assert email.scheduled_at == datetime(2026, 10, 24, 8, 0, tzinfo=UTC)  # Sat 10:00 CEST, 49 h
    assert "Monday 26 October at 10:00" in email.subject
    # The 24 h text falls on Sunday 25th (quiet): Monday 08:30 is too close to 10:00, so it goes
    # on Saturday evening, just before quiet hours, still in summer time.
    sms = reminders()[Channel.SMS]
    assert sms.scheduled_at == datetime(2026, 10, 24, 17, 59, tzinfo=UTC)  # Sat 19:59 CEST
    assert "Monday 26 October at 10:00" in sms.body


@time_machine.travel(datetime(2026, 10, 15, 9, 0, tzinfo=UTC), tick=False)
def test_it_states_the_local_time_of_an_appointment_on_the_change_day(camille, plan):
    # Sunday 25 October 15:00 winter time = 14:00 UTC (it was 13:00 UTC the day before).
    starts = datetime(2026, 10, 25, 14, 0, tzinfo=UTC)
    plan(services.appointment_booked, make_notice(camille, starts))
    email = reminders()[Channel.EMAIL]
    assert email.scheduled_at == datetime(2026, 10, 23, 13, 0, tzinfo=UTC)  # Fri 15:00 CEST
    assert "Sunday 25 October at 15:00" in email.body


def test_it_reads_a_time_skipped_by_the_spring_change_one_hour_later():
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    local = datetime(2026, 3, 29, 2, 30)  # does not exist in Paris
    assert schedule.aware(local, paris) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


@time_machine.travel(datetime(2026, 3, 20, 9, 0, tzinfo=UTC), tick=False)
def test_it_writes_the_time_in_french_across_the_change(client_user, plan):
    client = with_phone(client_user.client, language="fr")
    plan(services.appointment_booked, make_notice(client, datetime(2026, 3, 29, 8, 0, tzinfo=UTC)))
    sms = reminders()[Channel.SMS]
    assert "dimanche 29 mars" in sms.body.lower()
    assert "10:00" in sms.body


# --- Quiet hours ---------------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 11, 24, 20, 0, tzinfo=UTC), tick=False)  # Tue 21:00 Paris
def test_it_holds_an_evening_text_until_0830_and_sends_the_email_at_once(
    camille, plan, run_tasks, sms_outbox, mail_outbox
):
    plan(services.appointment_booked, make_notice(camille, datetime(2026, 12, 4, 9, 0, tzinfo=UTC)))
    confirmation = Notification.objects.get(kind=Kind.APPOINTMENT_CONFIRMED, channel=Channel.SMS)
    assert confirmation.scheduled_at == datetime(2026, 11, 25, 7, 30, tzinfo=UTC)  # Wed 08:30
    run_tasks()
    assert len(mail_outbox) == 1
    assert sms_outbox == []
    with time_machine.travel(datetime(2026, 11, 25, 7, 30, tzinfo=UTC), tick=False):
        run_tasks()
    assert len(sms_outbox) == 1


@time_machine.travel(datetime(2026, 11, 28, 19, 30, tzinfo=UTC), tick=False)  # Sat 20:30 Paris
def test_it_holds_a_saturday_evening_text_over_sunday(camille, plan):
    camille = with_phone(camille, sms_for=("documents",))
    plan(services.document_available, client_ids=[camille.pk], document_id=2)
    sms = Notification.objects.get(channel=Channel.SMS)
    assert sms.scheduled_at == datetime(2026, 11, 30, 7, 30, tzinfo=UTC)  # Monday 08:30
    assert sms.status == Status.SCHEDULED  # deferred, not dropped


@time_machine.travel(datetime(2026, 11, 24, 18, 50, tzinfo=UTC), tick=False)  # 19:50 Paris
def test_it_defers_at_dispatch_a_text_whose_worker_ran_late_into_quiet_hours(
    camille, plan, run_tasks, sms_outbox
):
    camille = with_phone(camille, sms_for=("documents",))
    plan(services.document_available, client_ids=[camille.pk], document_id=3)
    with time_machine.travel(datetime(2026, 11, 24, 19, 5, tzinfo=UTC), tick=False):  # 20:05
        run_tasks()
    sms = Notification.objects.get(channel=Channel.SMS)
    assert sms.status == Status.SCHEDULED
    assert sms.scheduled_at == datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
    assert sms_outbox == []
    with time_machine.travel(datetime(2026, 11, 25, 7, 31, tzinfo=UTC), tick=False):
        run_tasks()
    assert len(sms_outbox) == 1


@time_machine.travel(datetime(2026, 11, 24, 21, 0, tzinfo=UTC), tick=False)  # 22:00 Paris
def test_it_sends_a_clinic_cancellation_at_once_even_at_night(camille, plan, run_tasks, sms_outbox):
    notice = make_notice(camille, datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    plan(services.appointment_cancelled, notice, by_clinic=True)
    run_tasks()
    assert len(sms_outbox) == 1
    assert "had to cancel" in sms_outbox[0].body


SUNDAY_NIGHT = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)  # Sunday 23:30 Paris
MONDAY_0830 = datetime(2026, 11, 30, 7, 30, tzinfo=UTC)


@time_machine.travel(SUNDAY_NIGHT, tick=False)
def test_it_holds_a_text_planned_on_sunday_night_until_monday_0830_and_mails_at_once(
    camille, plan, run_tasks, sms_outbox, mail_outbox
):
    camille = with_phone(camille, sms_for=("documents",))
    plan(services.document_available, client_ids=[camille.pk], document_id=8)
    sms = Notification.objects.get(channel=Channel.SMS)
    assert (sms.status, sms.scheduled_at) == (Status.SCHEDULED, MONDAY_0830)
    with time_machine.travel(SUNDAY_NIGHT + timedelta(minutes=10), tick=False):
        run_tasks()
    assert len(mail_outbox) == 1
    assert sms_outbox == []
    with time_machine.travel(MONDAY_0830 + timedelta(minutes=1), tick=False):
        run_tasks()
    assert len(sms_outbox) == 1


@time_machine.travel(datetime(2026, 11, 29, 13, 0, tzinfo=UTC), tick=False)  # Sunday 14:00
def test_it_holds_a_text_all_sunday_not_only_at_night(camille, plan):
    camille = with_phone(camille, sms_for=("documents",))
    plan(services.document_available, client_ids=[camille.pk], document_id=9)
    assert Notification.objects.get(channel=Channel.SMS).scheduled_at == MONDAY_0830


def test_it_defers_at_dispatch_a_text_that_falls_due_on_sunday_night(camille, sms_outbox):
    """A row planned for a weekday, whose worker only gets to it on Sunday night."""
    row = Notification.objects.create(
        client=camille,
        recipient="+33612345678",
        channel=Channel.SMS,
        kind=Kind.DOCUMENT_AVAILABLE,
        body="Tests: a document is waiting in your space.",
        scheduled_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),  # Friday 10:00
        idempotency_key="late:sunday",
    )
    with time_machine.travel(SUNDAY_NIGHT, tick=False):
        assert services.dispatch(row.pk) == "rescheduled"
    row.refresh_from_db()
    assert (row.status, row.scheduled_at) == (Status.SCHEDULED, MONDAY_0830)
    assert row.reason == "Quiet hours: held until then."
    assert sms_outbox == []
    with time_machine.travel(MONDAY_0830, tick=False):
        assert services.dispatch(row.pk) == "sent"
    assert len(sms_outbox) == 1


@time_machine.travel(SUNDAY_NIGHT, tick=False)
def test_it_sends_a_clinic_cancellation_at_once_on_sunday_night(
    camille, plan, run_tasks, sms_outbox
):
    notice = make_notice(camille, datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # Monday 09:00
    plan(services.appointment_cancelled, notice, by_clinic=True)
    run_tasks()
    assert len(sms_outbox) == 1
    assert "had to cancel" in sms_outbox[0].body


@time_machine.travel(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), tick=False)  # 03:30 CEST, Sunday
def test_it_holds_a_text_planned_in_the_spring_change_night_until_monday_in_summer_time(
    camille, plan
):
    camille = with_phone(camille, sms_for=("documents",))
    plan(services.document_available, client_ids=[camille.pk], document_id=10)
    sms = Notification.objects.get(channel=Channel.SMS)
    assert sms.scheduled_at == datetime(2026, 3, 30, 6, 30, tzinfo=UTC)  # Monday 08:30 CEST


# --- Consent and lead times ----------------------------------------------------------------------


# The weekly cap and merging: test_weekly_cap.py.


@time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False)
def test_it_suppresses_reminders_for_a_client_who_opted_out_but_still_confirms(
    camille, plan, run_tasks
):
    services.change_preferences(client=camille, by=None, how="client_page", service_opt_out=True)
    plan(services.appointment_booked, make_notice(camille, datetime(2026, 12, 4, 9, 0, tzinfo=UTC)))
    rows = {(r.kind, r.channel): r.status for r in Notification.objects.all()}
    assert rows[(Kind.APPOINTMENT_CONFIRMED, Channel.EMAIL)] == Status.SCHEDULED
    assert rows[(Kind.APPOINTMENT_REMINDER, Channel.EMAIL)] == Status.SUPPRESSED


def test_it_plans_care_reminders_at_once_when_the_lead_has_passed(camille, plan):
    with time_machine.travel(datetime(2026, 11, 24, 15, 0, tzinfo=UTC), tick=False):
        plan(
            services.care_reminder,
            client_ids=[camille.pk],
            key="k",
            kind="checkup",
            patient_name="Filou",
            due_date=date(2026, 11, 30),
            booking_url="http://x/",
        )
        row = Notification.objects.get()
        assert row.scheduled_at == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
        plan(
            services.care_reminder,
            client_ids=[camille.pk],
            key="old",
            kind="checkup",
            patient_name="Filou",
            due_date=date(2026, 11, 1),
            booking_url="http://x/",
        )
        late = Notification.objects.get(group_key="care:old")
        assert late.status == Status.SUPPRESSED
        assert "already passed" in late.reason


def test_it_skips_a_reminder_whose_time_has_passed(camille, plan):
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False):
        starts = datetime(2026, 11, 25, 8, 0, tzinfo=UTC) + timedelta(hours=3)  # in 26 h
        plan(services.appointment_booked, make_notice(camille, starts))
    assert set(reminders()) == {Channel.SMS}
