"""The weekly cap drops news and campaigns only; service messages that fall together are merged.

PRODUCT.md: "cap prevention and marketing... but never drop a service message the client needs
(a document, an offer they asked for, a reminder): merge instead." Care reminders (vaccinations,
antiparasitics, check-ups, renewals) are clinically needed: service messages, never capped.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from notifications import services
from notifications.contracts import register_subject_checker
from notifications.models import Campaign, Channel, Kind, Notification, Status
from tests.notifications.factories import make_notice, with_phone

CLINIC = "Clinique des Tests"  # tests/factories.py: e-mail subjects start with its name
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 Paris
LATER = NOW + services.MERGE_WINDOW


@pytest.fixture(autouse=True)
def _tuesday_morning():
    """Frozen before any other fixture, so accounts and sessions are made on the same day the
    test runs (a session made at ACCUEIL_TEST_NOW would have expired by then)."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def camille(client_user, settings):
    settings.NOTIFICATIONS_WEEKLY_CAP = 2
    return with_phone(client_user.client)


def a_week_of_service_messages(camille, plan, run_tasks) -> None:
    """Two documents on separate days fill the cap; then an offer, a care reminder, a booking."""
    register_subject_checker("waitlist_offer", lambda pk, wave: True)
    for day, document_id in ((0, 1), (1, 2), (2, 3)):
        with time_machine.travel(NOW + timedelta(days=day), tick=False):
            plan(services.document_available, client_ids=[camille.pk], document_id=document_id)
        with time_machine.travel(LATER + timedelta(days=day), tick=False):
            run_tasks()
    with time_machine.travel(NOW + timedelta(days=2, hours=1), tick=False):
        plan(
            services.waitlist_offer,
            client_id=camille.pk,
            offer_id=4,
            slot_starts_at=NOW + timedelta(days=3),
            practitioner_name="Dr X",
            claim_url="http://testserver/waitlist/claim/abc/",
            expires_at=NOW + timedelta(days=2, hours=5),
            wave=1,
        )
        plan(
            services.care_reminder,
            client_ids=[camille.pk],
            key="vaccination:patient:7:rabies",
            kind="vaccination",
            patient_name="Filou",
            due_date=date(2026, 12, 1),
            booking_url="http://testserver/booking/",
        )
        plan(services.appointment_booked, make_notice(camille, NOW + timedelta(days=9)))
        run_tasks()


def test_it_never_drops_a_document_an_offer_or_a_care_reminder_over_the_weekly_cap(
    camille, plan, run_tasks, mail_outbox
):
    a_week_of_service_messages(camille, plan, run_tasks)
    rows = Notification.objects.filter(channel=Channel.EMAIL).exclude(
        kind=Kind.APPOINTMENT_REMINDER  # planned for later
    )
    assert {(row.kind, row.status) for row in rows} == {
        (Kind.DOCUMENT_AVAILABLE, Status.SENT),
        (Kind.WAITLIST_OFFER, Status.SENT),
        (Kind.CARE_REMINDER, Status.SENT),
        (Kind.APPOINTMENT_CONFIRMED, Status.SENT),
    }
    subjects = [message.subject for message in mail_outbox]
    assert subjects.count(f"{CLINIC} — A new document is available in your space") == 3
    assert any("A slot just opened" in subject for subject in subjects)
    assert any("vaccination due" in subject for subject in subjects)


def test_it_sends_appointment_reminders_to_a_client_over_the_weekly_cap(
    camille, plan, run_tasks, sms_outbox
):
    a_week_of_service_messages(camille, plan, run_tasks)
    with time_machine.travel(NOW + timedelta(days=8, minutes=1), tick=False):  # 24 h before
        run_tasks()
    reminder = Notification.objects.get(kind=Kind.APPOINTMENT_REMINDER, channel=Channel.SMS)
    assert reminder.status == Status.SENT
    assert "reminder" in sms_outbox[-1].body


def test_it_drops_a_campaign_over_the_weekly_cap_and_says_not_sent(
    camille, client_user, plan, run_tasks, as_manager, as_reception, mail_outbox
):
    services.change_preferences(
        client=camille, by=client_user, how="client_page", marketing_opt_in=True
    )
    for hour, document_id in ((0, 1), (1, 2)):  # an hour apart: two messages, the cap is full
        with time_machine.travel(NOW + timedelta(hours=hour), tick=False):
            plan(services.document_available, client_ids=[camille.pk], document_id=document_id)
        with time_machine.travel(LATER + timedelta(hours=hour), tick=False):
            run_tasks()
    campaign = Campaign.objects.create(title="Spring", subject="Vaccines", body="Spring is here.")
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        plan(services.send_campaign, campaign=campaign, by=client_user)
        run_tasks()
    row = Notification.objects.get(kind=Kind.CAMPAIGN)
    assert row.status == Status.SUPPRESSED
    assert row.reason == "Weekly limit of messages reached (news and campaigns)."
    assert not [m for m in mail_outbox if "Vaccines" in m.subject]
    # Staff read it as "not sent", with the reason; never as "held" (which means "later").
    page = as_reception.get(reverse("notifications:detail", args=[row.pk])).content.decode()
    assert "Not sent" in page
    assert "Weekly limit of messages reached" in page
    assert "Suppressed" not in page
    # A week later the count starts again.
    again = Campaign.objects.create(title="Winter", subject="Coats", body="Winter is here.")
    with time_machine.travel(NOW + timedelta(days=8), tick=False):
        plan(services.send_campaign, campaign=again, by=client_user)
        run_tasks()
    assert Notification.objects.get(kind=Kind.CAMPAIGN, subject_id=again.pk).status == Status.SENT


def test_it_shows_not_sent_in_french(camille, client_user):
    from django.utils import translation
    from django.utils.translation import gettext

    row = Notification.objects.create(
        client=camille,
        channel=Channel.EMAIL,
        kind=Kind.CAMPAIGN,
        body="x",
        scheduled_at=NOW,
        status=Status.SUPPRESSED,
        idempotency_key="fr:1",
    )
    with translation.override("fr"):
        assert row.get_status_display() == "Non envoyé"
        assert gettext("Weekly limit of messages reached (news and campaigns).") == (
            "Limite hebdomadaire de messages atteinte (actualités et campagnes)."
        )


# --- Merging -------------------------------------------------------------------------------------


def test_it_merges_documents_published_within_minutes_into_one_message(
    camille, plan, run_tasks, mail_outbox, sms_outbox
):
    camille = with_phone(camille, sms_for=("documents",))
    for minute, document_id in ((0, 1), (1, 2), (3, 3)):
        with time_machine.travel(NOW + timedelta(minutes=minute), tick=False):
            plan(services.document_available, client_ids=[camille.pk], document_id=document_id)
            run_tasks()
    assert mail_outbox == []  # gathering
    with time_machine.travel(LATER, tick=False):
        run_tasks()
    with time_machine.travel(LATER + timedelta(minutes=5), tick=False):
        run_tasks()
    assert [m.subject for m in mail_outbox] == [
        f"{CLINIC} — 3 new documents are available in your space"
    ]
    assert len(sms_outbox) == 1
    assert sms_outbox[0].body.startswith("Tests: 3 documents are waiting in your space: http")
    statuses = sorted(Notification.objects.values_list("status", flat=True))
    assert statuses == ["merged", "merged", "merged", "merged", "sent", "sent"]
    carrier = Notification.objects.get(channel=Channel.EMAIL, status=Status.SENT)
    for row in Notification.objects.filter(channel=Channel.EMAIL, status=Status.MERGED):
        assert row.reason == f"Sent together with message #{carrier.pk}."


def test_it_merges_unread_message_notices_but_not_one_read_meanwhile(
    camille, plan, run_tasks, mail_outbox
):
    read = {21: False, 22: True, 23: False}
    register_subject_checker("message", lambda pk, version: not read[pk])
    for message_id in read:
        plan(
            services.new_message_unread,
            client_id=camille.pk,
            message_id=message_id,
            delay=timedelta(minutes=10),
        )
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
        run_tasks()
    assert [m.subject for m in mail_outbox] == [
        f"{CLINIC} — You have 2 new messages from the clinic"
    ]
    assert Notification.objects.get(subject_id=22).status == Status.CANCELLED


def test_it_sends_a_single_document_notice_in_the_singular(camille, plan, run_tasks, mail_outbox):
    plan(services.document_available, client_ids=[camille.pk], document_id=1)
    with time_machine.travel(LATER, tick=False):
        run_tasks()
    assert [m.subject for m in mail_outbox] == [
        f"{CLINIC} — A new document is available in your space"
    ]


def test_it_merges_in_french(client_user, plan, run_tasks, mail_outbox):
    camille = with_phone(client_user.client, language="fr")
    for document_id in (1, 2):
        plan(services.document_available, client_ids=[camille.pk], document_id=document_id)
    with time_machine.travel(LATER, tick=False):
        run_tasks()
    assert [m.subject for m in mail_outbox] == [
        f"{CLINIC} — 2 nouveaux documents sont disponibles dans votre espace"
    ]
