"""The journeys' quick sign-in (tests/browser/conftest.py `sign_in`, `sign_in_staff`) gives the
browser what the form would: a sign-in listed with the browser's device, past the second factor
for the team, and the form's own answer when the password is wrong."""

import re

import pytest
from allauth.usersessions.models import UserSession
from playwright.sync_api import Page, expect

from portal.sessions import describe_device
from tests.browser.conftest import sign_in, sign_in_staff

pytestmark = pytest.mark.django_db(transaction=True)


def _visited(page: Page) -> list[str]:
    urls: list[str] = []
    page.on("framenavigated", lambda frame: urls.append(frame.url))
    return urls


def test_a_client_lands_on_the_dashboard_signed_in_from_this_browser(page: Page, client_user):
    visited = _visited(page)
    sign_in(page, client_user.email)

    expect(page.get_by_role("heading", name="Hello Camille")).to_be_visible()
    assert not any("/accounts/login/" in url for url in visited), visited
    # The account's list of sign-ins names this browser, under the cookie it holds.
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    listed = UserSession.objects.get(user=client_user)
    assert listed.session_key == cookie["value"]
    assert describe_device(listed.user_agent) == "Chrome, Linux"


def test_a_vet_is_past_the_code_page(page: Page, vet):
    visited = _visited(page)
    sign_in_staff(page, vet)

    expect(page.get_by_role("heading", name=re.compile("Hello Vet"))).to_be_visible()
    page.goto("/staff/clients/")
    expect(page.get_by_role("heading", name="Enter your code")).to_have_count(0)
    assert page.url.endswith("/staff/clients/")
    assert not any("/account/2fa/" in url or "/accounts/login/" in url for url in visited)


def test_a_vet_signed_in_without_the_code_is_asked_for_it(page: Page, vet):
    sign_in(page, vet.email)

    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()


def test_a_wrong_password_shows_the_forms_refusal(page: Page, client_user):
    sign_in(page, client_user.email, "not-the-password")

    expect(page.get_by_text(re.compile("not correct", re.IGNORECASE))).to_be_visible()
    assert page.url.endswith("/accounts/login/")
    assert not UserSession.objects.filter(user=client_user).exists()
