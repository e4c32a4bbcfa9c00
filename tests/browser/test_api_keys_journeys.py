"""API keys journey (#16): the manager creates a key for the phone assistant, copies its token
(shown once), sees only its prefix afterwards, and revokes it; the token then stops working."""

import pytest
from django.test import Client as HttpClient
from playwright.sync_api import Page, expect

from api.models import ApiKey, hash_token
from tests.browser.conftest import sign_in_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _erasable_access_log(clearable_access_log):
    """API calls and refusals write access-log lines (see tests/conftest.py)."""


def _calls(token: str) -> int:
    return HttpClient().get("/api/v1/clinic", headers={"Authorization": f"Bearer {token}"})


def test_the_manager_creates_a_key_sees_it_once_and_revokes_it(any_page: Page, say, manager):
    page = any_page
    sign_in_staff(page, manager)
    page.get_by_role("link", name=say("Clés d\u2019API", "API keys")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(say("Clés d\u2019API", "API keys"))

    page.get_by_label(say("Nom de l\u2019intégration", "Name of the integration")).fill(
        "Standard vocal"
    )
    page.get_by_label(say("Lire les prestations", "Read services and free slots")).check()
    page.get_by_label(say("Réserver, déplacer", "Book, move, cancel")).check()
    page.get_by_label(say("Règles de réservation", "Booking rules")).select_option("phone")
    page.get_by_label(say("Appels par minute", "Calls per minute")).fill("30")
    page.get_by_role("button", name=say("Créer la clé", "Create the key")).click()

    expect(page.get_by_text(say("Copiez-la maintenant", "Copy it now"))).to_be_visible()
    token = page.get_by_label(say("Jeton", "Token")).input_value()
    key = ApiKey.objects.get()
    assert key.secret_hash == hash_token(token)
    assert key.scopes == ["book", "slots:read"]
    assert _calls(token).status_code == 200

    # Back on the page: the token is gone, its prefix stays to recognise the key.
    page.goto("/staff/api-keys/")
    expect(page.get_by_label(say("Jeton", "Token"))).to_have_count(0)
    row = page.get_by_role("row").filter(has_text="Standard vocal")
    expect(row).to_contain_text(key.prefix)
    expect(row).to_contain_text(say("active", "active"))  # the key, feminine in French

    row.get_by_role("button", name=say("Révoquer", "Revoke")).click()
    expect(
        page.get_by_text(say("La clé « Standard vocal » est révoquée.", "is revoked"))
    ).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Standard vocal")
    expect(row).to_contain_text(say("révoquée", "revoked"))
    expect(row.get_by_role("button")).to_have_count(0)
    assert _calls(token).status_code == 401

    # The integrator's description, linked from the page: server-rendered under the site's CSP.
    page.goto("/staff/api-keys/")
    page.get_by_role("link", name=say("Documentation de l\u2019API", "API documentation")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        say("Documentation de l\u2019API", "API documentation")
    )
    expect(page.locator("#slot-taken")).to_be_visible()
