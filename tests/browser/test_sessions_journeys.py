"""Sessions, in French and in English: signing out the other devices from the security page, and
coming back after a long absence to a sign-in page that says why, then to the page one was on."""

from datetime import timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import close_page, open_page

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in_to(page: Page, email: str, next_url: str) -> None:
    page.goto(f"/accounts/login/?next={next_url}")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(factories.PASSWORD)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    page.wait_for_url(f"**{next_url}")


def test_a_client_signs_out_a_lost_phone_then_comes_back_after_a_week(
    any_page: Page, say, language, clinic, browser, daphne_server, live_url
):
    camille = factories.make_client_user(first_name="Camille", last_name="Martin")
    laptop = any_page
    phone, phone_errors = open_page(browser, live_url, language)
    try:
        _sign_in_to(phone, camille.email, "/booking/")
        _sign_in_to(laptop, camille.email, "/account/2fa/")

        # The security page lists both devices, this one marked.
        expect(
            laptop.get_by_role(
                "heading", name=say("Où votre compte est connecté", "Where you are signed in")
            )
        ).to_be_visible()
        expect(laptop.locator("ul.sign-ins > li")).to_have_count(2)
        expect(laptop.get_by_text(say("(cet appareil)", "(this device)"))).to_have_count(1)

        laptop.get_by_role(
            "button",
            name=say(
                "Se déconnecter sur tous les autres appareils", "Sign out on every other device"
            ),
        ).click()
        expect(
            laptop.get_by_text(say("1 autre appareil déconnecté.", "Signed out on 1 other device."))
        ).to_be_visible()
        expect(laptop.locator("ul.sign-ins > li")).to_have_count(1)

        # The phone's next page is the sign-in page.
        phone.reload()
        expect(phone).to_have_url(f"{live_url}/accounts/login/?next=/booking/")
    finally:
        close_page(phone, phone_errors, daphne_server[1])

    # A week without a visit: the laptop's session has expired.
    laptop.goto("/booking/")
    keys = UserSession.objects.filter(user=camille).values("session_key")
    Session.objects.filter(session_key__in=keys).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    laptop.reload()
    expect(
        laptop.get_by_text(
            say(
                "Session fermée après 7\u00a0jours sans activité.",
                "You were signed out after 7 days without activity.",
            )
        )
    ).to_be_visible()
    laptop.locator("input[name=login]").fill(camille.email)
    laptop.locator("input[name=password]").fill(factories.PASSWORD)
    laptop.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    expect(laptop).to_have_url(f"{live_url}/booking/")
