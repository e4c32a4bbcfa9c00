"""The access log journey (#11), in French: a manager finds a stranger's refused tries in the log
by name, outcome and day, and downloads them as CSV."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from portal.models import AccessLog
from tests.browser.conftest import sign_in_staff, snap_widths

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _erasable_access_log(clearable_access_log):
    """These journeys write access-log lines (see tests/conftest.py)."""


def write(user, at: datetime, action: str, object_type: str, object_id: str) -> None:
    AccessLog(
        user=user, at=at, action=action, object_type=object_type, object_id=object_id,
        ip="192.0.2.9",
    ).save()  # fmt: skip


@pytest.fixture
def log_lines(vet, client_user, other_client_user):
    # 29 March 2026 in Paris: 23:30 UTC the day before is already the 29th there.
    write(vet, datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "view", "patient", "7")
    write(
        other_client_user, datetime(2026, 3, 29, 8, 15, tzinfo=UTC), "denied", "appointment", "41"
    )
    write(other_client_user, datetime(2026, 3, 29, 8, 16, tzinfo=UTC), "denied", "patient", "7")
    write(other_client_user, datetime(2026, 4, 2, 9, 0, tzinfo=UTC), "denied", "patient", "9")
    write(client_user, datetime(2026, 3, 29, 9, 0, tzinfo=UTC), "view", "patient", "7")


def test_a_manager_filters_the_log_and_downloads_the_csv(
    page_fr: Page, manager, other_client_user, log_lines
):
    page = page_fr
    sign_in_staff(page, manager)
    page.get_by_role("link", name="Journal des accès").click()  # on the dashboard
    expect(page.get_by_role("heading", name="Journal des accès")).to_be_visible()

    page.get_by_label("Qui (nom ou e-mail)").fill("Lambert")
    page.get_by_label("Résultat").select_option(label="a été refusé")
    page.get_by_label("Du").fill("2026-03-29")
    page.get_by_label("Au").fill("2026-03-29")
    page.get_by_role("button", name="Filtrer").click()

    expect(page.get_by_text("2 lignes")).to_be_visible()
    table = page.locator("#access-log-lines")
    expect(table).to_contain_text("Rendez-vous 41")
    expect(table).to_contain_text("Dossier patient 7")
    expect(table).not_to_contain_text("Dossier patient 9")  # another day
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("29/03/2026 10:15:00")  # Paris time
    snap_widths(page, "access-log-filtered-fr")

    with page.expect_download() as info:
        page.get_by_role("button", name="Exporter en CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("access-log-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][:6] == ["Quand", "Qui", "E-mail", "Rôle", "Résultat", "Quoi"]
    name = other_client_user.get_full_name()
    assert [(row[0], row[1], row[4], row[5], row[6]) for row in rows[1:]] == [
        ("2026-03-29 10:16:00", name, "a été refusé", "Dossier patient", "7"),
        ("2026-03-29 10:15:00", name, "a été refusé", "Rendez-vous", "41"),
    ]
    export = AccessLog.objects.get(object_type="access_log")
    assert export.user == manager
    assert "who=Lambert" in export.detail


def test_a_client_sees_who_at_the_clinic_opened_their_animals_file(page_fr: Page, client_user, vet):
    from tests import factories
    from tests.browser.conftest import sign_in

    filou = factories.make_patient(client_user, name="Filou")
    write(vet, datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "view", "patient", str(filou.pk))
    write(client_user, datetime(2026, 3, 29, 9, 0, tzinfo=UTC), "view", "patient", str(filou.pk))
    page = page_fr
    sign_in(page, client_user.email)
    page.goto(f"/records/animals/{filou.pk}/")
    page.get_by_role("link", name="Qui, à la clinique, a ouvert ce dossier").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("dossier de Filou")
    rows = page.locator("#access-history tbody tr")
    expect(rows).to_have_count(1)  # the vet's read; never Camille's own
    expect(rows.first).to_contain_text(vet.get_full_name())
    expect(rows.first).to_contain_text("Vétérinaire")
    snap_widths(page, "access-history-fr")
