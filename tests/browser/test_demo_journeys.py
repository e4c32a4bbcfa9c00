"""A morning at the demo clinic (`manage.py seed_demo`), in French, from a client's phone to the
team's desks. Besides its checks, it draws the screenshots docs/screenshots/demo-*.png are
copied from (tests/browser/screenshots/demo-*)."""

import pytest
from playwright.sync_api import Page, expect

from portal.demo import DEMO_PASSWORD
from records.models import Patient
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    demo_staff,
    demo_user,
    sign_in_staff_with_form,
    sign_in_with_form,
    snap,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _erasable_access_log(clearable_access_log):
    """Reading records writes access-log lines (see tests/conftest.py)."""


def test_a_morning_at_the_demo_clinic(clock, demo_clinic, page_fr: Page):
    page = page_fr
    camille = demo_user("Camille", "Martin")
    animal = Patient.objects.of_client(camille.client).order_by("name").first()

    # Camille books on her phone: free days stand out, a day's free times follow.
    # The sign-in form, typed, once for a client and once for the team (other journeys have
    # the session handed to their browser).
    sign_in_with_form(page, camille.email, DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Bonjour Camille")).to_be_visible()
    page.goto(f"/booking/new/?patient={animal.pk}&service=consultation")
    free_days = page.locator("a.day.free")
    free_days.nth(1).click()
    expect(page.get_by_role("list", name="Horaires libres")).to_be_visible()
    snap(page, "demo-book-phone")

    # Her animal's page: care due, weight, history.
    page.set_viewport_size(DESKTOP)
    page.goto(f"/records/animals/{animal.pk}/")
    expect(page.get_by_role("heading", name=animal.name, level=1)).to_be_visible()
    snap(page, "demo-animal-desktop")
    page.get_by_role("button", name="Se déconnecter").click()

    # Dr Dubois's morning: her dashboard, the agenda, the inbox, the waitlist.
    sign_in_staff_with_form(page, demo_staff("dr.dubois"), DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Bonjour Claire")).to_be_visible()
    snap(page, "demo-staff-dashboard-desktop")
    page.goto("/booking/staff/agenda/")
    expect(page.locator("#agenda-grid .appt").first).to_be_visible()
    snap(page, "demo-agenda-desktop")
    page.goto("/messages/inbox/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # The urgent badge's word is readable: axe passes transparent text (it cannot measure it),
    # and Pico makes --pico-background-color transparent inside links.
    urgent = page.locator(".badge.urgent").first
    expect(urgent).to_be_visible()
    expect(urgent).not_to_have_css("color", "rgba(0, 0, 0, 0)")
    snap(page, "demo-inbox-desktop")
    page.goto("/waitlist/staff/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    snap(page, "demo-waitlist-desktop")
    page.set_viewport_size(PHONE)
