"""Records journeys: an owner reads an animal's page and downloads a report; a vet records a
vaccination in a few taps and publishes a written report."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from portal.demo import DEMO_PASSWORD
from records import services
from records.models import EntryKind, Patient, Report
from tests import factories
from tests.browser.conftest import (
    SCREENSHOTS,
    SCREENSHOTS_TAKEN,
    current_code,
    demo_staff,
    snap,
    snap_widths,
)
from tests.records.factories import make_entry, make_report, make_weight, pdf_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _erasable_access_log(clearable_access_log):
    """These journeys write access-log lines (see tests/conftest.py)."""


def sign_in_to(page: Page, email: str, next_url: str, password: str = factories.PASSWORD) -> None:
    """Sign in straight to `next_url`: the dashboard's other panels are not this journey's."""
    page.goto(f"/accounts/login/?next={next_url}")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()


def named_vet():
    vet = factories.make_staff("vet")
    vet.first_name, vet.last_name = "Claire", "Dubois"
    vet.save(update_fields=["first_name", "last_name"])
    return vet


def test_an_owner_filters_the_timeline_sees_the_weights_and_downloads_a_report(
    any_page: Page, say, language, clinic, tmp_path
):
    page = any_page
    owner = factories.make_client_user(first_name="Camille", last_name="Martin")
    vet = named_vet()
    patient = factories.make_patient(owner, name="Filou")
    today = timezone.localdate()
    make_entry(patient, title="Annual visit", date=today - timedelta(days=30), practitioner=vet)
    make_entry(
        patient,
        kind=EntryKind.SURGERY,
        title="Neutering",
        summary="Went well; stitches out in 10 days.",
        date=today - timedelta(days=200),
    )
    services.record_vaccination(
        patient=patient,
        practitioner=vet,
        vaccine="rabies",
        batch="R1",
        on=today - timedelta(days=350),
        next_due=today + timedelta(days=15),
        title="Vaccination: Rabies",
    )
    for month, kg in enumerate(["28.4", "29.1", "29.8", "30.2", "29.9", "30.6"]):
        make_weight(patient, today - timedelta(days=30 * (6 - month)), kg)
    content = pdf_bytes(pages=2, text="Blood test")
    make_report(patient, vet, title="Blood test results", content=content)

    sign_in_to(page, owner.email, "/records/animals/")
    page.get_by_role("link", name="Filou").click()
    expect(page.get_by_role("heading", name="Filou", level=1)).to_be_visible()
    expect(page.get_by_role("img", name=say("Poids de Filou", "Weight of Filou"))).to_be_visible()
    expect(page.locator(".care-list").get_by_text(say("Rage", "Rabies"))).to_be_visible()
    book = page.locator(".care-list").get_by_role(
        "button", name=say("Prendre rendez-vous", "Book")
    )  # a link, styled
    expect(book).to_have_attribute(
        "href", f"/booking/new/?patient={patient.pk}&service=vaccination"
    )
    snap_widths(page, f"records-animal-{language}")

    timeline = page.locator("#timeline")
    surgery = say("Chirurgie", "Surgery")
    page.locator("#timeline").get_by_role("link", name=surgery).click()
    expect(page).to_have_url(re.compile(r"\?kind=surgery$"))
    expect(timeline.get_by_role("heading", name="Neutering")).to_be_visible()
    expect(timeline.get_by_role("heading", name="Annual visit")).to_have_count(0)
    expect(timeline.get_by_role("link", name=surgery)).to_have_attribute("aria-current", "true")
    snap(page, f"records-timeline-filtered-phone-{language}")

    with page.expect_download() as info:
        page.get_by_role("link", name="Blood test results").click()
    download = info.value
    assert download.suggested_filename == "2026-10-02 Blood test results.pdf"
    saved = tmp_path / "downloaded.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == content
    assert saved.read_bytes().startswith(b"%PDF-")


@pytest.mark.slow
@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_vet_records_a_vaccination_and_publishes_a_written_report(
    clock, demo_clinic, any_page: Page, say, language
):
    """Dr Claire Dubois of the demo clinic, on one of its dogs, in the clinic's two languages."""
    page = any_page
    vet = demo_staff("dr.dubois")
    patient = Patient.objects.filter(species="dog").order_by("pk").first()
    today = timezone.localdate()

    sign_in_to(page, vet.email, "/records/staff/", DEMO_PASSWORD)
    page.get_by_label("Code").fill(current_code(vet))
    page.get_by_role("button", name=say("Continuer", "Continue")).click()
    search = page.get_by_label(
        say(
            "Nom, e-mail, téléphone ou numéro d'identification",
            "Name, e-mail, phone or identification number",
        )
    )
    search.fill(patient.name[:3].lower())
    search.press("Enter")
    page.get_by_role("link", name=patient.name).first.click()
    expect(page.get_by_role("heading", name=patient.name, level=1)).to_be_visible()

    # A few taps: pick the vaccine; the next due date comes from the protocol, and the field
    # holds it.
    page.get_by_label(say("Vaccin", "Vaccine"), exact=True).select_option(
        label=say("Rage", "Rabies")
    )
    next_due = page.get_by_label(say("Prochaine échéance", "Next due"))
    expect(next_due).to_have_value((today + timedelta(days=365)).isoformat())
    page.get_by_label(say("Numéro de lot", "Batch number")).fill("RB-2211")
    snap_widths(page, f"records-vet-vaccination-{language}")
    page.get_by_role(
        "button", name=say("Enregistrer la vaccination", "Record the vaccination")
    ).click()
    expect(
        page.get_by_text(say("Vaccination enregistrée.", "Vaccination recorded."))
    ).to_be_visible()
    expect(
        page.locator("#timeline")
        .get_by_role("heading", name=say("Vaccination : Rage", "Vaccination: Rabies"))
        .first
    ).to_be_visible()

    title = say("Compte rendu de consultation", "Consultation report")
    page.get_by_text(say("Rédiger un compte rendu", "Write a report")).click()
    page.locator("#write-box").get_by_label(say("Titre", "Title")).fill(title)
    page.get_by_label(say("Compte rendu", "Report"), exact=True).fill(
        f"{patient.name} va bien.\n\nRappel dans un mois."
    )
    page.locator("#write-box").get_by_role(
        "button", name=say("Enregistrer comme brouillon", "Save as draft")
    ).click()
    expect(
        page.get_by_text(say("Compte rendu enregistré comme brouillon", "Report saved as a draft"))
    ).to_be_visible()
    page.get_by_role("button", name=f"{say('Publier', 'Publish')} {title}").click()
    expect(
        page.get_by_text(say("Publié : les propriétaires sont prévenus", "Published: the owners"))
    ).to_be_visible()
    snap_widths(page, f"records-vet-published-{language}")
    report = Report.objects.get(title=title)
    assert report.is_published
    assert report.source == "written"
    assert report.patient == patient

    # Look at the generated PDF too (rendered to PNG when a rasteriser is at hand).
    with page.expect_download() as info:
        page.get_by_role("link", name=title).click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    _look_at_the_report(page, pdf, report)


def _look_at_the_report(page: Page, pdf: bytes, report: Report) -> None:
    """A PNG of the report to look at: its first PDF page when a rasteriser is installed,
    else the very HTML WeasyPrint laid out, drawn by chromium at A4 width (`make screenshots`)."""
    if not SCREENSHOTS_TAKEN:
        return
    SCREENSHOTS.mkdir(exist_ok=True)
    try:
        import pypdfium2
    except ImportError:
        pypdfium2 = None
    target = SCREENSHOTS / "records-report-page1.png"
    if pypdfium2 is not None:
        pypdfium2.PdfDocument(pdf)[0].render(scale=1.2).to_pil().save(target)
        return
    from django.template.loader import render_to_string

    from portal.models import Clinic

    html = render_to_string(
        "records/pdf/report.html",
        {
            "clinic": Clinic.current(),
            "patient": report.patient,
            "practitioner": report.author,
            "title": report.title,
            "date": report.date,
            "paragraphs": [f"{report.patient.name} va bien.", "Rappel dans un mois."],
        },
    )
    # A page of its own: the report's <style> would break the portal's CSP on the app's page.
    look = page.context.new_page()
    look.set_viewport_size({"width": 794, "height": 1123})
    look.set_content(html)
    look.screenshot(path=target)
    look.close()
