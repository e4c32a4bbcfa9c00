"""Keyboard journeys: what a person who does not use a mouse meets on every page (the language
switcher) and after htmx swaps (the agenda's Previous/Next). The booking journey books with the
keyboard too (test_booking_journeys.py)."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in_staff, snap_widths

pytestmark = pytest.mark.django_db(transaction=True)

FRENCH_DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


def test_the_language_switcher_sends_on_enter_not_on_an_arrow_key(page_fr: Page, clinic):
    page = page_fr
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    switcher = page.get_by_label("Langue")
    switcher.focus()
    page.keyboard.press("ArrowDown")
    # Browsing the options changes the choice on screen, not the page.
    expect(switcher).to_have_value("en")
    expect(switcher).to_be_focused()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()

    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_agendas_previous_and_next_keep_the_keyboard_in_place(
    clock, page_fr: Page, reception, clinic
):
    page = page_fr
    sign_in_staff(page, reception)
    page.goto("/booking/staff/agenda/")
    today = clock.date()
    first_day = page.locator("#agenda h2").first
    expect(first_day).to_contain_text(FRENCH_DAYS[today.weekday()], ignore_case=True)

    page.get_by_role("link", name="Suivant").focus()
    page.keyboard.press("Enter")
    tomorrow = today + timedelta(days=1)
    expect(first_day).to_contain_text(
        re.compile(rf"{FRENCH_DAYS[tomorrow.weekday()]} {tomorrow.day}", re.IGNORECASE)
    )
    # Focus stays on "Suivant" in the new content (pressing Enter again goes on), and the new
    # day is read out.
    expect(page.get_by_role("link", name="Suivant")).to_be_focused()
    expect(page.locator("#live-region")).to_contain_text(
        FRENCH_DAYS[tomorrow.weekday()], ignore_case=True
    )
    page.keyboard.press("Enter")
    after = tomorrow + timedelta(days=1)
    expect(first_day).to_contain_text(
        re.compile(rf"{FRENCH_DAYS[after.weekday()]} {after.day}", re.IGNORECASE)
    )
    expect(page.get_by_role("link", name="Suivant")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # "Aujourd'hui"
    expect(first_day).to_contain_text(FRENCH_DAYS[today.weekday()], ignore_case=True)
    expect(page.get_by_role("link", name=re.compile("Aujourd.hui"))).to_be_focused()
    snap_widths(page, "agenda-fr")
