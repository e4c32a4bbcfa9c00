"""What a person reading a message checks: who it is from, the clinic's name, logo and phone,
and links that open the portal where it really runs (ACCUEIL_BASE_URL, not a default port)."""

import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.urls import reverse

from notifications import services
from notifications.contracts import register_subject_checker
from notifications.models import Campaign
from tests.notifications.factories import make_notice, with_phone

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 Paris
BASE = "http://127.0.0.1:8101"  # what `make run PORT=8101` serves
# A one-pixel transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
URL = re.compile(r"""https?://[^\s"'<>]+""")
HTML_LINK = re.compile(r"""(?:href|src)="([^"]+)\"""")


@pytest.fixture(autouse=True)
def _tuesday_morning():
    """Frozen before any other fixture, so accounts and sessions are made on the same day the
    test runs (a session made at ACCUEIL_TEST_NOW would have expired by then)."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _portal_on_another_port(settings):
    settings.ACCUEIL_BASE_URL = BASE
    settings.DEFAULT_FROM_EMAIL = "Accueil <accueil@localhost>"


@pytest.fixture
def camille(client_user):
    return with_phone(client_user.client, sms_for=("documents", "care", "messages"))


def every_kind_of_message(camille, client_user, plan, run_tasks) -> None:
    """One of each: booking (with booking's own absolute links), a clinic cancellation, a
    document, an unread message, a care reminder and an offer handed over as paths, a campaign."""
    register_subject_checker("waitlist_offer", lambda pk, wave: True)
    register_subject_checker("message", lambda pk, version: True)
    links = {
        name: f"{BASE}/booking/r/{name}-token/"
        for name in ("confirm_url", "cancel_url", "move_url")
    }
    plan(services.appointment_booked, make_notice(camille, NOW + timedelta(days=3), **links))
    other = make_notice(camille, NOW + timedelta(days=4), **links)
    plan(services.appointment_cancelled, other, by_clinic=True)
    plan(services.document_available, client_ids=[camille.pk], document_id=1)
    plan(services.new_message_unread, client_id=camille.pk, message_id=2, delay=timedelta(0))
    plan(
        services.care_reminder,
        client_ids=[camille.pk],
        key="vaccination:patient:7",
        kind="vaccination",
        patient_name="Filou",
        due_date=date(2026, 12, 1),
        booking_url="/booking/?patient=7",
    )
    plan(
        services.waitlist_offer,
        client_id=camille.pk,
        offer_id=3,
        slot_starts_at=NOW + timedelta(days=1),
        practitioner_name="",
        claim_url="/waitlist/claim/abc/",
        expires_at=NOW + timedelta(hours=5),
        wave=1,
    )
    services.change_preferences(
        client=camille, by=client_user, how="client_page", marketing_opt_in=True
    )
    campaign = Campaign.objects.create(title="Spring", subject="Vaccines", body="Spring is here.")
    plan(services.send_campaign, campaign=campaign, by=client_user)
    with time_machine.travel(NOW + services.MERGE_WINDOW, tick=False):
        run_tasks()


def test_it_builds_every_link_of_every_message_on_the_base_url(
    camille, client_user, plan, run_tasks, mail_outbox, sms_outbox, settings
):
    settings.NOTIFICATIONS_WEEKLY_CAP = 50  # the campaign too
    every_kind_of_message(camille, client_user, plan, run_tasks)
    assert len(mail_outbox) == 7
    assert len(sms_outbox) == 6  # the cancellation is urgent; the others are due by day
    links = []
    for message in mail_outbox:
        links += URL.findall(message.body)
        html = message.alternatives[0].content
        links += [link for link in HTML_LINK.findall(html) if not link.startswith(("cid:", "tel:"))]
    for sms in sms_outbox:
        links += URL.findall(sms.body)
    assert len(links) > 20
    outside = [link for link in links if not link.startswith(BASE + "/")]
    assert outside == []
    texts = " ".join([m.body for m in mail_outbox] + [s.body for s in sms_outbox])
    assert f"{BASE}/waitlist/claim/abc/" in texts
    assert f"{BASE}/booking/?patient=7" in texts
    assert f"{BASE}/notifications/unsubscribe/" in texts


def test_it_sends_from_the_clinic_by_name_with_its_phone_and_no_logo_when_it_has_none(
    camille, plan, run_tasks, mail_outbox
):
    plan(services.document_available, client_ids=[camille.pk], document_id=1)
    with time_machine.travel(NOW + services.MERGE_WINDOW, tick=False):
        run_tasks()
    mail = mail_outbox[0].message()
    assert parseaddr(mail["From"]) == ("Clinique des Tests", "accueil@localhost")
    assert mail["Subject"].startswith("Clinique des Tests — ")
    text = mail_outbox[0].body
    assert "Clinique des Tests" in text
    assert "04 78 00 00 00" in text  # the clinic's phone, as one dials it
    html = mail_outbox[0].alternatives[0].content
    assert "<h1>Clinique des Tests</h1>" in html
    assert 'href="tel:+33478000000"' in html
    assert "<img" not in html


def test_it_uses_the_clinics_own_address_and_quotes_its_name(
    camille, clinic, plan, run_tasks, mail_outbox
):
    clinic.name = "Clinique Dubois, Martin & Associés"
    clinic.email = "contact@clinique-dubois.fr"
    clinic.save()
    plan(services.document_available, client_ids=[camille.pk], document_id=1)
    with time_machine.travel(NOW + services.MERGE_WINDOW, tick=False):
        run_tasks()
    mail = mail_outbox[0].message()
    assert parseaddr(str(mail["From"])) == (
        "Clinique Dubois, Martin & Associés",
        "contact@clinique-dubois.fr",
    )
    assert len(mail_outbox[0].to) == 1


def test_it_shows_the_clinics_logo_inline_never_from_another_host(
    camille, clinic, plan, run_tasks, mail_outbox, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    clinic.logo.save("logo.png", ContentFile(PNG))
    plan(services.document_available, client_ids=[camille.pk], document_id=1)
    with time_machine.travel(NOW + services.MERGE_WINDOW, tick=False):
        run_tasks()
    mail = mail_outbox[0].message()
    html = mail_outbox[0].alternatives[0].content
    sources = re.findall(r'src="([^"]+)"', html)
    assert sources == ["cid:clinic-logo"]
    images = [part for part in mail.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    assert images[0]["Content-ID"] == "<clinic-logo>"
    assert images[0].get_payload(decode=True) == PNG
    assert 'alt="Logo of Clinique des Tests"' in html


def test_it_links_the_unsubscribe_page_on_the_base_url(camille):
    url = services.unsubscribe_url(camille)
    assert url.startswith(f"{BASE}/notifications/unsubscribe/")
    assert url.removeprefix(BASE) == reverse(
        "notifications:unsubscribe", args=[url.rstrip("/").rsplit("/", 1)[-1]]
    )
