"""Webhooks journey (#16): the manager adds an endpoint, copies its secret (shown once), an
appointment is booked, and the endpoint's page shows the delivery delivered to a receiver on
127.0.0.1 that checked its signature. In French and in English."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from booking import services as booking
from tests import factories
from tests.booking.factories import at, make_practitioner, make_service
from tests.browser.conftest import sign_in_staff, snap_widths
from tests.webhooks.conftest import receiver  # noqa: F401  (the stub receiver fixture)
from webhooks import services, signing
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _local_receiver(settings) -> None:
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True  # the stub listens on plain http://127.0.0.1


def _in_a_thread(work) -> None:
    """Playwright's event loop owns this thread; booking announces after commit through
    async_to_sync, which must run elsewhere (as tests/browser/conftest.py's demo seeding)."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def test_the_manager_adds_an_endpoint_and_sees_a_booking_delivered(
    any_page: Page,
    say,
    language,
    clock,
    manager,
    site,
    client_user,
    receiver,  # noqa: F811
):
    page = any_page
    dubois = make_practitioner(site, name="Dr Dubois")
    consultation = make_service(site, [dubois])
    filou = factories.make_patient(client_user, name="Filou")

    sign_in_staff(page, manager)
    page.get_by_role("link", name="Webhooks").click()  # the manager's shortcuts
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    page.get_by_role("button", name=say("Ajouter un destinataire", "Add an endpoint")).click()
    page.get_by_label(say("Nom", "Name")).fill("Assistant vocal")
    page.get_by_label(say("Adresse (URL)", "Address (URL)")).fill(receiver.url)
    page.get_by_label(say("Rendez-vous réservé", "Appointment booked")).check()
    page.get_by_label(say("Créneau libéré", "Slot released")).check()
    page.get_by_role(
        "button", name=say("Ajouter et afficher le secret", "Add and show the secret")
    ).click()

    secret_box = page.get_by_label(say("Secret de signature", "Signing secret"))
    secret = secret_box.input_value()
    assert secret.startswith("whsec_")
    snap_widths(page, f"webhooks-secret-{language}")
    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["appointment.booked", "slot.released"]

    # The phone assistant's caller is booked at the desk; a worker then sends the delivery.
    start = at(timezone.localdate() + timedelta(days=2), 9)
    _in_a_thread(
        lambda: booking.book(
            client=client_user.client,
            patient=filou,
            service=consultation,
            starts_at=start,
            booked_by=manager,
            online=False,
        )
    )
    delivery = Delivery.objects.get()
    _in_a_thread(lambda: services.deliver(delivery.pk))

    (got,) = receiver.received
    assert signing.verify(secret, got.headers, got.body, now=int(timezone.now().timestamp()))
    assert "Filou" not in got.body.decode()

    page.get_by_role("button", name=say("Voir ses livraisons", "See its deliveries")).click()
    row = page.locator("#deliveries tbody tr").first
    expect(row).to_contain_text(say("Rendez-vous réservé", "Appointment booked"))
    expect(row).to_contain_text(say("Livré", "Delivered"))
    expect(page.get_by_text(secret)).to_have_count(0)  # never shown again
    snap_widths(page, f"webhooks-deliveries-{language}")

    row.get_by_role("link").click()
    expect(page.get_by_text("HTTP 200")).to_be_visible()
