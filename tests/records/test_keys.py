"""Master keys: rotation without re-encrypting files, and a clear error for a wrong key."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.urls import reverse

from portal.lib.crypto import generate_master_key_entry
from records.checks import master_keys_read_reports
from records.keys import wrapped_key_columns
from records.models import Report
from tests.records.factories import make_report

pytestmark = pytest.mark.django_db

OLD = "test1:" + "A" * 43 + "="


def run_rotate() -> str:
    out = io.StringIO()
    call_command("rotate_keys", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_rewraps_every_key_under_the_new_master_key_without_touching_files(
    vet, patient, settings, as_client
):
    reports = [make_report(patient, vet, title=f"R{index}") for index in range(3)]
    files_before = {r.pk: Path(settings.MEDIA_ROOT, r.file.name).read_bytes() for r in reports}
    settings.ACCUEIL_MASTER_KEYS = f"{generate_master_key_entry('k2')},{OLD}"
    # Mid-rotation, the old key still reads everything.
    assert (
        as_client.get(reverse("records:report_download", args=[reports[0].pk])).status_code == 200
    )

    first = run_rotate()
    assert "records.Report.wrapped_key: 3 re-wrapped, 0 already current, 0 failed." in first
    assert first.endswith("Master key k2: 3 re-wrapped, 0 already current, 0 failed.\n")
    again = run_rotate()
    assert again.endswith("Master key k2: 0 re-wrapped, 3 already current, 0 failed.\n")

    for report in Report.objects.all():
        assert report.wrapped_key.startswith("v1.k2.")
        assert Path(settings.MEDIA_ROOT, report.file.name).read_bytes() == files_before[report.pk]
    # Once rotated, the old key can go.
    settings.ACCUEIL_MASTER_KEYS = settings.ACCUEIL_MASTER_KEYS.split(",")[0]
    response = as_client.get(reverse("records:report_download", args=[reports[2].pk]))
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert master_keys_read_reports() == []


def test_it_fails_loudly_when_a_key_is_missing_and_changes_nothing_else(vet, patient, settings):
    make_report(patient, vet)
    settings.ACCUEIL_MASTER_KEYS = generate_master_key_entry("k9")
    with pytest.raises(CommandError, match="ACCUEIL_MASTER_KEYS"):
        call_command("rotate_keys", stdout=io.StringIO(), stderr=io.StringIO())
    assert Report.objects.get().wrapped_key.startswith("v1.test1.")


def test_it_passes_the_startup_check_with_no_report_or_the_right_key(vet, patient):
    assert master_keys_read_reports() == []
    make_report(patient, vet)
    assert master_keys_read_reports() == []


def test_it_names_the_setting_when_the_master_key_is_wrong_at_startup(vet, patient, settings):
    make_report(patient, vet)
    # Same key id, different key: a typo or the wrong secret file.
    settings.ACCUEIL_MASTER_KEYS = "test1:" + "B" * 43 + "="
    [error] = master_keys_read_reports()
    assert error.id == "records.E001"
    assert "ACCUEIL_MASTER_KEYS cannot read the stored data (records.Report" in error.msg
    assert "ACCUEIL_MASTER_KEYS" in error.hint
    settings.ACCUEIL_MASTER_KEYS = generate_master_key_entry("other")
    [error] = master_keys_read_reports()
    assert "'test1' is not in ACCUEIL_MASTER_KEYS" in error.msg


def test_it_runs_the_check_with_manage_py_check(vet, patient, settings):
    make_report(patient, vet)
    settings.ACCUEIL_MASTER_KEYS = "test1:" + "B" * 43 + "="
    with pytest.raises(SystemCheckError, match=r"records\.E001"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


def test_it_finds_every_wrapped_key_column_of_the_project():
    labels = [column.label for column in wrapped_key_columns()]
    assert "records.Report.wrapped_key" in labels
    # Other apps' encrypted data is found by the same rule (a `wrapped_key` column) or declared.
    assert all(label.count(".") == 2 for label in labels)
