"""Privacy journeys: a client downloads their data once; a client asks to close their account
and a manager confirms it; anyone reads the privacy notice from the footer."""

import io
import json
import re
import zipfile

import pytest
from playwright.sync_api import Page, expect

from portal.models import User
from privacy import services
from privacy.models import DataExport, ErasureRequest
from tests import factories
from tests.browser.conftest import sign_in, sign_in_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _erasable_access_log(clearable_access_log):
    """The download writes an access-log line (see tests/conftest.py)."""


def test_a_client_prepares_and_downloads_their_data_once(any_page: Page, say, clinic, tmp_path):
    page = any_page
    owner = factories.make_client_user(first_name="Camille", last_name="Martin")
    factories.make_patient(owner, name="Filou")

    sign_in(page, owner.email)
    page.get_by_role("link", name=say("Vos données", "Your data")).first.click()
    expect(
        page.get_by_role("heading", name=say("Vos données", "Your data"), level=1)
    ).to_be_visible()
    page.get_by_role("button", name=say("Préparer mes données", "Prepare my data")).click()
    expect(page.get_by_text(say("en cours de préparation", "being prepared")).first).to_be_visible()

    # The worker's turn: the page, polling, says when the file is ready.
    services.build_export(DataExport.objects.get().pk)
    download_button = page.get_by_role(
        "button", name=say("Télécharger mes données", "Download my data")
    )
    expect(download_button).to_be_visible(timeout=10_000)

    with page.expect_download() as info:
        download_button.click()
    saved = tmp_path / "data.zip"
    info.value.save_as(saved)
    data = json.loads(zipfile.ZipFile(io.BytesIO(saved.read_bytes())).read("data.json"))
    assert data["profile"]["first_name"] == "Camille"
    assert [patient["name"] for patient in data["patients"]] == ["Filou"]

    page.reload()
    expect(
        page.get_by_text(re.compile("^" + say("Téléchargé le", "Downloaded on")))
    ).to_be_visible()
    assert DataExport.objects.get().status == DataExport.Status.DOWNLOADED


def test_a_client_asks_to_close_their_account_and_a_manager_confirms(any_page: Page, say, clinic):
    page = any_page
    owner = factories.make_client_user(first_name="Camille", last_name="Martin")
    manager = factories.make_staff("manager")

    sign_in(page, owner.email)
    page.goto("/privacy/erasure/")
    expect(
        page.get_by_role(
            "heading", name=say("Ce qui est conservé, et pourquoi", "What is kept, and why")
        )
    ).to_be_visible()
    page.get_by_label(say("Votre mot de passe", "Your password")).fill(factories.PASSWORD)
    page.get_by_label(
        say(
            "Je comprends que mon compte sera fermé", "I understand that my account will be closed"
        ),
    ).check()
    page.get_by_role(
        "button", name=say("Demander la fermeture de mon compte", "Ask to close my account")
    ).click()
    expect(
        page.get_by_text(say("Votre demande est envoyée", "Your request is sent"))
    ).to_be_visible()
    assert ErasureRequest.objects.filter(status="pending").count() == 1

    page.context.clear_cookies()
    sign_in_staff(page, manager)
    page.goto("/privacy/staff/requests/")
    page.get_by_label(
        say("Fermer le compte de Camille Martin", "Close the account of Camille Martin")
    ).check()
    page.get_by_role("button", name=say("Confirmer l'effacement", "Confirm the erasure")).click()
    expect(
        page.get_by_text(
            say("les données personnelles du client sont effacées", "personal data is erased")
        )
    ).to_be_visible()
    owner = User.objects.get(pk=owner.pk)
    assert not owner.is_active
    expect(page.get_by_text(say("Client supprimé #", "Deleted client #"))).to_be_visible()


def test_anyone_reads_the_privacy_notice_from_the_footer(any_page: Page, say, clinic):
    page = any_page
    page.goto("/accounts/login/")
    page.get_by_role("contentinfo").get_by_role(
        "link", name=say("Politique de confidentialité", "Privacy notice")
    ).click()
    expect(
        page.get_by_role(
            "heading", name=say("Politique de confidentialité", "Privacy notice"), level=1
        )
    ).to_be_visible()
    expect(page.get_by_text(say("Vos droits", "Your rights"))).to_be_visible()
