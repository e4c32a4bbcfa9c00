"""Words people read: the consent journal, failure reasons and history, dates, in both languages."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from notifications import services
from notifications.contracts import register_subject_checker
from notifications.models import Channel, Kind, Notification, NotificationEvent, Status
from tests.notifications.factories import make_notice, with_phone

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 Paris
DECEMBER_FIRST = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 1 December, 10:00 Paris


@pytest.fixture(autouse=True)
def _tuesday_morning():
    """Frozen before any other fixture, so accounts and sessions are made on the same day the
    test runs (a session made at ACCUEIL_TEST_NOW would have expired by then)."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def journal(client_user):
    services.change_preferences(
        client=client_user.client,
        by=client_user,
        how="client_page",
        marketing_opt_in=True,
        channels={"documents": ["email", "sms"]},
    )
    return client_user


def test_it_shows_the_consent_journal_in_french_with_french_typography(as_client, journal):
    as_client.cookies["django_language"] = "fr"
    page = as_client.get(
        reverse("notifications:preferences"), headers={"accept-language": "fr"}
    ).content.decode()
    assert "Actualités et campagnes : non → <strong>oui</strong>" in page
    assert "Canaux pour Nouveaux documents : E-mail → <strong>E-mail, SMS</strong>" in page
    assert "no → yes" not in page


def test_it_keeps_the_consent_journal_readable_in_english(as_client, journal, as_reception):
    page = as_client.get(reverse("notifications:preferences")).content.decode()
    assert "News and campaigns: no → <strong>yes</strong>" in page
    assert "Channels for New documents: E-mail → <strong>E-mail, Text message</strong>" in page
    history = reverse("notifications:client_history", args=[journal.client.pk])
    assert (
        "News and campaigns: no → <strong>yes</strong>"
        in as_reception.get(history).content.decode()
    )


def test_it_writes_failure_reasons_and_history_in_french(client_user, settings):
    camille = with_phone(client_user.client)
    settings.NOTIFICATIONS_SMS_BACKEND = "http"
    settings.NOTIFICATIONS_SMS_HTTP_URL = "http://127.0.0.1:9/sms"  # nothing listens there
    row = Notification.objects.create(
        client=camille,
        recipient="+33612345678",
        channel=Channel.SMS,
        kind=Kind.DOCUMENT_AVAILABLE,
        body="Tests: a document is waiting in your space.",
        scheduled_at=timezone.now(),
        idempotency_key="words:1",
    )
    with translation.override("fr"):  # the worker's language: the site's
        services.dispatch(row.pk)
    row.refresh_from_db()
    assert row.reason.startswith("fournisseur injoignable : ")
    assert NotificationEvent.objects.get(notification=row).detail == row.reason


def test_it_shows_a_resend_in_the_history_in_french(client_user, reception):
    row = Notification.objects.create(
        client=client_user.client,
        recipient="c@example.com",
        channel=Channel.EMAIL,
        kind=Kind.DOCUMENT_AVAILABLE,
        body="x",
        scheduled_at=timezone.now(),
        status=Status.FAILED,
        idempotency_key="words:2",
    )
    with translation.override("fr"):
        copy = services.resend(notification=row, by=reception)
    detail = NotificationEvent.objects.filter(notification=copy).get().detail
    assert detail == f"Renvoyé par {reception} (copie du n° {row.pk})."


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "mardi 1er décembre à 10:00"),
        ("en", "Tuesday 1 December at 10:00"),
    ],
)
def test_it_writes_the_first_of_the_month_as_the_language_does(
    client_user, plan, language, expected
):
    camille = with_phone(client_user.client, language=language)
    plan(services.appointment_booked, make_notice(camille, DECEMBER_FIRST))
    for row in Notification.objects.filter(kind=Kind.APPOINTMENT_CONFIRMED):
        assert expected in row.body


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "l'offre se termine le mardi 1er décembre à 10:00."),
        ("en", "the offer ends on Tuesday 1 December at 10:00."),
    ],
)
def test_it_states_when_an_offer_ends_as_the_language_does(client_user, plan, language, expected):
    register_subject_checker("waitlist_offer", lambda pk, wave: True)
    camille = with_phone(client_user.client, language=language)
    plan(
        services.waitlist_offer,
        client_id=camille.pk,
        offer_id=1,
        slot_starts_at=DECEMBER_FIRST + timedelta(hours=4),
        practitioner_name="",
        claim_url="http://testserver/waitlist/claim/abc/",
        expires_at=DECEMBER_FIRST,
        wave=1,
    )
    assert expected in Notification.objects.get(channel=Channel.EMAIL).body


def test_it_writes_a_care_due_date_in_french(client_user, plan):
    camille = with_phone(client_user.client, language="fr")
    plan(
        services.care_reminder,
        client_ids=[camille.pk],
        key="vaccination:patient:7",
        kind="vaccination",
        patient_name="Filou",
        due_date=date(2027, 1, 1),
        booking_url="http://testserver/booking/",
    )
    row = Notification.objects.get()
    assert "à prévoir le vendredi 1er janvier" in row.body
    assert "Vendredi" not in row.body


def test_it_puts_a_space_before_colons_on_the_staff_client_page_in_french(
    as_reception, client_user
):
    url = reverse("notifications:client_history", args=[client_user.client.pk])
    french = as_reception.get(url, headers={"accept-language": "fr"}).content.decode()
    assert "Actualités et campagnes : non" in french
    assert "Mobile : " in french
    english = as_reception.get(url).content.decode()
    assert "News and campaigns: no" in english
