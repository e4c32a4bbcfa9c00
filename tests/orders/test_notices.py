"""What the client is told: "ready" by text and e-mail, neutral, under quiet hours; one reminder
while it waits; news when refused or routed to a consultation; the renewal reminder's link."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from notifications import backends
from notifications.models import Kind, Notification
from notifications.models import Status as Sent
from orders import services
from orders.models import Status
from records.models import CareDue, CareKind
from tests.notifications.conftest import run_ready_tasks
from tests.orders.conftest import PARIS, give, renewal, walk

pytestmark = pytest.mark.django_db


def _rows(kind):
    return {row.channel: row for row in Notification.objects.filter(kind=kind)}


def _ready(camille, treatment, site, vet, reception, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
        return walk(order, Status.PREPARING, Status.READY, by=reception)


def test_ready_goes_by_text_and_e_mail_and_the_text_says_nothing_medical(
    camille,
    filou,
    treatment,
    site,
    hours,
    vet,
    reception,
    monday,
    django_capture_on_commit_callbacks,
):
    site.address = "12 avenue des Tilleuls\n69006 Lyon"
    site.save()
    camille.preferred_language = "en"
    camille.save(update_fields=["preferred_language"])
    order = _ready(camille, treatment, site, vet, reception, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        run_ready_tasks()
    rows = _rows(Kind.ORDER_READY)
    assert set(rows) == {"sms", "email"}
    sms = rows["sms"].body
    assert "ready at" in sms
    assert "12 avenue des Tilleuls, 69006 Lyon" in sms
    assert "Saturday 5 December at 12:00" in sms
    assert "Méloxicam" not in sms
    assert "Filou" not in sms
    email = rows["email"]
    assert "Filou" in email.body
    assert "Méloxicam" in email.body
    assert reverse("orders:detail", args=[order.pk]) in email.body
    assert [sent.body for sent in backends.outbox] == [sms]
    assert rows["sms"].status == Sent.SENT


def test_in_french_the_text_reads_in_french(
    camille, treatment, site, hours, vet, reception, monday, django_capture_on_commit_callbacks
):
    camille.preferred_language = "fr"
    camille.save(update_fields=["preferred_language"])
    _ready(camille, treatment, site, vet, reception, django_capture_on_commit_callbacks)
    sms = _rows(Kind.ORDER_READY)["sms"].body
    assert "votre commande est prête" in sms
    assert "samedi 5 décembre à 12:00" in sms


def test_ready_on_a_sunday_evening_texts_on_monday_morning_and_e_mails_at_once(
    camille, treatment, site, hours, vet, reception, django_capture_on_commit_callbacks
):
    sunday_night = datetime(2026, 11, 29, 22, 30, tzinfo=PARIS)
    with time_machine.travel(sunday_night, tick=False):
        _ready(camille, treatment, site, vet, reception, django_capture_on_commit_callbacks)
    rows = _rows(Kind.ORDER_READY)
    assert rows["email"].scheduled_at == sunday_night
    assert rows["sms"].scheduled_at == datetime(2026, 11, 30, 8, 30, tzinfo=PARIS)


def test_one_reminder_while_it_waits_and_none_once_collected(
    camille, treatment, site, hours, vet, reception, monday, django_capture_on_commit_callbacks
):
    order = _ready(camille, treatment, site, vet, reception, django_capture_on_commit_callbacks)
    waiting = _rows(Kind.ORDER_WAITING)
    assert set(waiting) == {"sms", "email"}
    assert {row.scheduled_at for row in waiting.values()} == {
        datetime(2026, 12, 3, 10, 0, tzinfo=PARIS)
    }
    with django_capture_on_commit_callbacks(execute=True):
        walk(order, Status.COLLECTED, by=reception)
    with (
        time_machine.travel(datetime(2026, 12, 3, 10, 1, tzinfo=PARIS), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run_ready_tasks()
    assert {row.status for row in Notification.objects.filter(kind=Kind.ORDER_WAITING)} == {
        Sent.CANCELLED
    }
    assert not any("still waiting" in sent.body for sent in backends.outbox)


def test_a_consultation_is_offered_with_the_booking_link(
    camille, filou, old_treatment, site, monday, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = renewal(camille, old_treatment, site)
    rows = _rows(Kind.ORDER_UPDATE)
    assert "needs a consultation" in rows["email"].subject
    assert f"/booking/new/?patient={filou.pk}&service=renewal" in rows["email"].body
    assert "Cortisone" not in rows["sms"].body
    assert "Filou" not in rows["sms"].body
    assert reverse("orders:detail", args=[order.pk]) in rows["sms"].body


def test_a_refusal_gives_the_reason_by_e_mail_only(
    camille, treatment, site, vet, monday, django_capture_on_commit_callbacks
):
    order = renewal(camille, treatment, site)
    with django_capture_on_commit_callbacks(execute=True):
        services.move(
            order=order, version=1, to=Status.REFUSED, by=vet, reason="Bilan rénal d'abord"
        )
    rows = _rows(Kind.ORDER_UPDATE)
    assert "Bilan rénal d'abord" in rows["email"].body
    assert "Bilan" not in rows["sms"].body


def test_approving_and_preparing_tell_nobody(
    camille, treatment, site, vet, reception, monday, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
        walk(order, Status.PREPARING, by=reception)
    assert not Notification.objects.filter(kind__startswith="order").exists()


def test_the_provider_down_at_ready_loses_nothing(
    camille,
    treatment,
    site,
    hours,
    vet,
    reception,
    monday,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """The step commits whatever the provider does; the text waits for a retry."""

    def down(self, sms):
        raise backends.TransientError("provider unreachable")

    monkeypatch.setattr(backends.LocmemBackend, "send", down)
    order = _ready(camille, treatment, site, vet, reception, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        run_ready_tasks()
    order.refresh_from_db()
    assert order.status == Status.READY
    sms = _rows(Kind.ORDER_READY)["sms"]
    assert (sms.status, sms.attempts) == (Sent.SCHEDULED, 1)
    assert sms.scheduled_at > monday  # a retry is planned
    assert _rows(Kind.ORDER_READY)["email"].status == Sent.SENT


def test_the_renewal_reminder_links_to_the_request_filled_in(
    camille, filou, vet, monday, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        treatment = give(filou, start=date(2026, 11, 1), end=date(2026, 12, 20), vet=vet)
    care = CareDue.objects.get(patient=filou, kind=CareKind.RENEWAL)
    assert care.due_date == date(2026, 12, 15)
    email = Notification.objects.get(kind=Kind.CARE_REMINDER, channel="email")
    link = reverse("orders:renew", args=[treatment.entry_id])
    assert "Ask for the renewal (one tap): http" in email.body
    assert link in email.body
    assert email.scheduled_at < datetime.combine(care.due_date, datetime.min.time(), PARIS)
    assert timedelta(0) < email.scheduled_at - monday
