"""Orders journey (issue 14, "Done when"): a client renews a treatment from the renewal
reminder's link, a vet approves, reception prepares it and marks it ready; the client's page,
left open, turns to "ready" by itself, the SMS and the e-mail are in the outbox (the SMS names
neither the medicine nor the animal), and reception marks it collected. A stranger who opens the
request gets a 404. In French and in English; the client on a phone, staff on a desktop."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from notifications.models import Channel, Kind, Notification, Preference
from orders.models import Order, Status
from orders.services import clinic_today
from records import services as records
from tests import factories
from tests.browser.conftest import (
    off_the_loop,
    sign_in,
    sign_in_staff,
    snap,
    snap_widths,
)

pytestmark = pytest.mark.django_db(transaction=True)

RENEW_LINK = re.compile(r"https?://[^\s\"'<>]+?(/orders/renew/\d+/)")
DRUG = "Vetmedin 5 mg"
SITE = "Clinique des Tilleuls"
ADDRESS = "12 avenue des Tilleuls, 69006 Lyon"

# The words the journey reads and taps, in each language (the statuses are the order-status
# context's words; the buttons on the staff page carry the status they move to).
WORDS = {
    "fr": {
        "send": "Envoyer la demande",
        "received": "Reçue",
        "approved": "Validée par un vétérinaire",
        "preparing": "En préparation",
        "ready": "Prête à retirer",
        "collected": "Retirée",
        "not_found": "Page introuvable",
    },
    "en": {
        "send": "Send the request",
        "received": "Received",
        "approved": "Approved by a vet",
        "preparing": "Being prepared",
        "ready": "Ready for pick-up",
        "collected": "Collected",
        "not_found": "Page not found",
    },
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.slow
def test_a_client_renews_from_the_reminder_and_sees_it_ready_live(
    clock,
    any_page: Page,
    language,
    other_page,
    settings,
    live_url,
    site,
    vet,
    reception,
    client_user,
    other_client_user,
):
    words = WORDS[language]
    settings.ORDERS_LIVE_POLL_SECONDS = 1  # daphne runs in this process: the page polls each second
    settings.ACCUEIL_BASE_URL = live_url  # the reminder's link leads to this server
    site.name, site.address = SITE, ADDRESS
    site.save(update_fields=["name", "address"])
    camille = client_user.client
    camille.phone = "+33612345678"
    camille.preferred_language = language
    camille.save(update_fields=["phone", "preferred_language"])
    # Texts go only to a checked number (issue 12): the team checked Camille's at the desk.
    Preference.objects.update_or_create(
        client=camille, defaults={"phone_verified": True, "verified_phone": camille.phone}
    )
    filou = factories.make_patient(camille, name="Filou")
    today = clinic_today()

    # The vet prescribed a month of heart treatment that ends in ten days: records plans the
    # renewal reminder, whose e-mail links straight to the request, filled in.
    entry = off_the_loop(
        records.record_treatment,
        patient=filou,
        practitioner=vet,
        drug=DRUG,
        dose="1/2 tablet morning and evening",
        start=today - timedelta(days=20),
        end=today + timedelta(days=10),
        antiparasitic=False,
    )
    reminder = Notification.objects.get(
        client=camille, kind=Kind.CARE_REMINDER, channel=Channel.EMAIL
    )
    link = RENEW_LINK.search(reminder.body)
    assert link, reminder.body
    assert link.group(1) == f"/orders/renew/{entry.pk}/"

    # Camille taps the link on her phone and sends the request as it is.
    page = any_page
    sign_in(page, client_user.email)
    page.goto(link.group(1))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Filou")
    expect(page.locator("main")).to_contain_text(DRUG)
    snap_widths(page, f"orders-renew-{language}")
    page.get_by_role("button", name=words["send"], exact=True).click()
    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    order = Order.objects.get(client=camille)
    assert page.url.endswith(f"/orders/{order.pk}/")
    assert (order.kind, order.treatment_id, order.status) == ("renewal", entry.pk, Status.NEW)
    status = page.locator("#order-status .order-status")
    expect(status).to_have_text(words["received"])
    snap(page, f"orders-request-received-phone-{language}")

    # Reception sees the request first: approving it is a vet's step.
    desk = other_page()
    sign_in_staff(desk, reception)
    desk.goto("/orders/staff/")
    desk.get_by_role("link", name=f"#{order.pk} ").click()
    desk_status = desk.get_by_test_id("order-status")
    expect(desk_status).to_have_text(words["received"])
    expect(desk.get_by_role("button", name=words["approved"], exact=True)).to_be_disabled()

    # The vet approves from the queue (an htmx step that swaps the card).
    surgery = other_page()
    sign_in_staff(surgery, vet)
    surgery.goto("/orders/staff/")
    snap(surgery, f"orders-queue-desktop-{language}")
    surgery.get_by_role("link", name=f"#{order.pk} ").click()
    surgery.get_by_role("button", name=words["approved"], exact=True).click()
    expect(surgery.get_by_test_id("order-status")).to_have_text(words["approved"])
    snap(surgery, f"orders-staff-approved-desktop-{language}")
    # Camille's page, left open, follows without a reload.
    expect(status).to_have_text(words["approved"])

    # Reception prepares it, then marks it ready.
    desk.reload()
    desk.get_by_role("button", name=words["preparing"], exact=True).click()
    expect(desk_status).to_have_text(words["preparing"])
    expect(status).to_have_text(words["preparing"])
    desk.get_by_role("button", name=words["ready"], exact=True).click()
    expect(desk_status).to_have_text(words["ready"])
    snap(desk, f"orders-staff-ready-desktop-{language}")

    # "Ready" reaches Camille's open page by itself, with where and until when.
    live = page.locator("#order-status")
    expect(live).to_contain_text(words["ready"])
    expect(live).to_contain_text(SITE)
    expect(live).to_contain_text("18:00")
    snap_widths(page, f"orders-request-ready-{language}")

    # The outbox: one SMS and one e-mail; the SMS names neither the medicine nor the animal.
    order.refresh_from_db()
    assert order.status == Status.READY
    assert order.ready_until is not None
    ready = {
        notice.channel: notice
        for notice in Notification.objects.filter(client=camille, kind=Kind.ORDER_READY)
    }
    assert set(ready) == {Channel.SMS, Channel.EMAIL}, ready
    assert all(notice.status in ("scheduled", "sent") for notice in ready.values()), ready
    sms, email = ready[Channel.SMS], ready[Channel.EMAIL]
    assert sms.recipient == "+33612345678"
    assert SITE in sms.body
    for secret in ("Vetmedin", "Filou"):
        assert secret.casefold() not in sms.body.casefold(), sms.body
    assert email.recipient == client_user.email
    assert DRUG in email.body
    assert "Filou" in email.body
    assert f"/orders/{order.pk}/" in email.body

    # Camille comes by; reception marks it collected and her page stops asking for news.
    desk.get_by_role("button", name=words["collected"], exact=True).click()
    expect(desk_status).to_have_text(words["collected"])
    expect(status).to_have_text(words["collected"])
    expect(live).not_to_have_attribute("hx-get", re.compile(".*"))
    journal = list(order.steps.values_list("status", "by"))
    assert journal == [
        (Status.NEW, client_user.pk),
        (Status.APPROVED, vet.pk),
        (Status.PREPARING, reception.pk),
        (Status.READY, reception.pk),
        (Status.COLLECTED, reception.pk),
    ], journal

    # Another client who gets hold of the address sees nothing of it.
    stranger = other_page(viewport=None)
    sign_in(stranger, other_client_user.email)
    answer = stranger.goto(f"/orders/{order.pk}/")
    assert answer is not None
    assert answer.status == 404
    expect(stranger.get_by_role("heading", level=1)).to_have_text(words["not_found"])
    expect(stranger.locator("main")).not_to_contain_text("Filou")
