"""The public API other apps call: what each function plans, and what ends up sent."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from notifications import services
from notifications.contracts import register_subject_checker
from notifications.models import Channel, Kind, Notification, Status
from tests.notifications.factories import make_notice, with_phone

# A Tuesday, 10:00 in Paris.
CLINIC = "Clinique des Tests"  # tests/factories.py: e-mail subjects start with its name
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
IN_THREE_DAYS = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)  # Friday 15:30 Paris


@pytest.fixture
def camille(client_user):
    return with_phone(client_user.client)


@time_machine.travel(NOW, tick=False)
def test_it_confirms_a_booking_at_once_with_the_ics_and_plans_two_reminders(
    camille, plan, run_tasks, mail_outbox, sms_outbox
):
    plan(services.appointment_booked, make_notice(camille, IN_THREE_DAYS))

    rows = {(row.kind, row.channel): row for row in Notification.objects.all()}
    assert set(rows) == {
        (Kind.APPOINTMENT_CONFIRMED, Channel.EMAIL),
        (Kind.APPOINTMENT_CONFIRMED, Channel.SMS),
        (Kind.APPOINTMENT_REMINDER, Channel.EMAIL),
        (Kind.APPOINTMENT_REMINDER, Channel.SMS),
    }
    # 48 h and 24 h before 15:30 Paris, on the wall clock.
    assert rows[(Kind.APPOINTMENT_REMINDER, Channel.EMAIL)].scheduled_at == datetime(
        2026, 11, 25, 14, 30, tzinfo=UTC
    )
    assert rows[(Kind.APPOINTMENT_REMINDER, Channel.SMS)].scheduled_at == datetime(
        2026, 11, 26, 14, 30, tzinfo=UTC
    )
    run_tasks()
    assert len(mail_outbox) == 1
    email = mail_outbox[0]
    assert "15:30" in email.subject
    assert email.attachments[0][0] == "appointment.ics"
    assert email.alternatives[0].mimetype == "text/html"
    assert len(sms_outbox) == 1
    assert sms_outbox[0].body.startswith("Tests: ")
    assert sms_outbox[0].to == "+33612345678"


@time_machine.travel(NOW, tick=False)
def test_it_sends_the_reminders_when_due_with_the_active_confirmation_links(
    camille, plan, run_tasks, mail_outbox, sms_outbox
):
    notice = make_notice(camille, IN_THREE_DAYS)
    plan(services.appointment_booked, notice)
    run_tasks()
    mail_outbox.clear()
    sms_outbox.clear()
    with time_machine.travel(datetime(2026, 11, 26, 14, 31, tzinfo=UTC), tick=False):
        run_tasks()
    assert notice.confirm_url in mail_outbox[0].body
    assert notice.cancel_url in mail_outbox[0].body
    assert notice.move_url in mail_outbox[0].body
    assert notice.confirm_url in sms_outbox[0].body
    assert "Filou" not in sms_outbox[0].body


@time_machine.travel(NOW, tick=False)
def test_it_sends_no_text_when_the_client_did_not_choose_texts(client_user, plan):
    client = with_phone(client_user.client)
    services.change_preferences(
        client=client, by=None, how="client_page", channels={"appointments": ["email"]}
    )
    plan(services.appointment_booked, make_notice(client, IN_THREE_DAYS))
    assert set(Notification.objects.values_list("channel", flat=True)) == {Channel.EMAIL}


@time_machine.travel(NOW, tick=False)
def test_it_does_not_plan_twice_when_called_twice(camille, plan):
    notice = make_notice(camille, IN_THREE_DAYS)
    plan(services.appointment_booked, notice)
    plan(services.appointment_booked, notice)
    assert Notification.objects.count() == 4


@time_machine.travel(NOW, tick=False)
def test_it_cancels_old_reminders_and_replans_when_moved(camille, plan, run_tasks, sms_outbox):
    booked = {"version": 1}
    register_subject_checker("appointment", lambda pk, version: version == booked["version"])
    notice = make_notice(camille, IN_THREE_DAYS)
    plan(services.appointment_booked, notice)
    later = make_notice(
        camille,
        IN_THREE_DAYS + timedelta(days=7),
        appointment_id=notice.appointment_id,
        version=2,
    )
    booked["version"] = 2
    plan(services.appointment_moved, later, previous_version=1)

    old = Notification.objects.filter(subject_version=1, kind=Kind.APPOINTMENT_REMINDER)
    assert set(old.values_list("status", flat=True)) == {Status.CANCELLED}
    new = Notification.objects.filter(subject_version=2, kind=Kind.APPOINTMENT_REMINDER)
    assert new.count() == 2
    assert Notification.objects.filter(kind=Kind.APPOINTMENT_MOVED).count() == 2
    run_tasks()
    # The v1 confirmation text was still due: its checker now says the version changed.
    confirmed = Notification.objects.get(kind=Kind.APPOINTMENT_CONFIRMED, channel=Channel.SMS)
    assert confirmed.status == Status.CANCELLED
    assert "moved" in sms_outbox[0].body


@time_machine.travel(NOW, tick=False)
def test_it_cancels_pending_reminders_and_tells_the_client_when_cancelled(
    camille, plan, run_tasks, mail_outbox
):
    booked = {"yes": True}
    # Booking's checker: a message about the appointment holds while it is booked.
    register_subject_checker("appointment", lambda pk, version: booked["yes"])
    notice = make_notice(camille, IN_THREE_DAYS)
    plan(services.appointment_booked, notice)
    run_tasks()
    booked["yes"] = False
    plan(services.appointment_cancelled, notice, by_clinic=True)
    reminders = Notification.objects.filter(kind=Kind.APPOINTMENT_REMINDER)
    assert set(reminders.values_list("status", flat=True)) == {Status.CANCELLED}
    run_tasks()
    cancelled = [m for m in mail_outbox if "cancelled" in m.subject]
    assert cancelled
    assert "had to cancel" in cancelled[0].body


@time_machine.travel(NOW, tick=False)
def test_it_drops_a_reminder_whose_appointment_changed_at_dispatch(camille, plan, run_tasks):
    register_subject_checker("appointment", lambda pk, version: False)
    plan(services.appointment_booked, make_notice(camille, IN_THREE_DAYS))
    run_tasks()
    with time_machine.travel(IN_THREE_DAYS - timedelta(hours=3), tick=False):
        run_tasks()
    for row in Notification.objects.all():
        assert row.status == Status.CANCELLED
        assert "No longer relevant" in row.reason


@time_machine.travel(NOW, tick=False)
def test_it_announces_a_document_without_its_content(
    camille, other_client_user, plan, run_tasks, mail_outbox
):
    other = with_phone(other_client_user.client)
    plan(
        services.document_available,
        client_ids=[camille.pk, other.pk],
        document_id=77,
    )
    with time_machine.travel(NOW + services.MERGE_WINDOW, tick=False):
        run_tasks()
    assert len(mail_outbox) == 2
    assert all(
        m.subject == f"{CLINIC} — A new document is available in your space" for m in mail_outbox
    )


@time_machine.travel(NOW, tick=False)
def test_it_plans_a_care_reminder_14_days_before_and_replaces_it_by_key(camille, plan):
    camille = with_phone(camille, sms_for=("care",))
    arguments = {
        "client_ids": [camille.pk],
        "key": "vaccination:patient:7:rabies",
        "kind": "vaccination",
        "patient_name": "Filou",
        "booking_url": "http://testserver/booking/",
    }
    plan(services.care_reminder, due_date=date(2027, 1, 20), **arguments)
    first = Notification.objects.filter(kind=Kind.CARE_REMINDER)
    assert first.count() == 2
    assert first.first().scheduled_at == datetime(2027, 1, 6, 9, 0, tzinfo=UTC)  # 10:00 Paris
    plan(services.care_reminder, due_date=date(2027, 1, 20), **arguments)
    assert Notification.objects.count() == 2  # the same reminder again: nothing new
    plan(services.care_reminder, due_date=date(2027, 2, 3), **arguments)
    statuses = sorted(Notification.objects.values_list("status", flat=True))
    assert statuses == ["cancelled", "cancelled", "scheduled", "scheduled"]
    sms = Notification.objects.get(channel=Channel.SMS, status=Status.SCHEDULED)
    assert "Filou" not in sms.body
    assert "vaccin" not in sms.body.lower()


@time_machine.travel(NOW, tick=False)
def test_it_plans_renewals_two_days_before_their_due_date(camille, plan):
    # records puts a renewal's due date 5 days before the treatment ends: 7 days in all.
    plan(
        services.care_reminder,
        client_ids=[camille.pk],
        key="renewal:treatment:3",
        kind="renewal",
        patient_name="Filou",
        due_date=date(2026, 12, 20),
        booking_url="http://testserver/booking/",
    )
    row = Notification.objects.get()
    assert row.scheduled_at == datetime(2026, 12, 18, 9, 0, tzinfo=UTC)


def test_it_refuses_an_unknown_care_kind(camille):
    with pytest.raises(ValueError, match="care kind"):
        services.care_reminder(
            client_ids=[camille.pk],
            key="k",
            kind="grooming",
            patient_name="Filou",
            due_date=date(2027, 1, 1),
            booking_url="http://testserver/",
        )


@time_machine.travel(NOW, tick=False)
def test_it_cancels_a_care_reminder_by_key(camille, plan):
    plan(
        services.care_reminder,
        client_ids=[camille.pk],
        key="antiparasitic:patient:7",
        kind="antiparasitic",
        patient_name="Filou",
        due_date=date(2027, 1, 20),
        booking_url="http://testserver/booking/",
    )
    services.cancel_care_reminder(key="antiparasitic:patient:7")
    assert Notification.objects.get().status == Status.CANCELLED


@time_machine.travel(NOW, tick=False)
def test_it_tells_about_an_unread_message_only_if_still_unread(
    camille, plan, run_tasks, mail_outbox
):
    read = {"10": False, "11": True}
    register_subject_checker("message", lambda pk, version: not read[str(pk)])
    plan(
        services.new_message_unread,
        client_id=camille.pk,
        message_id=10,
        delay=timedelta(minutes=10),
    )
    plan(
        services.new_message_unread,
        client_id=camille.pk,
        message_id=11,
        delay=timedelta(minutes=10),
    )
    run_tasks()
    assert mail_outbox == []  # not yet: 10 minutes
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
        run_tasks()
    assert [m.subject for m in mail_outbox] == [
        f"{CLINIC} — You have a new message from the clinic"
    ]
    assert Notification.objects.get(subject_id=11).status == Status.CANCELLED


@time_machine.travel(datetime(2026, 11, 24, 20, 0, tzinfo=UTC), tick=False)  # 21:00 Paris
def test_it_sends_a_waitlist_offer_by_email_at_once_and_holds_the_text_until_morning(
    camille, plan, run_tasks, mail_outbox, sms_outbox
):
    register_subject_checker("waitlist_offer", lambda pk, wave: True)
    plan(
        services.waitlist_offer,
        client_id=camille.pk,
        offer_id=5,
        slot_starts_at=datetime(2026, 11, 25, 13, 30, tzinfo=UTC),  # 14:30 Paris
        practitioner_name="Dr X",
        claim_url="http://testserver/waitlist/claim/abc/",
        expires_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        wave=1,
    )
    run_tasks()
    assert "A slot just opened tomorrow at 14:30" in mail_outbox[0].subject
    assert "with Dr X" in mail_outbox[0].body
    assert sms_outbox == []
    sms = Notification.objects.get(channel=Channel.SMS)
    assert sms.scheduled_at == datetime(2026, 11, 25, 7, 30, tzinfo=UTC)  # 08:30 Paris
    # Seen the next morning, the slot is "today".
    assert "opened today at 14:30 with Dr X" in sms.body


@time_machine.travel(datetime(2026, 11, 24, 20, 0, tzinfo=UTC), tick=False)
def test_it_suppresses_a_text_offer_that_would_arrive_after_it_ends(camille, plan):
    plan(
        services.waitlist_offer,
        client_id=camille.pk,
        offer_id=6,
        slot_starts_at=datetime(2026, 11, 25, 13, 30, tzinfo=UTC),
        practitioner_name="",
        claim_url="http://testserver/waitlist/claim/abc/",
        expires_at=datetime(2026, 11, 24, 21, 0, tzinfo=UTC),
        wave=2,
    )
    sms = Notification.objects.get(channel=Channel.SMS)
    assert sms.status == Status.SUPPRESSED
    assert "Quiet hours" in sms.reason
