"""Duties journeys (#11): the manager grants reception medical work and reception then finds the
history form on an animal's record; a vet makes their own calendar feed, without then with the
animals' names."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from portal.models import Clinic
from records.models import HistoryEntry
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.browser.conftest import sign_in_staff, snap_widths

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _erasable_access_log(clearable_access_log):
    """These journeys write access-log lines (see tests/conftest.py)."""


def sign_out(page: Page) -> None:
    page.context.clear_cookies()


def test_the_manager_grants_reception_medical_work(page: Page, manager, reception, client_user):
    """In English: the duties page's French words join the root catalogue with the lead's merge."""
    filou = factories.make_patient(client_user, name="Filou")
    record = f"/records/staff/patients/{filou.pk}/"

    sign_in_staff(page, manager)
    page.get_by_role("link", name="Duties of each role").click()  # on the dashboard
    box = page.get_by_label("Reception: Medical records")
    expect(box).not_to_be_checked()
    expect(page.get_by_label("Manager: Settings")).to_be_disabled()
    box.check()
    snap_widths(page, "duties-grid-en")
    page.get_by_role("button", name="Save the duties").click()
    expect(page.get_by_text("The duties are saved.")).to_be_visible()
    expect(page.get_by_label("Reception: Medical records")).to_be_checked()
    sign_out(page)

    # Reception (one sign-in: a second within the same 30 s would reuse its code, refused).
    sign_in_staff(page, reception)
    page.goto(record)
    page.get_by_text("Consultation, surgery, lab or note").click()
    box = page.locator("#entry-box")
    box.get_by_label("Title").fill("Weighed at the desk")
    box.get_by_role("button", name="Add to the history").click()
    expect(page.locator("#timeline")).to_contain_text("Weighed at the desk")
    assert HistoryEntry.objects.get().practitioner == reception


@pytest.fixture
def dubois_booked(site, vet, client_user):
    """Dr Dubois (the vet's account) with Camille's Filou booked in three days."""
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    service = make_service(site, [dubois], slug="consultation", name="Consultation")
    filou = factories.make_patient(client_user, name="Filou")
    tz = Clinic.current().tz
    day = timezone.now().astimezone(tz).date() + timedelta(days=3)
    return make_appointment(
        client=client_user.client,
        patient=filou,
        service=service,
        practitioner=dubois,
        starts_at=datetime.combine(day, time(10), tzinfo=tz),
    )


def test_a_vet_makes_their_own_feed_with_and_without_names(
    any_page: Page, say, language, vet, dubois_booked
):
    page = any_page
    sign_in_staff(page, vet)
    page.goto("/booking/staff/agenda/")
    page.get_by_role("link", name=say("Flux d'agenda", "Calendar feeds")).click()
    expect(
        page.get_by_text(say("Vous n'avez pas encore de flux.", "You have no feed yet."))
    ).to_be_visible()

    page.get_by_role("button", name=say("Nouvelle adresse", "New address")).click()
    url = page.get_by_test_id("feed-url").inner_text()
    body = page.request.get(url).text()
    assert "SUMMARY:Consultation" in body
    assert "Filou" not in body
    expect(page.get_by_test_id("my-feeds")).to_contain_text(say("masqués", "hidden"))

    page.get_by_label(
        say("Inclure les noms des animaux", "Include animal names"), exact=False
    ).check()
    page.get_by_role("button", name=say("Nouvelle adresse", "New address")).click()
    named = page.get_by_test_id("feed-url").inner_text()
    assert named != url
    assert "Filou" in page.request.get(named).text()
    assert page.request.get(url).status == 404  # the first address stopped working
    expect(page.get_by_test_id("my-feeds")).to_contain_text(say("affichés", "shown"))
    snap_widths(page, f"feeds-vet-{language}")
