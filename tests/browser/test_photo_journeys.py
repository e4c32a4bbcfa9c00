"""A patient's photo: reception adds one, it shows on the patient's pages, and its owner sees it;
what is stored is only ciphertext."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image
from playwright.sync_api import Page, expect

from records.models import Patient
from tests import factories
from tests.browser.conftest import sign_in_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _erasable_access_log(clearable_access_log):
    """These journeys write access-log lines (see tests/conftest.py)."""


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "orange").save(out, format="PNG")
    return out.getvalue()


def loaded(page: Page, selector: str) -> bool:
    """The image was fetched and decoded (a broken image has no natural width). Waits for the
    fetch to end first: an <img> can be visible while its bytes are still on their way."""
    page.wait_for_function(
        "selector => { const img = document.querySelector(selector); return img && img.complete; }",
        arg=selector,
    )
    return page.locator(selector).evaluate("img => img.naturalWidth > 0")


def test_reception_adds_a_photo_that_shows_on_the_patient_pages(any_page: Page, say, clinic):
    page = any_page
    reception = factories.make_staff("reception")
    owner = factories.make_client_user(first_name="Camille", last_name="Martin")
    patient = factories.make_patient(owner, name="Filou")
    content = png()

    sign_in_staff(page, reception)
    page.goto(f"/records/staff/patients/{patient.pk}/")
    page.get_by_role("button", name=say("Modifier les informations", "Edit details")).click()
    page.get_by_label("Photo").set_input_files(
        {"name": "filou.png", "mimeType": "image/png", "buffer": content}
    )
    page.get_by_role("button", name=say("Enregistrer", "Save")).click()

    saved = say(
        "Les informations du patient sont enregistrées.", "The patient's details are saved."
    )
    expect(page.get_by_text(saved)).to_be_visible()
    expect(page.locator("img.avatar.large")).to_be_visible()
    assert loaded(page, "img.avatar.large")
    stored = Patient.objects.get(pk=patient.pk).photo.name
    on_disk = Path(settings.MEDIA_ROOT, stored).read_bytes()
    assert content not in on_disk
    assert on_disk.startswith(b"ACCUEIL1")

    # The edit form shows the current photo through the access-checked view, with a way to
    # remove it.
    page.get_by_role("button", name=say("Modifier les informations", "Edit details")).click()
    expect(page.get_by_role("link", name=say("photo actuelle", "current photo"))).to_be_visible()
